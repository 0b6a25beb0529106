"""Regularised evolution (aging evolution, REA) as an ask/tell strategy.

Real et al. 2019, "Regularized Evolution for Image Classifier Architecture Search",
arXiv 1802.01548, Algorithm 1: the first ``population_size`` architectures are random; after
that each suggestion takes ``sample_size`` members of the population at random, mutates the best of
them in exactly one decision, and the population keeps only the ``population_size`` *most recent*
successful results (aging: the oldest dies, not the worst).

Ask/tell form: the population is the tail of the observed history, so it needs no state beyond
the history and the RNG, and observations of architectures this instance never suggested join it
as well. Failed trials (``None``) never join the population. With ``dedupe=True`` a child that was
already suggested or observed is mutated again (up to 50 tries), then a random architecture is used.

Defaults (source): ``population_size=20`` (the NNI Evolution reference run on NAS-Bench-201 in
``BENCHMARK-PROTOCOLS.md``), ``sample_size=5`` (Real et al. use S/P = 25/100 for their large runs;
the same quarter of the population here).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supernas.errors import bad_value
from supernas.mutator import sample_uniform
from supernas.space import Choice, Decision
from supernas.strategies.base import Strategy, register_strategy
from supernas.strategies.dedupe import arch_key, fresh, mutate_one

Choices = dict[str, Choice]
DUPLICATE_TRIES = 50


@register_strategy("evolution")
class EvolutionStrategy(Strategy):
    """Aging evolution with tournament selection and one-decision mutations."""

    def __init__(self, space_decisions: Sequence[Decision], seed: int = 0,
                 population_size: int = 20, sample_size: int = 5, dedupe: bool = True) -> None:
        super().__init__(space_decisions, seed)
        if not isinstance(population_size, int) or population_size < 1:
            raise bad_value("population_size", population_size, "an integer >= 1")
        if not isinstance(sample_size, int) or not 1 <= sample_size <= population_size:
            raise bad_value("sample_size", sample_size, f"an integer in 1..{population_size} "
                            "(population_size)")
        self.population_size, self.sample_size, self.dedupe = population_size, sample_size, dedupe

    def population(self) -> list[tuple[Choices, float]]:
        """The ``population_size`` most recent successful (architecture, reward) pairs."""
        done: list[tuple[Choices, float]] = []
        for a, r in reversed(self.history):  # from the end: stops after population_size
            if r is not None:
                done.append((a, r))
                if len(done) == self.population_size:
                    break
        return done[::-1]

    def _suggest_one(self) -> Choices:
        seen = self.seen_keys
        random_draw = lambda: sample_uniform(self.decisions, self.rng)
        population = self.population()
        if len(population) < self.population_size:
            choices = self._maybe_fresh(random_draw, seen)
        else:
            parent = max(self.rng.sample(population, self.sample_size), key=lambda ar: ar[1])[0]
            child = lambda: mutate_one(parent, self.decisions, self.rng)
            choices = child()
            if self.dedupe and arch_key(choices) in seen:
                choices = fresh(child, seen, DUPLICATE_TRIES) or self._maybe_fresh(random_draw, seen)
        self._remember(choices)
        return dict(choices)

    def _maybe_fresh(self, draw: Any, seen: set[str]) -> Choices:
        choices = draw()
        if self.dedupe and arch_key(choices) in seen:
            choices = fresh(draw, seen, DUPLICATE_TRIES) or choices
        return choices

    def _observe(self, choices: Choices, reward: float | None) -> None:
        """Nothing beyond the history: the population is read from it."""
