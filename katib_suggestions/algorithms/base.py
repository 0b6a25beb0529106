"""Base class of the algorithms the suggestion service serves, and their registry.

Call order (the service owns it)::

    algo = ALGORITHMS.create(name, experiment=experiment_pb, store=store)  # validates, may raise
    algo.load_state_dict(saved)              # when a saved state exists (restart)
    reply = algo.get_suggestions(request)    # observe finished trials, then suggest exactly n
    if algo.dirty:                           # skipped when the call changed nothing
        store.save(experiment, name, algo.state_dict())   # before the reply is sent
        algo.dirty = False

``__init__`` raises ``supernas.errors.ConfigError`` (or another ``SupernasError``) naming the
setting or nasConfig field, the value and what is allowed; ``ValidateAlgorithmSettings`` is
``__init__`` without a request. ``get_suggestions`` must be idempotent in the trials it is sent:
the same finished trial seen twice changes nothing the second time.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

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


class KatibAlgorithm(ABC):
    """One Experiment's algorithm instance."""

    #: assignment names this algorithm returns (the Experiment's trialParameters references).
    references: tuple[str, ...] = ()

    def __init__(self, experiment: pb.Experiment, state_dir: Path) -> None:
        self.experiment_name = experiment.name
        self.state_dir = Path(state_dir)
        #: the state differs from the last one saved (or none was saved); subclasses set it
        #: whenever ``get_suggestions`` changes their state, the service clears it after a save.
        self.dirty = True

    @abstractmethod
    def get_suggestions(self, request: pb.GetSuggestionsRequest) -> list[Suggestion]:
        """Exactly ``request.current_request_number`` suggestions."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""


ALGORITHMS: Registry[KatibAlgorithm] = Registry("Katib algorithm")
register_algorithm = ALGORITHMS.register
