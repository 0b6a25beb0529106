"""Searchers for the tabular benchmark, each behind NNI's ``Tuner`` interface.

Every factory takes a seed and returns an object with ``update_search_space``,
``generate_parameters(parameter_id)``, ``receive_trial_result(parameter_id, parameters, value)``
(and optionally ``trial_end``), which is all the benchmark loop calls: the same calls NNI's
dispatcher makes in a sequential (concurrency 1) experiment.

* ``nni-random``, ``nni-tpe``, ``nni-evolution``: NNI 3.0's built-in HPO tuners
  (``nni.algorithms.hpo``); Evolution with population 20 as in BENCHMARK-PROTOCOLS.md.
* ``supernas-*``: the supernas tuners from ``nni_plugins`` when importable; otherwise the
  supernas ask/tell strategy wrapped by :class:`StrategyTuner` here (reported as "via adapter").
"""
from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

TunerFactory = Callable[[int], Any]

#: supernas tuner name -> (strategy registry name, strategy settings). Defaults are the strategies'.
SUPERNAS_STRATEGIES = {
    "supernas-reinforce": ("enas", {}),
    "supernas-evolution": ("evolution", {}),
    "supernas-random": ("random", {}),
    "supernas-bo": ("bo", {}),
    "supernas-pnas": ("pnas", {}),
}


def _nni_random(seed: int) -> Any:
    from nni.algorithms.hpo.random_tuner import RandomTuner

    return RandomTuner(seed=seed)


def _nni_tpe(seed: int) -> Any:
    from nni.algorithms.hpo.tpe_tuner import TpeTuner

    return TpeTuner(optimize_mode="maximize", seed=seed)


class _SeededEvolution:
    """NNI's EvolutionTuner draws from the global ``random`` and an unseeded ``RandomState``;
    this wrapper seeds both so a seed gives one reproducible run, and otherwise delegates."""

    def __init__(self, seed: int, population_size: int = 20) -> None:
        from nni.algorithms.hpo.evolution_tuner import EvolutionTuner

        self.seed = seed
        self.inner = EvolutionTuner(optimize_mode="maximize", population_size=population_size)

    def update_search_space(self, space: Mapping[str, Any]) -> None:
        random.seed(self.seed)
        np.random.seed(self.seed % 2**32)
        self.inner.update_search_space(space)
        # update_search_space drew the first population from an unseeded RandomState(): redraw
        # it, the same way, from a seeded one
        self.inner.random_state = np.random.RandomState(self.seed % 2**32)
        self.inner.population = []
        for _ in range(self.inner.population_size):
            self.inner._random_generate_individual()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class StrategyTuner:
    """A supernas ask/tell strategy driven through NNI's Tuner calls (fallback adapter)."""

    def __init__(self, strategy_name: str, seed: int, **settings: Any) -> None:
        self.strategy_name, self.seed, self.settings = strategy_name, seed, settings
        self.strategy: Any = None
        self.pending: dict[int, dict[str, Any]] = {}

    def update_search_space(self, space: Mapping[str, Any]) -> None:
        from supernas.space import Decision
        from supernas.strategies import STRATEGIES

        decisions = [Decision(k, "layer", choices=tuple(v["_value"])) for k, v in space.items()]
        self.strategy = STRATEGIES.create(self.strategy_name, space_decisions=decisions,
                                          seed=self.seed, **self.settings)

    def generate_parameters(self, parameter_id: int, **_: Any) -> dict[str, Any]:
        params = self.strategy.suggest(1)[0]
        self.pending[parameter_id] = params
        return dict(params)

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any, **_: Any) -> None:
        reward = value["default"] if isinstance(value, dict) else value
        self.strategy.observe(self.pending.pop(parameter_id, parameters), float(reward))


def plugin_tuner_class(name: str) -> type | None:
    """The ``nni_plugins`` tuner class for ``supernas-<kind>``, or ``None`` if not importable."""
    try:
        module = importlib.import_module("nni_plugins.tuner")
    except ImportError:
        return None
    find = getattr(module, "tuner_for", None)
    return find(SUPERNAS_STRATEGIES[name][0]) if callable(find) else None


def _supernas(name: str) -> TunerFactory:
    def make(seed: int, state_dir: str | None = None) -> Any:
        """``state_dir``: where the plugin tuner persists its state after every event (as under
        ``nnictl``, which sets a checkpoint directory); ``None`` keeps it in memory only."""
        strategy, settings = SUPERNAS_STRATEGIES[name]
        cls = plugin_tuner_class(name)
        if cls is not None:
            return cls(strategy=strategy, seed=seed, state_dir=state_dir, **settings)
        return StrategyTuner(strategy, seed, **settings)

    return make


SEARCHERS: dict[str, TunerFactory] = {
    "nni-random": _nni_random,
    "nni-tpe": _nni_tpe,
    "nni-evolution": lambda seed: _SeededEvolution(seed, population_size=20),
    **{name: _supernas(name) for name in SUPERNAS_STRATEGIES},
}


def interface_of(name: str) -> str:
    """How searcher ``name`` is driven, for the results table."""
    if not name.startswith("supernas-"):
        return "NNI 3.0 built-in tuner"
    if plugin_tuner_class(name) is not None:
        return "nni_plugins tuner"
    return "supernas strategy via benchmark adapter (nni_plugins tuner not available)"
