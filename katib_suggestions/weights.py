"""Supernet weights shared between ENAS trials through Katib's ``suggestion_trial_dir``.

Katib's mechanism (kubeflow/katib ``pkg/webhook/v1beta1/pod/inject_webhook.go``
``mutateSuggestionVolume``): when the Experiment's algorithm settings hold
``suggestion_trial_dir: <path>`` and ``resumePolicy: FromVolume`` gives the suggestion a PVC, the
pod webhook mounts that PVC's sub-directory ``<experiment>/<trial name>`` at ``<path>`` in the
trial's primary container. The suggestion sees the whole PVC at ``/opt/katib/data``. supernas
names the trials itself (``trial_name`` in the reply) so it knows each trial's directory before
the trial starts.

How a trial finds the shared weights (the contract ``trial_entry.py`` implements):

- ``<suggestion_trial_dir>/supernet.pt``: the shared supernet ``state_dict`` at the time the trial
  was suggested (absent for the first trials: start from fresh weights).
- ``<suggestion_trial_dir>/supernet-out.pt``: written by the trial (temporary file + rename) after
  training its child inside the supernet. When the service sees the trial SUCCEEDED it adopts that
  file as the new shared weights (``<experiment>/_shared/supernet.pt``), in completion order.

``_shared`` cannot clash with a trial name (``_`` is not allowed in Kubernetes names). Both pods
must share a group (``fsGroup``) so trials can write the directories the service creates (mode
2775).
"""
from __future__ import annotations

import shutil
from pathlib import Path

IN_FILE = "supernet.pt"
OUT_FILE = "supernet-out.pt"
SHARED = "_shared"


class SharedWeights:
    """Hand the current supernet to new trials and adopt finished trials' updates."""

    def __init__(self, experiment_dir: Path) -> None:
        self.root = Path(experiment_dir)

    @property
    def shared_file(self) -> Path:
        return self.root / SHARED / IN_FILE

    def prepare(self, trial: str) -> Path:
        """Create ``trial``'s directory holding the current shared weights (if any)."""
        d = self.root / trial
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o2775)
        if self.shared_file.is_file():
            _copy(self.shared_file, d / IN_FILE)
        return d

    def adopt(self, trial: str) -> bool:
        """Make ``trial``'s output the shared weights; False when it wrote none."""
        out = self.root / trial / OUT_FILE
        if not out.is_file():
            return False
        _copy(out, self.shared_file)
        return True


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.copy")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)
