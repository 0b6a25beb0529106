"""Random search with weight sharing (``random``): uniform supernet training, then best of N.

Li & Talwalkar 2019, "Random Search and Reproducibility for Neural Architecture Search",
arXiv 1902.07638, section 4 (RS-WS). Variant implemented: the supernet is trained one uniformly
drawn path per batch (``SinglePathOneShot``); ``select(batches)`` runs the ``best-of-n`` strategy
(``supernas.strategies.best_of_n``: ``num_samples`` distinct architectures within the cost limit,
seeded) and keeps the one with the best accuracy on the held-out ``batches`` (the first of equal
ones), after the batch-norm recalibration of SPOS (arXiv 1904.00420). The paper
scores 1,000 architectures on one large minibatch and re-ranks the top 10 on the whole validation
set; with the few held-out batches of a trial, one stage on all of them is used, and the default
``num_samples=50`` fits a small CPU budget.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from supernas.oneshot.base import Batch, register_algorithm
from supernas.oneshot.constraints import Choices
from supernas.oneshot.single_path import SinglePathOneShot, SinglePathSettings
from supernas.settings import integer, with_settings
from supernas.strategies.best_of_n import BestOfN


@dataclass(frozen=True)
class RandomOneShotSettings(SinglePathSettings):
    """Single-path training settings and the number of architectures scored."""

    num_samples: int = 50  # ours: fits a small CPU budget (Li & Talwalkar score 1,000)

    def validate(self) -> None:
        super().validate()
        integer("num_samples", self.num_samples, low=1)


@register_algorithm("random")
@with_settings(RandomOneShotSettings)
class RandomOneShot(SinglePathOneShot):
    """Uniform single-path training + random search of ``num_samples`` architectures."""

    settings: RandomOneShotSettings

    def __init__(self, space: nn.Module, **settings: Any) -> None:
        super().__init__(space, **settings)
        self.num_samples = self.settings.num_samples

    def search(self, fitness: Callable[[Choices], float], held_out: Sequence[Batch]) -> Choices:
        strategy = BestOfN(self.decisions, limit=self.limit, rng=self.search_rng(), seed=self.seed,
                           num_samples=self.num_samples)
        return self.run_selection(strategy, fitness)
