"""One-shot algorithms. Importing this package registers every algorithm in ``ALGORITHMS``."""
# Each algorithm module registers itself in ``ALGORITHMS`` when imported: "bats", "darts", "enas",
# "random", "spos" and, from supernas.zeroshot.strategy, "zero-shot".
import supernas.zeroshot.strategy  # noqa: F401
from supernas.oneshot import bats, darts, enas, random_oneshot, spos  # noqa: F401
from supernas.oneshot.base import ALGORITHMS, OneShotAlgorithm, plain_backward, register_algorithm

__all__ = ["ALGORITHMS", "OneShotAlgorithm", "plain_backward", "register_algorithm"]
