"""Where a tuner keeps its state between NNI runs, and how it is written.

NNI 3.0's manager starts the dispatcher with ``NNI_CHECKPOINT_DIRECTORY`` set to
``<experimentWorkingDirectory>/<experiment id>/checkpoint`` (``nnimanager.js`` ``setupTuner``),
for ``create`` and ``resume`` alike, so a file there outlives ``nnictl stop``. ``nnictl resume``
never calls ``save_checkpoint``: tuners write their state after every event instead.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "supernas_tuner.json"
STATE_FORMAT = "supernas.nni_tuner/1"


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
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": STATE_FORMAT, **state}))  # no indent: C encoder, fast
    os.replace(tmp, path)
    return path


def load_state(directory: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none (a fresh experiment)."""
    path = directory / STATE_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if data.get("format") != STATE_FORMAT:
        raise ValueError(f"{path}: format={data.get('format')!r}; allowed: {STATE_FORMAT!r}")
    return data
