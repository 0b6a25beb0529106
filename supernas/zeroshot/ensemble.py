"""Rank-aggregating zero-shot ensembles: ``az-nas`` (the paper's four) and ``ensemble`` (more).

AZ-NAS (Lee & Ham 2024, CVPR, arXiv 2403.19232) scores every candidate with several proxies and
ranks the candidates by ``sum_m log(rank_m / N)`` over the population being compared
(``supernas.zeroshot.aggregate``). Two registered ensembles:

* ``az-nas``: the paper's four, expressivity, progressivity, trainability (``az_nas``) and
  complexity as FLOPs (``macs``);
* ``ensemble``: those four plus NASWOT, Zen-score and SynFlow, chosen before measuring (all the
  label-free proxies here; EPE-NAS is left out because it needs labels, which the SPOS prior does
  not pass, and ``params`` because ``macs`` already stands for size).

Rank aggregation is over a population, so an ensemble has two faces, and the choice is ours:

* the population face, the ensemble's real score: ``components`` (each member's score of one
  network) then ``aggregate`` (log-rank sum within the candidates compared) or ``relative`` (a
  newcomer against a reference population, on the same scale). ``rank``, the ``zero-shot``
  search (over the candidates it drew) and the SPOS prior (over its pool) use this face.
* the single-network face, ``ensemble(network, x, y, seed=...) -> float``, for a caller that
  holds one network and no population (the proxy protocol): ``sum_m asinh(score_m)``, a sign-safe
  log-sum of the members' scores (asinh(s) ~ log 2s for large s) that puts members of different
  magnitudes (log-determinants in the hundreds, MACs in the millions) on comparable log scales
  without constants fitted to any benchmark. It orders networks differently from the population
  face (the benchmark reports both); ``-inf`` in any member makes it ``-inf``.

Members are looked up by name in ``PROXIES`` when scoring; members that share one computation
(the three AZ-NAS statistics, marked with a ``joint`` function) are computed once.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from supernas.zeroshot.aggregate import Components, log_rank_sum, relative_score
from supernas.zeroshot.registry import PROXIES, register_proxy

AZ_NAS = ("az-expressivity", "az-progressivity", "az-trainability", "macs")  # AZ-NAS, section 3
ENSEMBLE = (*AZ_NAS, "naswot", "zen", "synflow")


class Ensemble:
    """Rank aggregation of the ``members`` proxies (module docstring for the two faces)."""

    def __init__(self, members: Sequence[str]) -> None:
        self.members = tuple(members)

    def components(self, network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                   seed: int = 0) -> dict[str, float]:
        """Each member's score of ``network`` on ``x`` (NaN as ``-inf``)."""
        out: dict[str, float] = {}
        for name in self.members:
            if name not in out:
                fn = PROXIES.get(name)
                joint = getattr(fn, "joint", None)
                out.update(joint(network, x, y, seed=seed) if joint else {name: fn(network, x, y, seed=seed)})
        return {m: -math.inf if math.isnan(out[m]) else float(out[m]) for m in self.members}

    def aggregate(self, population: Sequence[Components]) -> list[float]:
        """AZ-NAS's log-rank sum of every member of ``population`` within it."""
        return log_rank_sum(population, self.members)

    def relative(self, reference: Sequence[Components], candidate: Components) -> float:
        """``candidate``'s log-rank sum as if it joined ``reference``."""
        return relative_score(reference, candidate, self.members)

    def cell_score(self, components: Mapping[str, float]) -> float:
        """The single-network face: ``sum_m asinh(score_m)``."""
        return sum(math.asinh(components[m]) for m in self.members)

    def __call__(self, network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                 seed: int = 0) -> float:
        return self.cell_score(self.components(network, x, y, seed=seed))


def is_ensemble(proxy: object) -> bool:
    """Whether ``proxy`` has the population face (``components`` and ``aggregate``)."""
    return isinstance(proxy, Ensemble)


az_nas = register_proxy("az-nas")(Ensemble(AZ_NAS))
ensemble = register_proxy("ensemble")(Ensemble(ENSEMBLE))
