"""Decision strength: how far a search has moved from its prior.

The mean over decisions of the largest probability of the search's distribution (DARTS:
``softmax(alpha / T)``; ENAS: the controller's marginals; SPOS: the selection population's
frequencies). On NAS-Bench-201 (five ops per edge) 0.2 is uniform; a derived architecture at a
strength near the prior is a draw, not a search result (BENCHMARK-PROTOCOLS.md).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from supernas.space import Choice, Decision


def decision_strength(summary: Mapping[str, Mapping[str, float]]) -> float | None:
    """Mean over decisions of the largest probability; ``None`` for an empty summary."""
    tops = [max(p.values()) for p in summary.values() if p]
    return sum(tops) / len(tops) if tops else None


def population_frequencies(space_decisions: Sequence[Decision], chosen: Sequence[Mapping[str, Choice]]) \
        -> dict[str, dict[str, float]]:
    """Per decision, the share of ``chosen`` architectures taking each option (input decisions:
    the share that includes each candidate input)."""
    out: dict[str, dict[str, float]] = {}
    n = max(len(chosen), 1)
    for d in space_decisions:
        if d.kind == "layer":
            out[d.key] = {c: sum(a[d.key] == c for a in chosen) / n for c in d.choices}
        else:
            out[d.key] = {str(i): sum(i in a[d.key] for a in chosen) / n for i in range(d.n_candidates)}
    return out
