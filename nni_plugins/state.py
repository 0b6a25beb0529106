"""Where a tuner keeps its state between NNI runs, and how it is written.

NNI 3.0's manager starts the dispatcher with ``NNI_CHECKPOINT_DIRECTORY`` set to
``<experimentWorkingDirectory>/<experiment id>/checkpoint`` (``nnimanager.js`` ``setupTuner``),
for ``create`` and ``resume`` alike, so a file there outlives ``nnictl stop``. ``nnictl resume``
never calls ``save_checkpoint``: tuners write their state after every event instead.

Format 3 (``supernas.statelog``): a JSON snapshot ``supernas_tuner.snapshot.json`` plus an
append-only JSON log ``supernas_tuner.log`` of what changed at each event, compacted into a new
snapshot when the log outgrows it; a record torn by a kill is dropped on load. With an ENAS
controller and 10,000 trials the rewrite of format 2 cost ~16 ms of CPU per event (BENCHMARKS.md
section 5a); format 3 costs what changed (BENCHMARKS.md, NNI persisted events). Files of earlier
releases are still read when no format-3 snapshot exists: format 2 (``supernas_tuner.state``,
pickle read by ``supernas.persist``'s class-refusing unpickler) and format 1
(``supernas_tuner.json``, JSON text). A format-3 state holds JSON types only (tuples come back
as lists, dict keys are strings).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from supernas import statelog
from supernas.persist import load_plain

NAME = "supernas_tuner"
STATE_FORMAT = "supernas.nni_tuner/3"
PICKLED_FILE, PICKLED_FORMAT = "supernas_tuner.state", "supernas.nni_tuner/2"  # read only
LEGACY_FILE, LEGACY_FORMAT = "supernas_tuner.json", "supernas.nni_tuner/1"  # read only
#: ``supernas.statelog.StateLog`` options of the tuners' state: compact once the log holds twice
#: the snapshot's bytes (and at least 1 MiB); tests lower them to compact often
LOG_OPTIONS: dict[str, Any] = {"compact_ratio": 2.0, "min_log_bytes": 1 << 20}


def checkpoint_dir(explicit: str | None = None) -> Path | None:
    """``explicit`` if given, else NNI's ``NNI_CHECKPOINT_DIRECTORY`` if it exists, else None."""
    if explicit:
        Path(explicit).mkdir(parents=True, exist_ok=True)
        return Path(explicit)
    env = os.environ.get("NNI_CHECKPOINT_DIRECTORY")
    return Path(env) if env and Path(env).is_dir() else None


class StateWriter:
    """Writes one tuner's state after every event into ``directory`` (format 3)."""

    def __init__(self, directory: Path, **log_options: Any) -> None:
        self.directory = directory
        self.log = statelog.StateLog(directory, NAME, **{**LOG_OPTIONS, **log_options})

    def save(self, state: dict[str, Any]) -> None:
        self.log.save({"format": STATE_FORMAT, **state})


def save_state(directory: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` as a whole new snapshot (for rare events: the one-shot launcher)."""
    log = statelog.StateLog(directory, NAME)
    log.compact({"format": STATE_FORMAT, **state})
    log.close()
    return statelog.snapshot_path(directory, NAME)


def load_state(directory: Path) -> dict[str, Any] | None:
    """The saved state (format 3, else 2, else 1), or None for a fresh experiment."""
    if statelog.snapshot_path(directory, NAME).is_file():
        path, data, allowed = directory, statelog.load(directory, NAME), STATE_FORMAT
    elif (directory / PICKLED_FILE).is_file():
        path = directory / PICKLED_FILE
        data, allowed = load_plain(path.read_bytes()), PICKLED_FORMAT
    elif (directory / LEGACY_FILE).is_file():
        path = directory / LEGACY_FILE
        data, allowed = json.loads(path.read_text()), LEGACY_FORMAT
    else:
        return None
    if not isinstance(data, dict) or data.get("format") != allowed:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path}: format={found!r}; allowed: {allowed!r}")
    return data
