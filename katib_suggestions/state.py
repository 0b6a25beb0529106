"""Per-experiment state on the suggestion volume, written atomically after every change.

Layout under ``--state-dir`` (Katib mounts the suggestion PVC at ``/opt/katib/data`` when the
Experiment has ``resumePolicy: FromVolume``)::

    <state-dir>/<experiment>/supernas-<algorithm>.state  service state (this module)
    <state-dir>/<experiment>/_shared/supernet.pt          shared supernet weights (weights.py)
    <state-dir>/<experiment>/<trial>/                      a running trial's directory

The state is plain data written with ``supernas.persist`` (pickle read back by an unpickler that
refuses every class; temporary file, ``fsync``, rename: never torn). One document per file::

    {"format": FORMAT,
     "identity": {"algorithm": ..., "settings": {...}, "objective": [type, metric],
                  "nasConfig": sha256 of the nasConfig},   # what the state was built for
     "state": {...},                                        # the algorithm's state_dict()
     "reply": {"key": request key, "suggestions": [...]} or None}   # the last reply (retries)

``read`` raises ``StateError`` for anything else (random bytes, a truncated or empty file, a
pickle of another shape, a directory where the file should be); the service then moves the file
aside (``set_aside``) and starts afresh, see ``service.py``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from katib_suggestions.protocol import check_label, inside
from supernas.persist import atomic_write, dump_plain, load_plain

FORMAT = "supernas.katib_state/2"
KEYS = {"format", "identity", "state", "reply"}


class StateError(Exception):
    """A state file that cannot be used; the message says why (not where: the caller knows)."""


class StateStore:
    """Load and save state documents under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def experiment_dir(self, experiment: str) -> Path:
        """``<root>/<experiment>``; ``ConfigError`` unless a DNS label that stays under root."""
        check_label("experiment.name", experiment)
        return inside(self.root, self.root / experiment, "experiment.name", experiment)

    def path(self, experiment: str, algorithm: str) -> Path:
        return self.experiment_dir(experiment) / f"supernas-{algorithm}.state"

    def read(self, experiment: str, algorithm: str) -> dict[str, Any] | None:
        """The saved document, None when there is none; ``StateError`` when it is unusable.
        Temporary files left by a write that was killed are removed first."""
        p = self.path(experiment, algorithm)
        for stale in p.parent.glob(f".{p.name}.*.tmp") if p.parent.is_dir() else ():
            stale.unlink(missing_ok=True)
        if not p.exists() and not p.is_symlink():
            return None
        if not p.is_file():
            raise StateError("a directory or other non-file is in its place")
        try:
            doc = load_plain(p.read_bytes())
        except Exception as exc:  # any unpickling error: truncated, empty, random bytes
            raise StateError(f"it is not a readable state file ({type(exc).__name__}: {exc})") from exc
        _check_document(doc)
        return doc

    def load(self, experiment: str, algorithm: str) -> dict[str, Any] | None:
        """The algorithm's saved ``state_dict`` (for tools and tests), or None."""
        doc = self.read(experiment, algorithm)
        return None if doc is None else doc["state"]

    def save(self, experiment: str, algorithm: str, doc: dict[str, Any]) -> None:
        atomic_write(self.path(experiment, algorithm), dump_plain(doc))

    def set_aside(self, experiment: str, algorithm: str, tag: str) -> Path:
        """Rename the state file (or whatever is in its place) to ``<name>.<tag>-<UTC time>``."""
        p = self.path(experiment, algorithm)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = p.with_name(f"{p.name}.{tag}-{stamp}")
        n = 1
        while target.exists() or target.is_symlink():
            n += 1
            target = p.with_name(f"{p.name}.{tag}-{stamp}-{n}")
        p.rename(target)
        return target


def document(identity: dict[str, Any], state: dict[str, Any],
             reply: dict[str, Any] | None) -> dict[str, Any]:
    """The document ``save`` writes (module docstring)."""
    return {"format": FORMAT, "identity": identity, "state": state, "reply": reply}


def _check_document(doc: Any) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise StateError(f"it is not a state file of format {FORMAT!r} (found {found!r})")
    reply = doc.get("reply")
    if (set(doc) != KEYS or not isinstance(doc["identity"], dict) or not isinstance(doc["state"], dict)
            or not (reply is None or isinstance(reply, dict) and set(reply) == {"key", "suggestions"})):
        raise StateError(f"it has format {FORMAT!r} but not its fields")
