"""Best of N: ``num_samples`` distinct uniform architectures within a cost limit, one population.

The selection of random search with weight sharing (Li & Talwalkar 2019, arXiv 1902.07638,
section 4: score random architectures with the shared weights, keep the best) and of NASWOT's
zero-shot search (Mellor et al. 2021, arXiv 2006.04647, section 5: score N untrained
architectures, keep the best). The N architectures are drawn once, the first ``num_samples``
distinct feasible uniform draws (at most ``TRIES_PER_SAMPLE`` draws per sample; an impossible
limit is refused, a hard one gives the cheapest architecture found), then handed out in order
(``GenerationalStrategy`` with one generation); the best result is ``best()``.
Optional inputs: ``limit`` and ``rng`` (see ``generations``).
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supernas.settings import integer, with_settings
from supernas.space import Choice, Decision
from supernas.strategies.base import StrategySettings, register_strategy
from supernas.strategies.feasible import Limit, draw_feasible, uniform_drawer
from supernas.strategies.generations import GenerationalStrategy

Choices = dict[str, Choice]
TRIES_PER_SAMPLE = 20  # uniform draws allowed per wanted architecture (tight limits, tiny spaces)


@dataclass(frozen=True)
class BestOfNSettings(StrategySettings):
    num_samples: int = 100  # NASWOT's N = 100 (Mellor et al. 2021, section 5)

    def validate(self) -> None:
        super().validate()
        integer("num_samples", self.num_samples, low=1)


@register_strategy("best-of-n")
@with_settings(BestOfNSettings, leading=("space_decisions",), extra={"limit": None, "rng": None})
class BestOfN(GenerationalStrategy):
    """``num_samples`` distinct feasible uniform architectures; the best result wins."""

    settings: BestOfNSettings

    def __init__(self, space_decisions: Sequence[Decision], limit: Limit | None = None,
                 rng: random.Random | None = None, **settings: Any) -> None:
        super().__init__(space_decisions, limit, rng, **settings)

    def generations(self) -> int:
        return 1

    def _generation(self, index: int) -> list[Choices]:
        n = self.settings.num_samples
        return draw_feasible(self.limit, uniform_drawer(self.decisions, self.rng), n, n * TRIES_PER_SAMPLE)
