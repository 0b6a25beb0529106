"""A zero-shot prior for supernet selection: search only where an untrained proxy ranks high.

At short budgets a weight-sharing supernet ranks NB201 cells no better than chance and favours
parameter-free ops (issue measurements: Kendall tau about 0 to -0.2 against the 200-epoch table),
so evolution on supernet accuracy alone drifts to skip/pool/none cells. NASWOT (Mellor et al.
2021, arXiv 2006.04647) ranks NB201 cells at initialisation with tau 0.61 here (BENCHMARKS.md,
zero-shot section). Following the zero-cost warm-up of Abdelfattah et al. (ICLR 2021, "Zero-Cost
Proxies for Lightweight NAS", arXiv 2101.08134, section 5: the initial population of a search is
taken from the best of a larger proxy-ranked pool), ``ZeroShotPrior`` scores a uniform pool of
``pool`` architectures with the proxy on an untrained twin of the supernet, and

* ``ranked()`` gives the admitted pool best first (the evolution's first population and
  top-ups);
* ``admits(choices)`` accepts an architecture whose proxy score is within the best ``keep``
  fraction of the pool (the threshold is the pool's (1 - keep) quantile; at least a population
  is admitted in small spaces), so mutation and
  crossover stay inside the region the proxy trusts and the supernet decides only there.

The twin is a deep copy of the supernet with every parameter and buffer re-initialised (seeded),
so the scores are those of untrained children as in NASWOT, whatever the supernet has learnt.
The pool is scored by the ``best-of-n`` strategy run against the proxy (``run_strategy``, the
search loop of every selection). Scores are cached per architecture. With a rank-aggregating
ensemble (``az-nas``, ``ensemble``; ``supernas.zeroshot.ensemble``) the pool is the population:
a pool member's score is its AZ-NAS log-rank sum within the pool, and an architecture from outside
the pool (a mutation) is scored as if it joined the pool (``Ensemble.relative``), on that scale.
"""
from __future__ import annotations

import copy
import math
import random
from collections.abc import Mapping

import torch
from torch import nn

from supernas.errors import bad_value
from supernas.freeze import freeze
from supernas.oneshot.constraints import Choices, CostLimit
from supernas.space import Choice, decisions
from supernas.strategies.best_of_n import BestOfN
from supernas.strategies.dedupe import arch_key
from supernas.strategies.run import run_strategy
from supernas.zeroshot.ensemble import Ensemble
from supernas.zeroshot.registry import get_proxy


def untrained_twin(space: nn.Module, seed: int) -> nn.Module:
    """A deep copy of ``space`` with every module's parameters re-initialised (seeded)."""
    twin = copy.deepcopy(space)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in twin.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return twin


def check_keep(value: object) -> float:
    """The kept fraction: a number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise bad_value("prior_keep", value, "a number in (0, 1], e.g. 0.1 (the best tenth)")
    return float(value)


class ZeroShotPrior:
    """Proxy scores of untrained children; ``fit`` on one batch, then ``ranked`` / ``admits``."""

    def __init__(self, space: nn.Module, limit: CostLimit, proxy: str = "naswot", pool: int = 300,
                 keep: float = 0.1, seed: int = 0) -> None:
        self.space, self.limit, self.seed = space, limit, seed
        self.proxy = get_proxy(proxy)
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
            raise bad_value("prior_pool", pool, "an integer >= 1")
        self.pool, self.keep = pool, check_keep(keep)
        self.scores: dict[str, float] = {}
        self.components: dict[str, dict[str, float]] = {}  # an ensemble's member scores
        self.threshold = -math.inf
        self._twin: nn.Module | None = None
        self._x: torch.Tensor | None = None
        self._pool: list[Choices] = []

    def fit(self, x: torch.Tensor, at_least: int = 1) -> ZeroShotPrior:
        """Score the pool on inputs ``x`` ([N, ...]); the threshold admits the best ``keep``
        fraction of the pool, and at least ``at_least`` of its members (small spaces)."""
        self._twin, self._x = untrained_twin(self.space, self.seed), x
        self._pool = []
        if isinstance(self.proxy, Ensemble):
            self.scores = {}  # relative to the pool, which is drawn again
        pool = BestOfN(decisions(self.space), limit=self.limit, rng=random.Random(f"{self.seed}-prior"),
                       seed=self.seed, num_samples=self.pool)
        run_strategy(pool, self.score)
        self._pool = [a for a, _ in pool.history]
        if isinstance(self.proxy, Ensemble):
            self._rank_pool(self.proxy)
        ordered = sorted((self.score(c) for c in self._pool), reverse=True)
        admitted = max(math.ceil(self.keep * len(ordered)), at_least)
        self.threshold = ordered[min(admitted, len(ordered)) - 1]
        return self

    def score(self, choices: Mapping[str, Choice]) -> float:
        """The proxy's score of the untrained child ``choices`` (cached)."""
        key = arch_key(choices)
        if key not in self.scores:
            if self._twin is None or self._x is None:
                raise RuntimeError("ZeroShotPrior.score called before fit()")
            child = freeze(self._twin, dict(choices))
            if isinstance(self.proxy, Ensemble):
                self.scores[key] = self._ensemble_score(self.proxy, key, child)
            else:
                value = self.proxy(child, self._x, seed=self.seed)
                self.scores[key] = -math.inf if math.isnan(value) else float(value)
        return self.scores[key]

    def _ensemble_score(self, ensemble: Ensemble, key: str, child: nn.Module) -> float:
        """Before the pool is ranked: the single-network face; after: relative to the pool."""
        assert self._x is not None
        comps = self.components[key] = ensemble.components(child, self._x, seed=self.seed)
        if not self._pool:
            return ensemble.cell_score(comps)
        return ensemble.relative([self.components[arch_key(c)] for c in self._pool], comps)

    def _rank_pool(self, ensemble: Ensemble) -> None:
        """Every pool member's score becomes its log-rank sum within the pool."""
        keys = [arch_key(c) for c in self._pool]
        for key, value in zip(keys, ensemble.aggregate([self.components[k] for k in keys])):
            self.scores[key] = value

    def ranked(self) -> list[Choices]:
        """The admitted part of the pool, best proxy score first."""
        return sorted((c for c in self._pool if self.admits(c)), key=lambda c: -self.score(c))

    def admits(self, choices: Mapping[str, Choice]) -> bool:
        """Whether ``choices`` scores within the best ``keep`` fraction of the pool."""
        return self.score(choices) >= self.threshold
