"""Algorithms served by the suggestion service; importing registers them in ``ALGORITHMS``."""
from katib_suggestions.algorithms import darts, enas, supernas  # noqa: F401  (registers)
from katib_suggestions.algorithms.base import ALGORITHMS, KatibAlgorithm, Suggestion

__all__ = ["ALGORITHMS", "KatibAlgorithm", "Suggestion"]
