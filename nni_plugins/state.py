"""Where a tuner keeps its state between NNI runs, and how it is written.

NNI 3.0's manager starts the dispatcher with ``NNI_CHECKPOINT_DIRECTORY`` set to
``<experimentWorkingDirectory>/<experiment id>/checkpoint`` (``nnimanager.js`` ``setupTuner``),
for ``create`` and ``resume`` alike, so a file there outlives ``nnictl stop``. ``nnictl resume``
never calls ``save_checkpoint``: tuners write their state after every event instead.

The file is plain data written with ``supernas.persist`` (pickle read by a class-refusing
unpickler, temporary file + rename). Format 1 was JSON text (``supernas_tuner.json``): with an
ENAS controller and 10,000 trials, encoding it cost about 59 ms of CPU per event (BENCHMARKS.md
section 5a); such a file is still read when no format-2 file exists.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from supernas.persist import atomic_write, dump_plain, load_plain

STATE_FILE = "supernas_tuner.state"
STATE_FORMAT = "supernas.nni_tuner/2"
LEGACY_FILE, LEGACY_FORMAT = "supernas_tuner.json", "supernas.nni_tuner/1"  # JSON text


def checkpoint_dir(explicit: str | None = None) -> Path | None:
    """``explicit`` if given, else NNI's ``NNI_CHECKPOINT_DIRECTORY`` if it exists, else None."""
    if explicit:
        Path(explicit).mkdir(parents=True, exist_ok=True)
        return Path(explicit)
    env = os.environ.get("NNI_CHECKPOINT_DIRECTORY")
    return Path(env) if env and Path(env).is_dir() else None


def save_state(directory: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically (temp file + rename) so a crash never leaves half a file."""
    path = directory / STATE_FILE
    atomic_write(path, dump_plain({"format": STATE_FORMAT, **state}), fsync=False)
    return path


def load_state(directory: Path) -> dict[str, Any] | None:
    """The saved state (format 2, else a format-1 JSON file), or None for a fresh experiment."""
    path, legacy = directory / STATE_FILE, directory / LEGACY_FILE
    if path.is_file():
        data, allowed = load_plain(path.read_bytes()), STATE_FORMAT
    elif legacy.is_file():
        path, data, allowed = legacy, json.loads(legacy.read_text()), LEGACY_FORMAT
    else:
        return None
    if not isinstance(data, dict) or data.get("format") != allowed:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path}: format={found!r}; allowed: {allowed!r}")
    return data
