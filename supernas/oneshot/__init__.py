"""One-shot algorithms. Importing this package registers every algorithm in ``ALGORITHMS``."""
from supernas.oneshot.base import ALGORITHMS, OneShotAlgorithm, plain_backward, register_algorithm
from supernas.oneshot import darts  # noqa: F401,E402  (registers "darts")
from supernas.oneshot import bats  # noqa: F401,E402  (registers "bats")
from supernas.oneshot import random_oneshot, spos  # noqa: F401  (registers "random", "spos")
from supernas.oneshot import enas  # noqa: F401  (registers "enas")
import supernas.zeroshot.strategy  # noqa: F401  (registers "zero-shot")

__all__ = ["ALGORITHMS", "OneShotAlgorithm", "plain_backward", "register_algorithm"]
