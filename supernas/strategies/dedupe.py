"""Helpers shared by every search: the canonical architecture key and "first new draw" loops.

``arch_key`` is the one key of the repository (duplicate checks, cost and score caches); the
mutation operators live in ``supernas.strategies.mutation``.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from supernas.space import Choice

Choices = dict[str, Choice]


def arch_key(choices: Mapping[str, Choice]) -> str:
    """A canonical string for an architecture (for "already evaluated" sets)."""
    return json.dumps(dict(choices), sort_keys=True)


def fresh_batched(draw_batch: Callable[[int], list[Choices]], seen: set[str],
                  sizes: Sequence[int]) -> Choices | None:
    """The first draw not in ``seen`` over batches of ``sizes[0]``, ``sizes[1]``, ... draws
    (``draw_batch(n)`` returns ``n`` draws), or ``None``. Deterministic when ``draw_batch`` is:
    each batch consumes the same random numbers whichever of its rows is taken."""
    for n in sizes:
        for cand in draw_batch(n):
            if arch_key(cand) not in seen:
                return cand
    return None


def fresh(draw: Callable[[], Choices], seen: set[str], tries: int) -> Choices | None:
    """The first of up to ``tries`` draws not in ``seen``, or ``None``."""
    for _ in range(tries):
        cand = draw()
        if arch_key(cand) not in seen:
            return cand
    return None
