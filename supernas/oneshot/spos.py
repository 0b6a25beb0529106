"""Single Path One-Shot (SPOS): uniform single-path supernet training, then constrained evolution.

Guo et al. 2020, "Single Path One-Shot Neural Architecture Search with Uniform Sampling",
arXiv 1904.00420. Variant implemented: the supernet is trained one uniformly drawn path per batch
(``SinglePathOneShot``); ``select(batches)`` runs the paper's evolutionary search
(``constrained_evolution``) over the trained supernet, scoring each candidate by its accuracy on the
held-out ``batches`` after batch-norm recalibration on the last ``bn_batches`` training batches.
Candidates over ``max_params`` / ``max_macs`` (MACs for one input of ``input_size``) are never
scored or selected; a limit no architecture meets is refused when the algorithm is created.
The paper's channel-number search and its FLOPs-bucketed sampling are not implemented.

Ours, on by default: a zero-shot prior (``prior="naswot"``, ``supernas.oneshot.zero_shot_prior``)
scores ``prior_pool`` uniform architectures untrained on the first held-out batch; the evolution
starts from the best of them and admits only candidates in the best ``prior_keep`` fraction, so
the supernet, whose ranking is weak after a short training, chooses among cells the proxy trusts
(zero-cost warm-up, Abdelfattah et al., ICLR 2021, arXiv 2101.08134). ``prior=None`` is the
paper's search. ``arch_summary`` after selection gives the option frequencies of the best
``top_k`` scored architectures (the selection population).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from supernas.errors import bad_value
from supernas.oneshot.base import Batch, register_algorithm
from supernas.oneshot.constrained_evolution import Evolution, EvolutionSettings
from supernas.oneshot.constraints import Choices
from supernas.oneshot.single_path import SinglePathOneShot
from supernas.oneshot.zero_shot_prior import ZeroShotPrior
from supernas.zeroshot.registry import PROXIES

PRIOR = "naswot"  # the project's best-ranking proxy on NB201 (BENCHMARKS.md zero-shot section)
PRIOR_POOL = 300  # ours: with keep 0.1, 30 admitted cells, 1.5 populations
PRIOR_KEEP = 0.1


@register_algorithm("spos")
class SPOS(SinglePathOneShot):
    """Uniform single-path training + evolutionary search (defaults: ``EvolutionSettings``)."""

    def __init__(self, space: nn.Module, seed: int = 0, lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 4e-5, lr_schedule: str = "linear", bn_batches: int = 5,
                 max_params: int | None = None, max_macs: int | None = None,
                 input_size: Sequence[int] | None = None, population: int = 20,
                 iterations: int = 10, top_k: int = 5, mutations: int = 10, crossovers: int = 10,
                 mutation_prob: float = 0.1, prior: str | None = PRIOR, prior_pool: int = PRIOR_POOL,
                 prior_keep: float = PRIOR_KEEP) -> None:
        self.evolution = EvolutionSettings(population, iterations, top_k, mutations, crossovers,
                                           mutation_prob).validate()
        super().__init__(space, seed, lr, momentum, weight_decay, lr_schedule, bn_batches,
                         max_params, max_macs, input_size)
        if prior is not None and (not isinstance(prior, str) or prior not in PROXIES):
            raise bad_value("prior", prior, "None (no prior) or a zero-shot proxy: "
                            + ", ".join(sorted(PROXIES)))
        self.prior = None if prior is None else \
            ZeroShotPrior(space, self.limit, prior, prior_pool, prior_keep, self.seed)

    def search(self, fitness: Callable[[Choices], float], held_out: Sequence[Batch]) -> Choices:
        if self.prior is None:
            evolution = Evolution(self.decisions, fitness, self.limit, self.search_rng(), self.evolution)
        else:
            self.prior.fit(held_out[0][0], self.evolution.population)  # first held-out inputs
            evolution = Evolution(self.decisions, fitness, self.limit, self.search_rng(),
                                  self.evolution, start=self.prior.ranked(), admits=self.prior.admits)
        best, _ = evolution.run()
        return best

    def summary_top(self) -> int:
        return self.evolution.top_k
