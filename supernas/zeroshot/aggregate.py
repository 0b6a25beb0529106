"""AZ-NAS's non-linear rank aggregation of several proxies over a population of networks.

Lee & Ham 2024, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search", CVPR,
arXiv 2403.19232, section 3.5: with rank_m(i) the ascending rank of network i among the N
networks by proxy m (1 = lowest score, N = highest), network i scores

    sum_m log(rank_m(i) / N)

so a network ranked low by any one proxy is pulled down hard (log of a small fraction), and only
networks ranked high by every proxy score near 0, the maximum. Ties take their average rank
(``scipy.stats.rankdata``'s default, as in the official search code); ``-inf`` and NaN scores
rank below every finite score (and tie with each other). Pure numpy.

``relative_score`` places one candidate among a reference population without changing it: its
rank among the N + 1 is 1 + (reference scores below it) + (ties) / 2. For a member i of a
population, ``relative_score`` against the other N - 1 gives exactly ``log_rank_sum``'s value
for i, so a pool's aggregate and a newcomer's score are on one scale.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

Components = Mapping[str, float]


def _column(population: Sequence[Components], name: str) -> np.ndarray:
    values = np.array([float(c[name]) for c in population], dtype=np.float64)  # [N]
    return np.where(np.isnan(values), -np.inf, values)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ascending ranks 1..N of ``values`` ([N]), ties averaged; -inf lowest."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1  # average of ranks start+1 .. end+1
        start = end + 1
    return ranks


def log_rank_sum(population: Sequence[Components], names: Sequence[str]) -> list[float]:
    """AZ-NAS's aggregate ``sum_m log(rank_m / N)`` of each member of ``population``."""
    n = len(population)
    if n == 0:
        return []
    total = np.zeros(n, dtype=np.float64)
    for name in names:
        total += np.log(average_ranks(_column(population, name)) / n)
    return [float(v) for v in total]


def relative_score(reference: Sequence[Components], candidate: Components,
                   names: Sequence[str]) -> float:
    """``candidate``'s aggregate as if it joined ``reference`` (module docstring)."""
    n = len(reference) + 1
    total = 0.0
    for name in names:
        column = _column(reference, name)
        value = -math.inf if math.isnan(float(candidate[name])) else float(candidate[name])
        below, ties = int(np.sum(column < value)), int(np.sum(column == value))
        total += math.log((1 + below + ties / 2) / n)
    return total
