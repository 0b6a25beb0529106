"""Ask/tell strategies. Importing this package registers every strategy in ``STRATEGIES``;
``run_strategy`` drives one against a fitness function (one-shot selection)."""
from supernas.strategies import (  # noqa: F401  (register)
    best_of_n,
    bo,
    constrained_evolution,
    enas,
    evolution,
    pnas,
    random_search,
)
from supernas.strategies.base import STRATEGIES, Strategy, register_strategy
from supernas.strategies.run import run_strategy

__all__ = ["STRATEGIES", "Strategy", "register_strategy", "run_strategy"]
