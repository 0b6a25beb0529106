"""Random search: uniform architectures, optionally never repeating one.

The multi-trial baseline of Li & Talwalkar 2019 (arXiv 1902.07638) and of NAS-Bench-201
(arXiv 2001.00326, "RS"). Input choices are uniform over their allowed subsets
(``supernas.mutator.sample_uniform``). ``dedupe=True`` (default) redraws an architecture that was
already suggested or observed, up to 100 times (then repeats are allowed: tiny spaces).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supernas.mutator import sample_uniform
from supernas.settings import boolean, with_settings
from supernas.space import Choice, Decision
from supernas.strategies.base import Strategy, StrategySettings, register_strategy
from supernas.strategies.dedupe import arch_key, fresh

Choices = dict[str, Choice]
DUPLICATE_TRIES = 100


@dataclass(frozen=True)
class RandomSettings(StrategySettings):
    dedupe: bool = True  # ours: a repeated trial tells nothing on a deterministic benchmark

    def validate(self) -> None:
        super().validate()
        boolean("dedupe", self.dedupe)


@register_strategy("random")
@with_settings(RandomSettings, leading=("space_decisions",))
class RandomStrategy(Strategy):
    """Uniform random architectures; ``observe`` only records the history."""

    settings: RandomSettings

    def __init__(self, space_decisions: Sequence[Decision], **settings: Any) -> None:
        super().__init__(space_decisions, **settings)
        self.dedupe = self.settings.dedupe

    def _suggest_one(self) -> Choices:
        draw = lambda: sample_uniform(self.decisions, self.rng)
        choices = draw()
        if self.dedupe and arch_key(choices) in self.seen_keys:
            choices = fresh(draw, self.seen_keys, DUPLICATE_TRIES) or choices
        self._remember(choices)
        return dict(choices)

    def _observe(self, choices: Choices, reward: float | None) -> None:
        """Random search learns nothing from results."""
