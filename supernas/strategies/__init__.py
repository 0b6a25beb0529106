"""Ask/tell strategies. Importing this package registers every strategy in ``STRATEGIES``."""
from supernas.strategies import enas, evolution, random_search  # noqa: F401  (register)
from supernas.strategies.base import STRATEGIES, Strategy, register_strategy

__all__ = ["STRATEGIES", "Strategy", "register_strategy"]
