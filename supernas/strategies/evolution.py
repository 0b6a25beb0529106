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
from dataclasses import dataclass
from typing import Any

from supernas.mutator import sample_uniform
from supernas.settings import boolean, integer, is_number, with_settings
from supernas.space import Choice, Decision
from supernas.strategies.base import Strategy, StrategySettings, register_strategy
from supernas.strategies.dedupe import arch_key, fresh
from supernas.strategies.mutation import mutate_one

Choices = dict[str, Choice]
DUPLICATE_TRIES = 50


@dataclass(frozen=True)
class EvolutionSettings(StrategySettings):
    population_size: int = 20  # NNI's Evolution reference run on NB201 (BENCHMARK-PROTOCOLS.md)
    sample_size: int = 5  # Real et al.'s S/P = 25/100
    dedupe: bool = True  # ours: mutate again rather than repeat a trial

    def validate(self) -> None:
        super().validate()
        integer("population_size", self.population_size, low=1)
        if is_number(self.population_size):
            integer("sample_size", self.sample_size, low=1, high=self.population_size)
        boolean("dedupe", self.dedupe)


@register_strategy("evolution")
@with_settings(EvolutionSettings, leading=("space_decisions",))
class EvolutionStrategy(Strategy):
    """Aging evolution with tournament selection and one-decision mutations."""

    settings: EvolutionSettings

    def __init__(self, space_decisions: Sequence[Decision], **settings: Any) -> None:
        super().__init__(space_decisions, **settings)
        s = self.settings
        self.population_size, self.sample_size, self.dedupe = s.population_size, s.sample_size, s.dedupe

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
