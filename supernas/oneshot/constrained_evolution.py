"""Evolutionary architecture search under a cost limit, as in Single Path One-Shot.

Guo et al. 2020, "Single Path One-Shot Neural Architecture Search with Uniform Sampling"
(arXiv 1904.00420, section 3.4 and Algorithm 1): a population of architectures that satisfy the
constraint is scored; each iteration keeps the top-k seen so far, makes new candidates by
mutation (every decision of a top-k parent is redrawn with probability ``mutation_prob``) and by
crossover (every decision copied from one of two top-k parents), discards candidates over the
limit or already seen, and tops the population up with random feasible architectures.
``start`` and ``admits`` let a prior (``supernas.oneshot.zero_shot_prior``) give the first
population and the top-ups, and refuse candidates outside the region it trusts.

Defaults are the paper's search settings scaled down for small budgets: the paper uses a
population of 50, 20 iterations, top-10, 25 mutations and 25 crossovers per iteration and
mutation probability 0.1 (1,000 candidates); here 20 / 10 / 5 / 10 / 10 / 0.1 (at most 200).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from supernas.errors import bad_value
from supernas.mutator import sample_uniform
from supernas.oneshot.constraints import Choices, CostLimit, arch_key, draw_feasible, uniform_drawer
from supernas.space import Decision

TRIES_PER_CANDIDATE = 10  # draws allowed per wanted candidate before giving up (tiny spaces)


def _positive(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise bad_value(name, value, f"an integer >= {minimum}")


@dataclass
class EvolutionSettings:
    """Settings of the search; ``validate`` names any bad one."""

    population: int = 20
    iterations: int = 10
    top_k: int = 5
    mutations: int = 10
    crossovers: int = 10
    mutation_prob: float = 0.1

    def validate(self) -> EvolutionSettings:
        _positive("population", self.population)
        _positive("iterations", self.iterations)
        _positive("top_k", self.top_k)
        _positive("mutations", self.mutations, 0)
        _positive("crossovers", self.crossovers, 0)
        if not isinstance(self.mutation_prob, (int, float)) or not 0.0 < self.mutation_prob <= 1.0:
            raise bad_value("mutation_prob", self.mutation_prob, "a number in (0, 1]")
        return self


@dataclass
class Evolution:
    """One search: ``run()`` returns the best architecture; ``history`` holds every evaluation."""

    decisions: Sequence[Decision]
    fitness: Callable[[Choices], float]
    limit: CostLimit
    rng: random.Random
    settings: EvolutionSettings = field(default_factory=EvolutionSettings)
    history: list[tuple[Choices, float]] = field(default_factory=list)
    start: Sequence[Choices] = ()  # warm start: first population and top-up pool (else uniform)
    admits: Callable[[Choices], bool] = lambda choices: True  # a prior's admission test

    def __post_init__(self) -> None:
        self.settings.validate()
        self._scores: dict[str, float] = {}

    def run(self) -> tuple[Choices, float]:
        s = self.settings
        population = [c for c in self.start if self.limit.fits(c)][: s.population] or \
            draw_feasible(self.limit, uniform_drawer(self.decisions, self.rng),
                          s.population, s.population * TRIES_PER_CANDIDATE)
        top: list[tuple[Choices, float]] = []
        for iteration in range(s.iterations):
            self._score_all(population)
            top = sorted(self.history, key=lambda cs: -cs[1])[: s.top_k]
            if iteration == s.iterations - 1:
                break
            population = self._next_population([c for c, _ in top])
            if not population:  # the feasible space is exhausted
                break
        return top[0]

    def _score_all(self, population: Sequence[Choices]) -> None:
        for choices in population:
            key = arch_key(choices)
            if key not in self._scores:
                self._scores[key] = float(self.fitness(choices))
                self.history.append((choices, self._scores[key]))

    def _next_population(self, parents: list[Choices]) -> list[Choices]:
        s = self.settings
        children: dict[str, Choices] = {}
        self._add(children, s.mutations, lambda: self._mutate(self.rng.choice(parents)))
        if len(parents) > 1:
            self._add(children, s.crossovers, lambda: self._crossover(*self.rng.sample(parents, 2)))
        self._add(children, s.population - len(children), self._fresh)
        return list(children.values())

    def _add(self, children: dict[str, Choices], n: int, make: Callable[[], Choices]) -> None:
        """Add up to ``n`` new, unseen, feasible candidates from ``make()``."""
        wanted = len(children) + max(n, 0)
        for _ in range(max(n, 0) * TRIES_PER_CANDIDATE):
            if len(children) >= wanted:
                return
            child = make()
            key = arch_key(child)
            if key not in self._scores and key not in children and self.limit.fits(child) \
                    and self.admits(child):
                children[key] = child

    def _fresh(self) -> Choices:
        """A top-up candidate: from ``start`` when given, else a uniform draw."""
        return dict(self.rng.choice(self.start)) if self.start else sample_uniform(self.decisions, self.rng)

    def _mutate(self, parent: Choices) -> Choices:
        fresh = sample_uniform(self.decisions, self.rng)
        p = self.settings.mutation_prob
        return {k: fresh[k] if self.rng.random() < p else v for k, v in parent.items()}

    def _crossover(self, a: Choices, b: Choices) -> Choices:
        return {k: a[k] if self.rng.random() < 0.5 else b[k] for k in a}
