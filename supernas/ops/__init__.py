"""Candidate ops by name. Importing this package registers every op in ``OPS``."""
# Each op module registers its ops in ``OPS`` when imported (DARTS, ENAS, NB201, BATS binary ops).
from supernas.ops import binary, darts, enas, nb201  # noqa: F401
from supernas.ops.registry import OPS, create_op, register_op

__all__ = ["OPS", "create_op", "register_op"]
