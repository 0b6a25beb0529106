"""Variation operators of the evolutionary strategies: one module for every mutation and crossover.

* ``mutate_one``: exactly one decision changes to a different value (regularised evolution, Real
  et al. 2019, arXiv 1802.01548, whose mutations change one op or one input; also the ENAS
  strategy's fallback for duplicates and its local search around the incumbent).
* ``mutate_each``: every decision is redrawn uniformly with probability ``p`` (Single Path
  One-Shot's evolution, Guo et al. 2020, arXiv 1904.00420, Algorithm 1, mutation probability 0.1).
* ``crossover``: every decision copied from one of two parents with probability 1/2 (SPOS,
  Algorithm 1, uniform crossover).

Each draws from the ``rng`` it is given, in a fixed order, so a seeded search repeats exactly.
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from supernas.mutator import sample_uniform
from supernas.space import Choice, Decision

Choices = dict[str, Choice]


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


def mutate_each(parent: Mapping[str, Choice], space_decisions: Sequence[Decision],
                rng: random.Random, p: float) -> Choices:
    """Redraw every decision of ``parent`` uniformly with probability ``p`` (a redraw may give
    the same value). One uniform architecture is drawn first, then one ``rng.random()`` per
    decision in ``parent``'s order."""
    fresh = sample_uniform(space_decisions, rng)
    return {k: fresh[k] if rng.random() < p else v for k, v in parent.items()}


def crossover(a: Mapping[str, Choice], b: Mapping[str, Choice], rng: random.Random) -> Choices:
    """Every decision from ``a`` or ``b`` with probability 1/2 (one ``rng.random()`` each, in
    ``a``'s order)."""
    return {k: a[k] if rng.random() < 0.5 else b[k] for k in a}
