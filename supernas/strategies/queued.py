"""The suggestion order shared by the surrogate searches (``bo``, ``pnas``).

A surrogate search fits its model, then queues a batch of proposals; ``suggest`` hands out the
queued ones not yet seen, asks the subclass for a new batch (``_fill``) when the queue is empty,
and falls back to a uniform draw not seen before while there are too few results to fit on.
"""
from __future__ import annotations

from supernas.mutator import sample_uniform
from supernas.strategies.base import Strategy
from supernas.strategies.dedupe import Choices, arch_key, fresh

DUPLICATE_TRIES = 100  # uniform draws tried for an unseen architecture before repeating one


class QueuedStrategy(Strategy):
    """``Strategy`` whose suggestions come from ``self.queue``, refilled by ``_fill``."""

    queue: list[Choices]

    def _suggest_one(self) -> Choices:
        choices = self._pop() or self._fill() or self._random()
        self._remember(choices)
        return dict(choices)

    def _fill(self) -> Choices | None:
        """Queue new proposals and return the first, or ``None`` (not enough data yet)."""
        raise NotImplementedError

    def _pop(self) -> Choices | None:
        while self.queue:
            choices = self.queue.pop(0)
            if arch_key(choices) not in self.seen_keys:
                return choices
        return None

    def _random(self) -> Choices:
        draw = lambda: sample_uniform(self.decisions, self.rng)
        return fresh(draw, self.seen_keys, DUPLICATE_TRIES) or draw()
