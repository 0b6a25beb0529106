"""Strategies that propose whole generations: a queue that is refilled when it runs dry.

The one-shot selections score a population, then make the next one from the results (SPOS's
evolution, Guo et al. 2020, arXiv 1904.00420, Algorithm 1; best of N, one population). In ask/tell
form the population is a queue: ``suggest`` takes from it, and when it is empty the subclass's
``_generation(index)`` makes the next one from what has been observed so far. Driven one result
at a time (``supernas.strategies.run.run_strategy``) this is the generational algorithm itself:
every member of a generation is scored before the next is made, and the random numbers are drawn
in the same order. Members already suggested or observed are dropped from a new generation.

``finished()`` is true once ``generations()`` generations have been handed out, or as soon as one
comes back empty (the feasible space is used up). A platform that asks for more gets further
generations and, when one is empty, a uniform draw within the limit (which may repeat).

Inputs beside the settings: ``limit`` (``supernas.strategies.feasible.Limit``; ``None``: no
limit) and ``rng`` (a caller's ``random.Random``, e.g. one derived from a one-shot algorithm's
seed; default ``random.Random(seed)``). The queue and the generation count are in ``state_dict``.
"""
from __future__ import annotations

import random
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from supernas.space import Choice, Decision
from supernas.strategies.base import Strategy
from supernas.strategies.dedupe import arch_key
from supernas.strategies.feasible import Limit, draw_feasible, uniform_drawer

Choices = dict[str, Choice]
FALLBACK_TRIES = 100  # uniform draws for one architecture within the limit, after an empty generation


class GenerationalStrategy(Strategy):
    """Hands out generations made by ``_generation``; subclasses set ``generations()``."""

    def __init__(self, space_decisions: Sequence[Decision], limit: Limit | None = None,
                 rng: random.Random | None = None, **settings: Any) -> None:
        super().__init__(space_decisions, **settings)
        if rng is not None:
            self.rng = rng
        self.limit = limit
        self.queue: list[Choices] = []  # the current generation's members not yet suggested
        self.generation = 0  # generations made so far
        self.exhausted = False  # the last generation came back empty

    @abstractmethod
    def generations(self) -> int:
        """How many generations the search makes before ``finished()``."""

    @abstractmethod
    def _generation(self, index: int) -> list[Choices]:
        """Generation ``index`` (0: the first), made from the results observed so far."""

    def finished(self) -> bool:
        if not self.queue and not self.exhausted and self.generation < self.generations():
            self._refill()
        return not self.queue

    def _refill(self) -> None:
        self.queue = _new(self._generation(self.generation), self.seen_keys)
        self.generation += 1
        self.exhausted = not self.queue

    def _suggest_one(self) -> Choices:
        if not self.queue:
            self._refill()
        choices = self.queue.pop(0) if self.queue else self._any()
        self._remember(choices)
        return dict(choices)

    def _any(self) -> Choices:
        """A uniform architecture within the limit (the feasible space is used up: may repeat)."""
        draw = uniform_drawer(self.decisions, self.rng)
        return draw_feasible(self.limit, draw, 1, FALLBACK_TRIES)[0]

    def _observe(self, choices: Choices, reward: float | None) -> None:
        """Nothing beyond the history: the next generation is made from it."""

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "queue": [dict(c) for c in self.queue],
                "generation": self.generation, "exhausted": self.exhausted}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.queue = [dict(c) for c in state.get("queue", [])]
        self.generation = int(state.get("generation", 0))
        self.exhausted = bool(state.get("exhausted", False))


def _new(members: Iterable[Choices], seen: set[str]) -> list[Choices]:
    """``members`` without repeats and without architectures in ``seen``, in order."""
    out: dict[str, Choices] = {}
    for choices in members:
        key = arch_key(choices)
        if key not in seen and key not in out:
            out[key] = dict(choices)
    return list(out.values())
