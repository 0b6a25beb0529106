"""Multi-trial searches: an ask/tell strategy from ``supernas.strategies`` proposes architectures
of the space converted from ``nasConfig``; each finished trial's reward is credited to the
architecture parsed from *that trial's* assignments (Katib's own ENAS trains its controller on the
average of all finished trials against freshly re-sampled architectures).

Algorithms: ``enas`` (drop-in, Katib's formats and settings; REINFORCE controller of ENAS,
Pham et al. 2018, arXiv 1802.03268), ``supernas-enas`` (the same controller, supernas format, and
supernet weights shared between trials, see ``weights.py``), ``supernas-evolution``, ``supernas-bo``
(BANANAS), ``supernas-pnas`` (progressive search with a surrogate) and
``supernas-random``.
"""
from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms.base import KatibAlgorithm, Suggestion
from katib_suggestions.nas_config import NasSpace, parse_nas_config
from katib_suggestions.settings import parse_settings, plain
from katib_suggestions.trials import finished_trials, trial_names
from katib_suggestions.weights import SharedWeights
from supernas.settings import Settings
from supernas.space import Choice
from supernas.strategies import STRATEGIES, Strategy

log = logging.getLogger(__name__)
Choices = dict[str, Choice]
Observed = tuple[str, Choices | None, float | None]  # trial name, what it ran, its reward
#: Kubernetes label values (Katib labels pods with the trial name) are at most 63 characters.
MAX_NAME = 63


class MultiTrial(KatibAlgorithm):
    """Replay finished trials into a strategy, then ask it for ``current_request_number`` more.

    Settings: the scalar fields of the strategy's settings dataclass (``settings_class``), named
    through ``renames`` (Katib name -> field) and with ``defaults`` (by field) where Katib's
    differ, plus ``extra_schemas`` (e.g. the shared-weights directory)."""

    strategy_name = ""
    renames: Mapping[str, str] = {}
    defaults: Mapping[str, Any] = {}
    extra_schemas: tuple[type[Settings], ...] = ()
    #: the Katib names accepted (None: every scalar field of the schemas)
    accepted: tuple[str, ...] | None = None

    def __init__(self, experiment: pb.Experiment, state_dir: Path) -> None:
        super().__init__(experiment, state_dir)
        spec = experiment.spec
        self.space: NasSpace = parse_nas_config(spec.nas_config)
        self.decisions = self.space.decisions()
        parsed = parse_settings(self.raw_settings(spec.algorithm.algorithm_settings),
                                self.schemas(), self.renames, self.defaults, self.accepted)
        self.settings = plain(parsed, self.renames, self.accepted)
        self.strategy: Strategy = STRATEGIES.create(self.strategy_name, space_decisions=self.decisions,
                                                    **parsed[0].as_dict())
        self.seen: dict[str, float | None] = {}
        self.issued = 0
        self.weights: SharedWeights | None = None
        self._last: dict[str, Any] = {"observed": [], "n": 0, "issued": 0}

    @classmethod
    def schemas(cls) -> list[type[Settings]]:
        """The settings dataclasses whose scalar fields the Experiment may set."""
        return [STRATEGIES.get(cls.strategy_name).settings_class, *cls.extra_schemas]  # type: ignore[attr-defined]

    def raw_settings(self, raw: Iterable[Any]) -> list[Any]:
        """The Experiment's settings as given (the drop-in drops Katib's ``None`` spellings)."""
        return list(raw)

    @abstractmethod
    def encode(self, choices: Choices) -> dict[str, str]:
        """Assignments for one architecture."""

    @abstractmethod
    def decode(self, assignments: Mapping[str, str]) -> Choices:
        """The architecture a trial ran, from its assignments (raise on foreign values)."""

    def get_suggestions(self, request: pb.GetSuggestionsRequest) -> list[Suggestion]:
        observed = [self._observe(t.name, t.assignments, t.reward)
                    for t in finished_trials(request, self.seen)]
        n = request.current_request_number
        if observed or n > 0:
            self.dirty = True
        existing = set(trial_names(request)) if self.weights is not None else set()
        out = [self._suggestion(c, existing) for c in self.strategy.suggest(n)]
        self._last = {"observed": observed, "n": n, "issued": self.issued}
        return out

    def _observe(self, name: str, assignments: Mapping[str, str], reward: float | None) -> Observed:
        """Credit ``reward`` to the architecture the trial ran; assignments that do not decode
        to this space (foreign or tampered values: any error while decoding) are logged and
        not credited, and the trial counts as seen either way."""
        try:
            choices: Choices | None = self.decode(assignments)
        except Exception as exc:  # noqa: BLE001 - untrusted input: whatever decoding raises
            log.warning("trial %s: assignments not from this space, not credited: %s", name, exc)
            choices = None
        self._credit(name, choices, reward)
        if self.weights is not None:
            self.weights.finished(name, adopt=choices is not None and reward is not None)
        return (name, choices, reward)

    def _credit(self, name: str, choices: Choices | None, reward: float | None) -> None:
        if choices is not None:
            self.strategy.observe(choices, reward)
        self.seen[name] = reward

    def log_record(self) -> dict[str, Any]:
        """The trials the last call observed (decoded), how many it drew, the counter after it."""
        return self._last

    def replay_record(self, record: dict[str, Any]) -> list[dict[str, str]] | None:
        for name, choices, reward in record["observed"]:
            self._credit(name, choices, reward)
        drawn = self.strategy.suggest(record["n"])
        self.issued = int(record["issued"])  # trial names were chosen against that call's trials
        return [self.encode(c) for c in drawn]

    def _suggestion(self, choices: Choices, existing: set[str]) -> Suggestion:
        name = ""
        if self.weights is not None:
            name = self._next_name(existing)
            self.weights.prepare(name)
        self.issued += 1
        return Suggestion(self.encode(choices), trial_name=name)

    def _next_name(self, existing: set[str]) -> str:
        while True:
            suffix = f"-{self.issued:05d}"
            name = self.experiment_name[: MAX_NAME - len(suffix)].rstrip("-.") + suffix
            if name not in existing:
                return name
            self.issued += 1

    def state_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy.state_dict(), "seen": self.seen, "issued": self.issued}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.strategy.load_state_dict(state["strategy"])
        self.seen = dict(state["seen"])
        self.issued = int(state["issued"])
        self.dirty = False
