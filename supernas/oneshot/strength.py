"""Decision strength: how far a search has moved from its prior.

The mean over decisions of the largest probability of the search's distribution (DARTS:
``softmax(alpha / T)``; ENAS: the controller's marginals; SPOS: the selection population's
frequencies). On NAS-Bench-201 (five ops per edge) 0.2 is uniform; a derived architecture at a
strength near the prior is a draw, not a search result (BENCHMARK-PROTOCOLS.md).
"""
from __future__ import annotations

from collections.abc import Mapping


def decision_strength(summary: Mapping[str, Mapping[str, float]]) -> float | None:
    """Mean over decisions of the largest probability; ``None`` for an empty summary."""
    tops = [max(p.values()) for p in summary.values() if p]
    return sum(tops) / len(tops) if tops else None
