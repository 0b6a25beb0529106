"""Architectures within a cost limit: the ``Limit`` a search is given and ``draw_feasible``.

A search under a parameter / multiply-accumulate budget discards candidates over it, as the
SPOS evolution does (Guo et al. 2020, arXiv 1904.00420, section 3.4). ``Limit`` is what a search
needs from ``supernas.oneshot.constraints.CostLimit``: ``fits``, and for a limit that no random
draw meets, ``cheapest`` (the lowest-cost architecture found from a start) and ``impossible``
(the error that names the limit). ``None`` stands for no limit.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from supernas.mutator import sample_uniform
from supernas.space import Choice, Decision
from supernas.strategies.dedupe import arch_key

Choices = dict[str, Choice]


class Limit(Protocol):
    """A cost limit over architectures (``supernas.oneshot.constraints.CostLimit``)."""

    def fits(self, choices: Mapping[str, Choice]) -> bool: ...

    def cheapest(self, start: Mapping[str, Choice]) -> Choices: ...

    def impossible(self, cheapest: Mapping[str, Choice]) -> Exception: ...


def fits(limit: Limit | None, choices: Mapping[str, Choice]) -> bool:
    """Whether ``choices`` is within ``limit`` (always, without one)."""
    return limit is None or limit.fits(choices)


def draw_feasible(limit: Limit | None, draw: Callable[[], Choices], n: int,
                  max_tries: int) -> list[Choices]:
    """Up to ``n`` distinct architectures from ``draw()`` that fit ``limit`` (``max_tries`` draws).

    If none of the draws fits, the cheapest architecture found by ``limit.cheapest`` is returned
    alone when it fits, and ``limit.impossible`` (a ``ConfigError``) is raised when it does not.
    """
    found: dict[str, Choices] = {}
    last: Choices = {}
    for _ in range(max_tries):
        if len(found) >= n:
            break
        last = draw()
        if arch_key(last) not in found and fits(limit, last):
            found[arch_key(last)] = last
    if found or n == 0 or limit is None:
        return list(found.values())
    cheapest = limit.cheapest(last)
    if not limit.fits(cheapest):
        raise limit.impossible(cheapest)
    return [cheapest]


def uniform_drawer(space_decisions: Sequence[Decision], rng: random.Random) -> Callable[[], Choices]:
    """``draw()`` for ``draw_feasible``: uniform architectures from a seeded ``rng``."""
    return lambda: sample_uniform(space_decisions, rng)
