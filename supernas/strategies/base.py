"""Ask/tell strategies for multi-trial platforms (NNI tuners, Katib suggestion services).

Call order (documented contract, as in optuna's samplers and vizier's designers):

1. ``Strategy(space_decisions, seed=..., **settings)``; the keyword arguments become the
   strategy's frozen settings dataclass (``settings_class``, ``supernas.settings``), validated
   once, before anything else.
2. Any interleaving of ``suggest(n)`` (returns ``n`` architectures as choice mappings) and
   ``observe(choices, reward)`` (``reward=None`` means the trial failed). An observed
   architecture need not have been suggested by this instance (history import).
3. ``state_dict()`` at any time returns JSON-serialisable state; ``load_state_dict`` restores it,
   after which the instance behaves exactly as the one that produced the state.
4. ``finished()``, between a result and the next ``suggest``: whether a search with its own end
   (one-shot selection: SPOS's generations, best of N) has proposed everything it means to. The
   multi-trial strategies never finish; ``suggest`` keeps answering after ``finished()`` (a
   platform asks for as many trials as it was told to run). ``supernas.strategies.run`` drives a
   strategy against a fitness function until it finishes or a budget is spent.

Per-call cost does not grow with the history: the canonical keys of every suggested and observed
architecture (the duplicate check) and the best result are kept up to date incrementally and
rebuilt by ``load_state_dict``, never recomputed from the whole history on a call.

Replaying the same sequence of calls on a fresh instance with the same seed rebuilds the same
state, which is how platforms that only keep the trial history (NNI resume) recover a strategy.
"""
from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from supernas.architecture import validate
from supernas.errors import bad_value
from supernas.registry import Registry
from supernas.settings import Settings, check_seed
from supernas.space import Choice, Decision
from supernas.strategies.dedupe import arch_key

Choices = dict[str, Choice]


@dataclass(frozen=True)
class StrategySettings(Settings):
    """Settings every strategy has; each strategy's own dataclass extends it."""

    seed: int = 0

    def validate(self) -> None:
        check_seed("seed", self.seed)


class Strategy(ABC):
    """Base class of ask/tell strategies. Subclasses implement ``_suggest_one`` and ``_observe``
    and set ``settings_class`` (``@with_settings``); ``__init__`` builds ``self.settings``."""

    settings_class: type[StrategySettings] = StrategySettings

    def __init__(self, space_decisions: Sequence[Decision], **settings: Any) -> None:
        self.settings = self.settings_class.build(settings)
        if not space_decisions:
            raise bad_value("space", "[]", "a space with at least one decision")
        self.decisions = list(space_decisions)
        seed = self.seed = self.settings.seed
        self.rng = random.Random(seed)
        self.history: list[tuple[Choices, float | None]] = []
        self.seen_keys: set[str] = set()  # arch_key of every suggested or observed architecture
        self.suggested: list[Choices] = []  # every suggestion, in order (kept in state_dict)
        self._best: tuple[Choices, float] | None = None

    def suggest(self, n: int = 1) -> list[Choices]:
        """Return ``n`` architectures to evaluate next."""
        if n < 0:
            raise bad_value("n", n, "an integer >= 0")
        return [self._suggest_one() for _ in range(n)]

    def observe(self, choices: Mapping[str, Choice], reward: float | None) -> None:
        """Record the result of ``choices``; ``None`` (or NaN, +-inf) is a failed trial."""
        arch = validate(choices, self.decisions)
        if reward is not None and not math.isfinite(reward):  # NaN or +-inf: a failure
            reward = None
        self.history.append((arch, reward))
        self.seen_keys.add(arch_key(arch))
        if reward is not None and (self._best is None or reward > self._best[1]):
            self._best = (arch, reward)  # strict: the first of equal rewards stays, as max() does
        self._observe(arch, reward)

    def _remember(self, choices: Choices) -> None:
        """Record ``choices`` as suggested (and for the duplicate check); subclasses call it."""
        self.suggested.append(choices)
        self.seen_keys.add(arch_key(choices))

    @abstractmethod
    def _suggest_one(self) -> Choices:
        """One architecture."""

    @abstractmethod
    def _observe(self, choices: Choices, reward: float | None) -> None:
        """Update internal state with a validated result."""

    def finished(self) -> bool:
        """Whether the search has proposed everything it means to (never, by default)."""
        return False

    def best(self) -> tuple[Choices, float] | None:
        """The best observed (architecture, reward), or ``None`` before any success."""
        return self._best

    def state_dict(self) -> dict[str, Any]:
        # shallow copies: the items are never changed in place (suggest returns copies), and
        # copying 10,000 suggestions per saved event cost milliseconds (issue 13)
        return {"seed": self.seed, "rng": _rng_to_json(self.rng), "history": list(self.history),
                "suggested": list(self.suggested)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.seed = state["seed"]
        self.rng.setstate(_rng_from_json(state["rng"]))
        self.history = [(dict(a), r) for a, r in state["history"]]
        done = [(a, r) for a, r in self.history if r is not None]
        self._best = max(done, key=lambda ar: ar[1]) if done else None
        self.suggested = [dict(a) for a in state.get("suggested", [])]
        # the duplicate-check keys of everything observed or suggested
        self.seen_keys = {arch_key(a) for a, _ in self.history} | {arch_key(a) for a in self.suggested}


def _rng_to_json(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from_json(state: Sequence[Any]) -> tuple[Any, ...]:
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


STRATEGIES: Registry[Strategy] = Registry("strategy")
register_strategy = STRATEGIES.register
