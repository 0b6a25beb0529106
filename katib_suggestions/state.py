"""Per-experiment state on the suggestion volume, written atomically after every change.

Layout under ``--state-dir`` (Katib mounts the suggestion PVC at ``/opt/katib/data`` when the
Experiment has ``resumePolicy: FromVolume``)::

    <state-dir>/<experiment>/supernas-<algorithm>.state  service state (this module)
    <state-dir>/<experiment>/_shared/supernet.pt          shared supernet weights (weights.py)
    <state-dir>/<experiment>/<trial>/                      a trial's directory (suggestion_trial_dir)

The state is plain data written with ``supernas.persist`` (pickle read back by an unpickler that
refuses every class; temporary file, ``fsync``, rename: never torn).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from supernas.persist import atomic_write, dump_plain, load_plain


class StateStore:
    """Load and save plain-data state documents under ``root``."""

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
        return load_plain(p.read_bytes())

    def save(self, experiment: str, algorithm: str, state: dict[str, Any]) -> None:
        atomic_write(self.path(experiment, algorithm), dump_plain(state))
