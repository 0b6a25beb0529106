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
  was suggested (absent for the first trials: start from fresh weights). It is a hard link to
  the shared file (a copy only where the volume has no hard links), so it costs no disk; the
  shared file is only ever replaced by a rename, never written in place, so a trial keeps the
  snapshot it was given. Trials must treat it as read-only.
- ``<suggestion_trial_dir>/supernet-out.pt``: written by the trial (temporary file + rename) after
  training its child inside the supernet. When the service sees the trial SUCCEEDED it adopts that
  file as the new shared weights (``<experiment>/_shared/supernet.pt``, again by a hard link), in
  completion order.

Once the service has seen a trial finish (any outcome) it removes the trial's directory, so the
volume holds one directory per running trial plus ``_shared``, whatever the number of trials.
Adopting and removing are each safe to repeat after a crash (a removed directory has nothing left
to adopt; the shared file already holds what it gave).

A full or failing volume never fails a call: the trial then starts from fresh weights, or the
shared weights are not updated, and the service logs a warning (once per kind of failure until
it succeeds again), as it does for state writes.

``_shared`` cannot clash with a trial name (``_`` is not allowed in Kubernetes names). Both pods
must share a group (``fsGroup``) so trials can write the directories the service creates (mode
2775).
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

from katib_suggestions.protocol import check_label, inside

IN_FILE = "supernet.pt"
OUT_FILE = "supernet-out.pt"
SHARED = "_shared"
#: errors of ``os.link`` that mean "no hard links here": fall back to a copy.
NO_LINKS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}

log = logging.getLogger(__name__)


class SharedWeights:
    """Hand the current supernet to new trials, adopt finished trials' updates, prune."""

    def __init__(self, state_root: Path, experiment: str) -> None:
        self.state_root, self.experiment = Path(state_root), check_label("experiment.name", experiment)
        self.root = self.state_root / experiment
        self._failing: set[str] = set()  # operations whose last attempt failed (warned once)

    @property
    def shared_file(self) -> Path:
        return self._child(SHARED, "shared weights directory") / IN_FILE

    def trial_dir(self, trial: str) -> Path:
        """``<experiment>/<trial>``, refused unless ``trial`` is a DNS label inside the root."""
        return self._child(check_label("trial name", trial), "trial name")

    def _child(self, name: str, field: str) -> Path:
        """``<experiment>/<name>``, checked to resolve under the experiment directory, itself
        under the state directory (``ConfigError`` otherwise: a symbolic link to elsewhere)."""
        inside(self.state_root, self.root, "experiment.name", self.experiment)
        return inside(self.root, self.root / name, field, name)

    def prepare(self, trial: str) -> Path:
        """Create ``trial``'s directory holding the current shared weights (if any)."""
        d = self.trial_dir(trial)
        try:
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o2775)
            shared = self.shared_file
            if shared.is_file():
                _place(shared, d / IN_FILE)
        except OSError as exc:
            self._failed("prepare", f"trial {trial} starts from fresh weights", exc)
        else:
            self._failing.discard("prepare")
        return d

    def finished(self, trial: str, adopt: bool) -> bool:
        """``trial`` is done: adopt its output when ``adopt`` (it succeeded), then remove its
        directory. True when its output became the shared weights."""
        d = self.trial_dir(trial)
        adopted = False
        try:
            if adopt and (d / OUT_FILE).is_file():
                _place(d / OUT_FILE, self.shared_file)
                adopted = True
        except OSError as exc:
            self._failed("adopt", f"the shared weights stay as they were, trial {trial}'s "
                                  "update is not adopted", exc)
        else:
            self._failing.discard("adopt")
        try:
            if d.is_dir():
                shutil.rmtree(d)
        except OSError as exc:
            self._failed("prune", f"trial directory {d} is left on the volume", exc)
        else:
            self._failing.discard("prune")
        return adopted

    def _failed(self, operation: str, consequence: str, exc: OSError) -> None:
        level = logging.DEBUG if operation in self._failing else logging.WARNING
        why = "the volume is full" if exc.errno == errno.ENOSPC else str(exc)
        log.log(level, "shared weights under %s: %s (%s); the search goes on", self.root,
                consequence, why)
        self._failing.add(operation)


def _place(src: Path, dst: Path) -> None:
    """Make ``dst`` the same file as ``src`` (hard link, else a copy), replacing it atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError as exc:
        if exc.errno not in NO_LINKS:
            raise
        shutil.copyfile(src, tmp)
    tmp.replace(dst)
