"""Helpers shared by ask/tell strategies: canonical keys and one-decision mutations."""
from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence

from supernas.space import Choice, Decision

Choices = dict[str, Choice]


def arch_key(choices: Mapping[str, Choice]) -> str:
    """A canonical string for an architecture (for "already evaluated" sets)."""
    return json.dumps(choices, sort_keys=True)


def mutate_one(choices: Mapping[str, Choice], space_decisions: Sequence[Decision],
               rng: random.Random) -> Choices:
    """Change exactly one decision (drawn uniformly) to a different allowed value.

    Decisions with a single option are never drawn; if every decision has one option the
    architecture is returned unchanged.
    """
    free = [d for d in space_decisions if d.size() > 1]
    out = dict(choices)
    if not free:
        return out
    d = rng.choice(free)
    others = [o for o in d.options() if o != out[d.key]]
    out[d.key] = rng.choice(others)
    return out


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
