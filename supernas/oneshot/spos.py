"""Single Path One-Shot (SPOS): uniform single-path supernet training, then constrained evolution.

Guo et al. 2020, "Single Path One-Shot Neural Architecture Search with Uniform Sampling",
arXiv 1904.00420. Variant implemented: the supernet is trained one uniformly drawn path per batch
(``SinglePathOneShot``); ``select(batches)`` runs the paper's evolutionary search
(``constrained_evolution``) over the trained supernet, scoring each candidate by its accuracy on the
held-out ``batches`` after batch-norm recalibration on the last ``bn_batches`` training batches.
Candidates over ``max_params`` / ``max_macs`` (MACs for one input of ``input_size``) are never
scored or selected; a limit no architecture meets is refused when the algorithm is created.
The paper's channel-number search and its FLOPs-bucketed sampling are not implemented.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from supernas.oneshot.base import register_algorithm
from supernas.oneshot.constrained_evolution import Evolution, EvolutionSettings
from supernas.oneshot.constraints import Choices
from supernas.oneshot.single_path import SinglePathOneShot


@register_algorithm("spos")
class SPOS(SinglePathOneShot):
    """Uniform single-path training + evolutionary search (defaults: ``EvolutionSettings``)."""

    def __init__(self, space: nn.Module, seed: int = 0, lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 4e-5, lr_schedule: str = "linear", bn_batches: int = 5,
                 max_params: int | None = None, max_macs: int | None = None,
                 input_size: Sequence[int] | None = None, population: int = 20,
                 iterations: int = 10, top_k: int = 5, mutations: int = 10, crossovers: int = 10,
                 mutation_prob: float = 0.1) -> None:
        self.evolution = EvolutionSettings(population, iterations, top_k, mutations, crossovers,
                                           mutation_prob).validate()
        super().__init__(space, seed, lr, momentum, weight_decay, lr_schedule, bn_batches,
                         max_params, max_macs, input_size)

    def search(self, fitness: Callable[[Choices], float]) -> Choices:
        evolution = Evolution(self.decisions, fitness, self.limit, self.search_rng(), self.evolution)
        best, _ = evolution.run()
        return best
