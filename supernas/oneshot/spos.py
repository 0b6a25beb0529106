"""Single Path One-Shot (SPOS): uniform single-path supernet training, then constrained evolution.

Guo et al. 2020, "Single Path One-Shot Neural Architecture Search with Uniform Sampling",
arXiv 1904.00420. Variant implemented: the supernet is trained one uniformly drawn path per batch
(``SinglePathOneShot``); ``select(batches)`` runs the paper's evolutionary search (the
``constrained-evolution`` strategy, ``supernas.strategies.constrained_evolution``, driven by
``run_strategy``) over the trained supernet, scoring each candidate by its accuracy on the
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
from dataclasses import dataclass
from typing import Any

from torch import nn

from supernas.errors import bad_value
from supernas.oneshot.base import Batch, register_algorithm
from supernas.oneshot.constraints import Choices
from supernas.oneshot.single_path import SinglePathOneShot, SinglePathSettings
from supernas.oneshot.zero_shot_prior import ZeroShotPrior, check_keep
from supernas.settings import integer, number, with_settings
from supernas.strategies.constrained_evolution import ConstrainedEvolution, ConstrainedEvolutionSettings
from supernas.zeroshot.registry import PROXIES

PRIOR = "naswot"  # the project's best-ranking proxy on NB201 (BENCHMARKS.md zero-shot section)
PRIOR_POOL = 300  # ours: with keep 0.1, 30 admitted cells, 1.5 populations
PRIOR_KEEP = 0.1


@dataclass(frozen=True)
class SposSettings(SinglePathSettings):
    """Single-path training, the evolution (``ConstrainedEvolutionSettings``'s defaults and
    sources) and the zero-shot prior."""

    population: int = ConstrainedEvolutionSettings.population
    iterations: int = ConstrainedEvolutionSettings.iterations
    top_k: int = ConstrainedEvolutionSettings.top_k
    mutations: int = ConstrainedEvolutionSettings.mutations
    crossovers: int = ConstrainedEvolutionSettings.crossovers
    mutation_prob: float = ConstrainedEvolutionSettings.mutation_prob
    prior: str | None = PRIOR  # module docstring; None: the paper's search
    prior_pool: int = PRIOR_POOL
    prior_keep: float = PRIOR_KEEP

    def validate(self) -> None:
        super().validate()
        number("mutation_prob", self.mutation_prob, low=0.0, high=1.0, low_open=True)
        ConstrainedEvolutionSettings(**self.evolution())
        if self.prior is not None and (not isinstance(self.prior, str) or self.prior not in PROXIES):
            raise bad_value("prior", self.prior, "None (no prior) or a zero-shot proxy: "
                            + ", ".join(sorted(PROXIES)))
        integer("prior_pool", self.prior_pool, low=1)
        check_keep(self.prior_keep)

    def evolution(self) -> dict[str, Any]:
        """The settings of the ``constrained-evolution`` strategy."""
        return {name: getattr(self, name) for name in ConstrainedEvolutionSettings.names() if name != "seed"}


@register_algorithm("spos")
@with_settings(SposSettings)
class SPOS(SinglePathOneShot):
    """Uniform single-path training + evolutionary search (``constrained-evolution``)."""

    settings: SposSettings

    def __init__(self, space: nn.Module, **settings: Any) -> None:
        super().__init__(space, **settings)
        s = self.settings
        self.prior = None if s.prior is None else \
            ZeroShotPrior(space, self.limit, s.prior, s.prior_pool, s.prior_keep, self.seed)

    def search(self, fitness: Callable[[Choices], float], held_out: Sequence[Batch]) -> Choices:
        start: list[Choices] = []
        if self.prior is not None:
            self.prior.fit(held_out[0][0], self.settings.population)  # first held-out inputs
            start = self.prior.ranked()
        strategy = ConstrainedEvolution(self.decisions, limit=self.limit, start=start,
                                        admits=None if self.prior is None else self.prior.admits,
                                        rng=self.search_rng(), seed=self.seed, **self.settings.evolution())
        return self.run_selection(strategy, fitness)

    def summary_top(self) -> int:
        return self.settings.top_k
