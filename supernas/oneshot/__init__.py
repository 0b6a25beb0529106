"""One-shot algorithms. Importing this package registers every algorithm in ``ALGORITHMS``."""
from supernas.oneshot.base import ALGORITHMS, OneShotAlgorithm, plain_backward, register_algorithm
from supernas.oneshot import darts  # noqa: F401,E402  (registers "darts")

__all__ = ["ALGORITHMS", "OneShotAlgorithm", "plain_backward", "register_algorithm"]
