"""supernas ask/tell strategies as an NNI 3.0 NAS strategy (``nni.nas.strategy.base.Strategy``).

``SupernasNasStrategy("enas" | "evolution" | "random", seed=..., **settings)`` can be given to
``NasExperiment(model_space, evaluator, strategy)`` or run on an execution engine directly: it
reads the space's mutables (``model_space.simplify()``: ``Categorical`` becomes a layer decision,
``CategoricalMultiple`` an input decision), asks the supernas strategy for an architecture,
submits ``model_space.freeze(sample)`` to NNI's engine and tells the strategy the model's metric
when NNI reports the end of its training (a model without a metric is a failure). The ENAS
controller (arXiv 1802.03268), regularised evolution (arXiv 1802.01548) and random search are
therefore usable from NNI's Python API as well as from ``nnictl`` tuners.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from nni.mutable import Categorical, CategoricalMultiple
from nni.nas.execution import ExecutionEngine
from nni.nas.execution.event import ModelEventType, TrainingEndEvent
from nni.nas.space import ExecutableModelSpace
from nni.nas.strategy.base import Strategy as NniStrategy

from supernas.errors import SpaceError
from supernas.space import Choice, Decision
from supernas.strategies import STRATEGIES
from supernas.strategies.base import Strategy

_logger = logging.getLogger(__name__)


class SupernasNasStrategy(NniStrategy):
    """Drive a supernas ask/tell strategy through NNI's execution engine (module docstring)."""

    def __init__(self, strategy: str = "evolution", seed: int = 0, **settings: Any) -> None:
        super().__init__()
        from nni_plugins.tuner_state import check_settings, parsed_settings

        check_settings(strategy, seed, settings)  # clear errors before the experiment starts
        self.strategy_name, self.seed = strategy, seed
        self.settings = parsed_settings(strategy, seed, settings)
        self.search: Strategy | None = None
        self.values: dict[str, list[Any]] = {}  # layer key -> NNI values in option order
        self.lock = threading.Lock()

    def _initialize(self, model_space: ExecutableModelSpace, engine: ExecutionEngine) -> ExecutableModelSpace:
        space_decisions = [self._decision(label, m) for label, m in model_space.simplify().items()]
        self.search = STRATEGIES.create(self.strategy_name, space_decisions=space_decisions,
                                        seed=self.seed, **self.settings)
        engine.register_model_event_callback(ModelEventType.TrainingEnd, self._training_end)
        return model_space

    def _decision(self, label: str, mutable: Any) -> Decision:
        if isinstance(mutable, CategoricalMultiple):
            return Decision(label, "input", n_candidates=len(mutable.values), n_chosen=mutable.n_chosen)
        if isinstance(mutable, Categorical):
            self.values[label] = list(mutable.values)
            return Decision(label, "layer", choices=tuple(str(v) for v in mutable.values))
        raise SpaceError(f"NNI mutable {label!r} ({type(mutable).__name__}) cannot be searched by "
                         "supernas strategies; allowed: Categorical (LayerChoice, nni.choice) and "
                         "CategoricalMultiple (InputChoice)")

    def _cleanup(self) -> None:
        self.engine.unregister_model_event_callback(ModelEventType.TrainingEnd, self._training_end)

    def _run(self) -> None:
        while self.wait_for_resource():
            with self.lock:
                choices = self.search.suggest(1)[0]
            self.engine.submit_models(self.model_space.freeze(self.to_sample(choices)))
        self.engine.wait_models()

    def to_sample(self, choices: dict[str, Choice]) -> dict[str, Any]:
        """supernas choices -> NNI sample (option names back to the NNI values)."""
        return {k: self.values[k][[str(v) for v in self.values[k]].index(v)] if k in self.values
                else list(v) for k, v in choices.items()}

    def _training_end(self, event: TrainingEndEvent) -> None:
        sample = event.model.sample
        choices = {k: str(v) if k in self.values else sorted(v) for k, v in sample.items()}
        metric = event.model.metric
        reward = float(metric["default"] if isinstance(metric, dict) else metric) \
            if metric is not None else None
        with self.lock:
            try:
                self.search.observe(choices, reward)
            except Exception:
                _logger.exception("supernas strategy could not observe %s", choices)

    def state_dict(self) -> dict[str, Any]:
        return {"strategy": self.search.state_dict() if self.search is not None else None}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if self.search is not None and state_dict.get("strategy") is not None:
            self.search.load_state_dict(state_dict["strategy"])
