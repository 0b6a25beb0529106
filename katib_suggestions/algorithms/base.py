"""Base class of the algorithms the suggestion service serves, and their registry.

Call order (the service owns it)::

    algo = ALGORITHMS.create(name, experiment=experiment_pb, state_dir=root)  # validates, may raise
    if saved["identity"] == {"algorithm": name, **algo.identity()}:  # restart: same experiment
        algo.load_state_dict(saved["state"])
        for record in saved["log"]:          # calls logged since that snapshot (replay.py)
            algo.replay_record(record["step"])
    reply = algo.get_suggestions(request)    # observe finished trials, then suggest exactly n
    if algo.dirty:                           # skipped when the call changed nothing
        store.commit(experiment, name, {"step": algo.log_record(), ...},  # before the reply
                     snapshot=lambda: {..., "state": algo.state_dict()})  # every COMPACT_EVERY
        algo.dirty = False

``__init__`` raises ``supernas.errors.ConfigError`` (or another ``SupernasError``) naming the
setting or nasConfig field, the value and what is allowed; ``ValidateAlgorithmSettings`` is
``__init__`` without a request. ``get_suggestions`` must be idempotent in the trials it is sent:
the same finished trial seen twice changes nothing the second time. It is only called with a
request that passed ``protocol.check_request`` and is not a retry of the last one (the service
answers retries itself); when it raises, the service drops the instance and restores the last
saved state on the next call, so a half-applied call leaves no trace.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.protocol import check_label
from supernas.errors import bad_value
from supernas.registry import Registry


@dataclass
class Suggestion:
    """One trial to create: assignment name -> value, and optionally the trial's name."""

    assignments: dict[str, str]
    trial_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    def to_pb(self) -> pb.GetSuggestionsReply.ParameterAssignments:
        items = [pb.ParameterAssignment(name=k, value=v) for k, v in self.assignments.items()]
        return pb.GetSuggestionsReply.ParameterAssignments(
            assignments=items, trial_name=self.trial_name, labels=self.labels)

    def to_plain(self) -> dict[str, Any]:
        """Plain data for the state file (the last reply, see ``service.py``)."""
        return {"assignments": dict(self.assignments), "trial_name": self.trial_name,
                "labels": dict(self.labels)}

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> Suggestion:
        return cls(dict(data["assignments"]), str(data["trial_name"]), dict(data["labels"]))


class KatibAlgorithm(ABC):
    """One Experiment's algorithm instance."""

    #: assignment names this algorithm returns (the Experiment's trialParameters references).
    references: tuple[str, ...] = ()

    def __init__(self, experiment: pb.Experiment, state_dir: Path) -> None:
        self.experiment_name = check_label("experiment.name", experiment.name)
        objective = experiment.spec.objective
        if not objective.objective_metric_name:
            raise bad_value("objective.objectiveMetricName", "",
                            "the name of the metric the trials report (Katib requires one)")
        self.state_dir = Path(state_dir)
        #: typed algorithm settings by Katib name; subclasses fill it (``settings.parse_settings``)
        self.settings: dict[str, Any] = {}
        self._spec_identity = {
            "objective": [pb.ObjectiveType.Name(objective.type), objective.objective_metric_name],
            "nasConfig": hashlib.sha256(
                experiment.spec.nas_config.SerializeToString(deterministic=True)).hexdigest()}
        #: the state differs from the last one saved (or none was saved); subclasses set it
        #: whenever ``get_suggestions`` changes their state, the service clears it after a save.
        self.dirty = True

    @abstractmethod
    def get_suggestions(self, request: pb.GetSuggestionsRequest) -> list[Suggestion]:
        """Exactly ``request.current_request_number`` suggestions."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def log_record(self) -> dict[str, Any]:
        """What the last ``get_suggestions`` did, as plain data of the size of the call (not of
        the history), for ``replay_record``. Default: the whole state, for algorithms whose
        state is a few numbers."""
        return {"state": self.state_dict()}

    def replay_record(self, record: dict[str, Any]) -> list[dict[str, str]] | None:
        """Redo the call ``record`` describes on the state it started from (no side effects
        outside the state: no trial directories, no weights); the assignments it suggests, or
        None when the record does not redraw them. Replaying every record since a snapshot
        gives the state ``state_dict`` would have returned, bit for bit."""
        self.load_state_dict(record["state"])
        return None

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned (any exception: the state does not fit)."""

    def identity(self) -> dict[str, Any]:
        """What the saved state depends on: settings, objective and a digest of the nasConfig.
        A state file saved under another identity (an earlier experiment of the same name) is
        not restored."""
        return {"settings": dict(self.settings), **self._spec_identity}


ALGORITHMS: Registry[KatibAlgorithm] = Registry("Katib algorithm")
register_algorithm = ALGORITHMS.register
