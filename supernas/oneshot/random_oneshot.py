"""Random search with weight sharing (``random``): uniform supernet training, then best of N.

Li & Talwalkar 2019, "Random Search and Reproducibility for Neural Architecture Search",
arXiv 1902.07638, section 4 (RS-WS). Variant implemented: the supernet is trained one uniformly
drawn path per batch (``SinglePathOneShot``); ``select(batches)`` draws ``num_samples`` distinct
architectures within the cost limit (seeded) and keeps the one with the best accuracy on the
held-out ``batches``, after the batch-norm recalibration of SPOS (arXiv 1904.00420). The paper
scores 1,000 architectures on one large minibatch and re-ranks the top 10 on the whole validation
set; with the few held-out batches of a trial, one stage on all of them is used, and the default
``num_samples=50`` fits a small CPU budget.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from supernas.oneshot.base import Batch, register_algorithm
from supernas.oneshot.constraints import Choices, draw_feasible, uniform_drawer
from supernas.oneshot.single_path import SinglePathOneShot, check_count

TRIES_PER_SAMPLE = 20  # uniform draws allowed per wanted architecture (tight limits, tiny spaces)


@register_algorithm("random")
class RandomOneShot(SinglePathOneShot):
    """Uniform single-path training + random search of ``num_samples`` architectures."""

    def __init__(self, space: nn.Module, seed: int = 0, lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 4e-5, lr_schedule: str = "linear", bn_batches: int = 5,
                 max_params: int | None = None, max_macs: int | None = None,
                 input_size: Sequence[int] | None = None, num_samples: int = 50) -> None:
        self.num_samples = check_count("num_samples", num_samples, 1)
        super().__init__(space, seed, lr, momentum, weight_decay, lr_schedule, bn_batches,
                         max_params, max_macs, input_size)

    def search(self, fitness: Callable[[Choices], float], held_out: Sequence[Batch]) -> Choices:
        drawer = uniform_drawer(self.decisions, self.search_rng())
        candidates = draw_feasible(self.limit, drawer, self.num_samples,
                                   self.num_samples * TRIES_PER_SAMPLE)
        scores = [fitness(c) for c in candidates]
        return candidates[max(range(len(scores)), key=scores.__getitem__)]
