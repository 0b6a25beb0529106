"""Evolutionary search under a cost limit, as in Single Path One-Shot, as an ask/tell strategy.

Guo et al. 2020, "Single Path One-Shot Neural Architecture Search with Uniform Sampling"
(arXiv 1904.00420, section 3.4 and Algorithm 1): a population of architectures that satisfy the
constraint is scored; each iteration keeps the top-k scored so far, makes new candidates by
mutation (every decision of a top-k parent is redrawn with probability ``mutation_prob``,
``mutation.mutate_each``) and by crossover (every decision copied from one of two top-k parents,
``mutation.crossover``), discards candidates over the limit or already seen, and tops the
population up with random feasible architectures. ``iterations`` populations are scored in all.
Generations are handed out by ``GenerationalStrategy`` (the next one is made when the current
one has been suggested); the best result is ``best()``.

Optional inputs beside the settings: ``limit`` (a ``supernas.strategies.feasible.Limit``, e.g.
``supernas.oneshot.constraints.CostLimit``), ``rng`` (see ``generations``), and, for a prior
(``supernas.oneshot.zero_shot_prior``), ``start`` (the first population, best first, and the
pool of top-ups) and ``admits`` (candidates it refuses are never proposed).

Defaults are the paper's search settings scaled down for small budgets: the paper uses a
population of 50, 20 iterations, top-10, 25 mutations and 25 crossovers per iteration and
mutation probability 0.1 (1,000 candidates); here 20 / 10 / 5 / 10 / 10 / 0.1 (at most 200).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from supernas.mutator import sample_uniform
from supernas.settings import integer, number, with_settings
from supernas.space import Choice, Decision
from supernas.strategies.base import StrategySettings, register_strategy
from supernas.strategies.dedupe import arch_key
from supernas.strategies.feasible import Limit, draw_feasible, fits, uniform_drawer
from supernas.strategies.generations import GenerationalStrategy
from supernas.strategies.mutation import crossover, mutate_each

Choices = dict[str, Choice]
TRIES_PER_CANDIDATE = 10  # draws allowed per wanted candidate before giving up (tiny spaces)


@dataclass(frozen=True)
class ConstrainedEvolutionSettings(StrategySettings):
    """The paper's search settings, scaled down (module docstring)."""

    population: int = 20  # paper: 50
    iterations: int = 10  # paper: 20
    top_k: int = 5  # paper: 10
    mutations: int = 10  # paper: 25
    crossovers: int = 10  # paper: 25
    mutation_prob: float = 0.1  # paper: 0.1

    def validate(self) -> None:
        super().validate()
        for name in ("population", "iterations", "top_k"):
            integer(name, getattr(self, name), low=1)
        integer("mutations", self.mutations, low=0)
        integer("crossovers", self.crossovers, low=0)
        number("mutation_prob", self.mutation_prob, low=0.0, high=1.0, low_open=True)


@register_strategy("constrained-evolution")
@with_settings(ConstrainedEvolutionSettings, leading=("space_decisions",),
               extra={"limit": None, "start": (), "admits": None, "rng": None})
class ConstrainedEvolution(GenerationalStrategy):
    """SPOS's evolution: top-k parents, mutation and crossover, feasible top-ups."""

    settings: ConstrainedEvolutionSettings

    def __init__(self, space_decisions: Sequence[Decision], limit: Limit | None = None,
                 start: Sequence[Mapping[str, Choice]] = (),
                 admits: Callable[[Choices], bool] | None = None,
                 rng: random.Random | None = None, **settings: Any) -> None:
        super().__init__(space_decisions, limit, rng, **settings)
        self.start = [dict(c) for c in start]
        self.admits: Callable[[Choices], bool] = admits or (lambda choices: True)

    def generations(self) -> int:
        return self.settings.iterations

    def top(self) -> list[tuple[Choices, float]]:
        """The ``top_k`` best results so far, best first (the first of equal rewards first)."""
        done = [(a, r) for a, r in self.history if r is not None]
        return sorted(done, key=lambda ar: -ar[1])[: self.settings.top_k]

    def _generation(self, index: int) -> list[Choices]:
        return self._first() if index == 0 else self._children([a for a, _ in self.top()])

    def _first(self) -> list[Choices]:
        """``start``'s feasible members (at most a population), else uniform feasible draws."""
        n = self.settings.population
        return [c for c in self.start if fits(self.limit, c)][:n] or \
            draw_feasible(self.limit, uniform_drawer(self.decisions, self.rng), n, n * TRIES_PER_CANDIDATE)

    def _children(self, parents: list[Choices]) -> list[Choices]:
        s, rng = self.settings, self.rng
        children: dict[str, Choices] = {}
        if parents:
            self._add(children, s.mutations,
                      lambda: mutate_each(rng.choice(parents), self.decisions, rng, s.mutation_prob))
        if len(parents) > 1:
            self._add(children, s.crossovers, lambda: self._cross(parents))
        self._add(children, s.population - len(children), self._top_up)
        return list(children.values())

    def _cross(self, parents: list[Choices]) -> Choices:
        a, b = self.rng.sample(parents, 2)
        return crossover(a, b, self.rng)

    def _add(self, children: dict[str, Choices], n: int, make: Callable[[], Choices]) -> None:
        """Add up to ``n`` new, unseen, feasible, admitted candidates from ``make()``."""
        wanted = len(children) + max(n, 0)
        for _ in range(max(n, 0) * TRIES_PER_CANDIDATE):
            if len(children) >= wanted:
                return
            child = make()
            key = arch_key(child)
            if key not in self.seen_keys and key not in children and fits(self.limit, child) \
                    and self.admits(child):
                children[key] = child

    def _top_up(self) -> Choices:
        """A top-up candidate: from ``start`` when given, else a uniform draw."""
        return dict(self.rng.choice(self.start)) if self.start else sample_uniform(self.decisions, self.rng)
