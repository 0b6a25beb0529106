"""Per-experiment state on the suggestion volume: a snapshot plus an append-only log of calls.

Layout under ``--state-dir`` (Katib mounts the suggestion PVC at ``/opt/katib/data`` when the
Experiment has ``resumePolicy: FromVolume``)::

    <state-dir>/<experiment>/supernas-<algorithm>.state  snapshot (this module)
    <state-dir>/<experiment>/supernas-<algorithm>.log    calls since the snapshot (record_log.py)
    <state-dir>/<experiment>/_shared/supernet.pt          shared supernet weights (weights.py)
    <state-dir>/<experiment>/<trial>/                      a running trial's directory

Why a log: rewriting the whole state after every call costs time that grows with the history
(the strategy's history, the trials seen: ~10,000 entries each after 10,000 trials). A call
instead appends one record of what it did (the trials it observed, how many suggestions it
drew, its reply: ``KatibAlgorithm.log_record``), whose size follows the call, not the history.
Every ``compact_every`` records the next call *compacts*: the whole state is written as a new
snapshot and the log starts empty, so a restart replays at most ``compact_every`` calls
(``KatibAlgorithm.replay_record``; the replayed suggestions are checked against the logged
reply). The snapshot is plain data written with ``supernas.persist`` (pickle read back by an
unpickler that refuses every class; temporary file, ``fsync``, rename: never torn)::

    {"format": FORMAT,
     "identity": {"algorithm": ..., "settings": {...}, "objective": [type, metric],
                  "nasConfig": sha256 of the nasConfig},   # what the state was built for
     "experiment": serialised api.v1.beta1.Experiment,      # to rebuild the algorithm (``load``)
     "generation": g,                                       # counts compactions
     "state": {...},                                        # the algorithm's state_dict()
     "reply": {"key": request key, "suggestions": [...]} or None}   # the last reply (retries)

and a log record is ``{"generation": g, "seq": i, "step": log_record(), "fresh": bool,
"reply": ...}``. ``read`` keeps the records of the snapshot's generation numbered 0, 1, 2, ...
and cuts the log after the last of them: a record torn by a kill (``record_log``), or records
of an older generation left by a compaction killed between writing the snapshot and emptying
the log (they are already in the snapshot), are dropped. Killed at any moment, the state read
back is the one of the last complete write, which is what the retry guarantee needs
(``service.py``).

``read`` raises ``StateError`` for anything else (random bytes, a truncated or empty snapshot, a
pickle of another shape, a directory where the file should be); the service then moves the
files aside (``set_aside``) and starts afresh, see ``service.py``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from katib_suggestions.protocol import check_label, inside
from katib_suggestions.record_log import AppendLog, read_records
from supernas.persist import atomic_write, dump_plain, load_plain

FORMAT = "supernas.katib_state/3"
KEYS = {"format", "identity", "experiment", "generation", "state", "reply"}
#: Records between compactions: a restart replays at most this many calls (for the ENAS
#: controllers ~5 ms of CPU each), and a compaction, whose cost grows with the history, runs
#: once per this many calls (benchmarks/notes/katib_latency.md).
COMPACT_EVERY = 200
Slot = tuple[str, str]  # (experiment, algorithm)


class StateError(Exception):
    """A state file that cannot be used; the message says why (not where: the caller knows)."""


class StateStore:
    """Read, append to and compact the state of each (experiment, algorithm) under ``root``.
    Callers serialise the calls of one experiment (the service holds its lock)."""

    def __init__(self, root: str | Path, compact_every: int = COMPACT_EVERY) -> None:
        self.root = Path(root)
        self.compact_every = compact_every
        self._logs: dict[Slot, tuple[AppendLog, int, int]] = {}  # log, generation, next seq

    def experiment_dir(self, experiment: str) -> Path:
        """``<root>/<experiment>``; ``ConfigError`` unless a DNS label that stays under root."""
        check_label("experiment.name", experiment)
        return inside(self.root, self.root / experiment, "experiment.name", experiment)

    def path(self, experiment: str, algorithm: str) -> Path:
        return self.experiment_dir(experiment) / f"supernas-{algorithm}.state"

    def log_path(self, experiment: str, algorithm: str) -> Path:
        return self.path(experiment, algorithm).with_suffix(".log")

    def read(self, experiment: str, algorithm: str) -> dict[str, Any] | None:
        """The snapshot with its valid log records under ``"log"``, None when there is none;
        ``StateError`` when it is unusable. Temporary files of a killed write are removed, and
        the log is cut after its last valid record (the next append follows it)."""
        p = self.path(experiment, algorithm)
        self._close(experiment, algorithm)
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
        records, end = _current(self.log_path(experiment, algorithm), doc["generation"])
        log = AppendLog(self.log_path(experiment, algorithm), end)
        self._logs[(experiment, algorithm)] = (log, doc["generation"], len(records))
        return {**doc, "log": records}

    def load(self, experiment: str, algorithm: str) -> dict[str, Any] | None:
        """The algorithm's ``state_dict`` as of the last write (snapshot plus replayed log; for
        tools and tests), or None."""
        from katib_suggestions.replay import saved_state  # the algorithms import this module

        doc = self.read(experiment, algorithm)
        return None if doc is None else saved_state(doc, self.root)

    def commit(self, experiment: str, algorithm: str, record: dict[str, Any],
               snapshot: Callable[[], dict[str, Any]]) -> None:
        """Persist one call: append ``record``, or every ``compact_every`` records (and when
        there is no snapshot yet) write ``snapshot()`` instead and empty the log."""
        slot = (experiment, algorithm)
        if slot not in self._logs or self._logs[slot][2] >= self.compact_every:
            self.save(experiment, algorithm, snapshot())
            return
        log, generation, seq = self._logs[slot]
        log.append({**record, "generation": generation, "seq": seq})
        self._logs[slot] = (log, generation, seq + 1)

    def save(self, experiment: str, algorithm: str, doc: dict[str, Any]) -> None:
        """Compact: write ``doc`` (a ``document``, or what ``read`` returned: its ``"log"`` is
        left out) as the snapshot of the next generation, then empty the log (a kill in between
        leaves records of the old generation: ignored)."""
        slot = (experiment, algorithm)
        generation = self._logs[slot][1] + 1 if slot in self._logs else 0
        snapshot = {k: v for k, v in doc.items() if k != "log"}
        atomic_write(self.path(experiment, algorithm), dump_plain({**snapshot, "generation": generation}))
        log = self._logs[slot][0] if slot in self._logs else AppendLog(self.log_path(*slot), 0)
        log.reset()
        self._logs[slot] = (log, generation, 0)

    def set_aside(self, experiment: str, algorithm: str, tag: str) -> Path:
        """Rename the snapshot (or whatever is in its place) to ``<name>.<tag>-<UTC time>``, and
        its log the same way (``<log name>.<tag>-<UTC time>``)."""
        self._close(experiment, algorithm)
        p = self.path(experiment, algorithm)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = p.with_name(f"{p.name}.{tag}-{stamp}")
        n = 1
        while target.exists() or target.is_symlink():
            n += 1
            target = p.with_name(f"{p.name}.{tag}-{stamp}-{n}")
        p.rename(target)
        log = self.log_path(experiment, algorithm)
        if log.is_file():
            log.rename(log.with_name(log.name + target.name[len(p.name):]))
        return target

    def _close(self, experiment: str, algorithm: str) -> None:
        entry = self._logs.pop((experiment, algorithm), None)
        if entry is not None:
            entry[0].close()


def document(identity: dict[str, Any], experiment: bytes, state: dict[str, Any],
             reply: dict[str, Any] | None) -> dict[str, Any]:
    """The snapshot ``save`` writes (module docstring; ``save`` sets the generation)."""
    return {"format": FORMAT, "identity": identity, "experiment": experiment, "generation": 0,
            "state": state, "reply": reply}


def _current(path: Path, generation: int) -> tuple[list[dict[str, Any]], int]:
    """The records of ``generation`` numbered from 0, and the byte offset after the last."""
    kept, end = [], 0
    for i, (rec, after) in enumerate(read_records(path)):
        if not isinstance(rec, dict) or rec.get("generation") != generation or rec.get("seq") != i:
            break
        kept.append(rec)
        end = after
    return kept, end


def _check_document(doc: Any) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise StateError(f"it is not a state file of format {FORMAT!r} (found {found!r})")
    reply = doc.get("reply")
    if (set(doc) != KEYS or not isinstance(doc["identity"], dict) or not isinstance(doc["state"], dict)
            or not isinstance(doc["generation"], int) or not isinstance(doc["experiment"], bytes)
            or not (reply is None or isinstance(reply, dict) and set(reply) == {"key", "suggestions"})):
        raise StateError(f"it has format {FORMAT!r} but not its fields")
