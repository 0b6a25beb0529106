"""One-shot algorithms. Importing this package registers every algorithm in ``ALGORITHMS``."""
from supernas.oneshot.base import ALGORITHMS, OneShotAlgorithm, plain_backward, register_algorithm

__all__ = ["ALGORITHMS", "OneShotAlgorithm", "plain_backward", "register_algorithm"]
