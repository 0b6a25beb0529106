"""Per-experiment state on the suggestion volume, written atomically after every change.

Layout under ``--state-dir`` (Katib mounts the suggestion PVC at ``/opt/katib/data`` when the
Experiment has ``resumePolicy: FromVolume``)::

    <state-dir>/<experiment>/supernas-<algorithm>.state  service state (this module)
    <state-dir>/<experiment>/_shared/supernet.pt          shared supernet weights (weights.py)
    <state-dir>/<experiment>/<trial>/                      a trial's directory (suggestion_trial_dir)

The state is plain JSON-like data (dicts, lists, strings, numbers), stored with ``pickle``
because encoding an ENAS controller's weights as JSON text takes ~25x longer (hundreds of ms per
call); it is read back with an unpickler that refuses every class, so a tampered file cannot run
code. A write goes to a temporary file in the same directory, is fsync'ed, then renamed over the old
file, so a process killed at any moment leaves either the old or the new state, never a torn one.
"""
from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any


class StateStore:
    """Load and save JSON state documents under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def experiment_dir(self, experiment: str) -> Path:
        return self.root / experiment

    def path(self, experiment: str, algorithm: str) -> Path:
        return self.experiment_dir(experiment) / f"supernas-{algorithm}.state"

    def load(self, experiment: str, algorithm: str) -> dict[str, Any] | None:
        p = self.path(experiment, algorithm)
        if not p.is_file():
            return None
        return _PlainUnpickler(io.BytesIO(p.read_bytes())).load()

    def save(self, experiment: str, algorithm: str, state: dict[str, Any]) -> None:
        atomic_write(self.path(experiment, algorithm), pickle.dumps(state, protocol=5))


class _PlainUnpickler(pickle.Unpickler):
    """Loads only built-in containers and scalars: any class reference is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"state files hold plain data only, not {module}.{name}")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
