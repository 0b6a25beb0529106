"""The one search loop: drive an ask/tell strategy against a fitness function.

As NNI's strategies run against any evaluator (``nni.nas.strategy``: the strategy proposes, the
evaluator scores), one-shot selection runs a registered strategy (``STRATEGIES``) against a
fitness: the supernet's held-out accuracy with batch norm recalibrated (SPOS, random weight
sharing) or a zero-shot proxy (zero-shot search, SPOS's prior). One architecture is suggested
and scored at a time, so a generational strategy scores each generation before making the next.
"""
from __future__ import annotations

from collections.abc import Callable

from supernas.errors import bad_value
from supernas.space import Choice
from supernas.strategies.base import Strategy

Choices = dict[str, Choice]


def run_strategy(strategy: Strategy, fitness: Callable[[Choices], float],
                 budget: int | None = None) -> tuple[Choices, float] | None:
    """Suggest, score with ``fitness`` and observe, one architecture at a time, until
    ``strategy.finished()`` or ``budget`` evaluations (``None``: until finished); return the best
    (architecture, fitness), ``None`` when no fitness was finite."""
    if budget is None and type(strategy).finished is Strategy.finished:
        raise bad_value("budget", None, f"a number of evaluations ({type(strategy).__name__} "
                        "never finishes by itself)")
    spent = 0
    while (budget is None or spent < budget) and not strategy.finished():
        (choices,) = strategy.suggest(1)
        strategy.observe(choices, float(fitness(choices)))
        spent += 1
    return strategy.best()
