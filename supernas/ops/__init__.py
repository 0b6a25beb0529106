"""Candidate ops by name. Importing this package registers every op in ``OPS``."""
from supernas.ops import darts, enas, nb201  # noqa: F401  (register the DARTS/NB201/ENAS ops)
from supernas.ops.registry import OPS, create_op, register_op
from supernas.ops import binary  # noqa: F401,E402  (registers the BATS binary ops)

__all__ = ["OPS", "create_op", "register_op"]
