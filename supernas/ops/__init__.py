"""Candidate ops by name. Importing this package registers every op in ``OPS``."""
from supernas.ops.registry import OPS, create_op, register_op
from supernas.ops import darts, enas, nb201  # noqa: F401,E402  (register the DARTS/NB201/ENAS ops)

__all__ = ["OPS", "create_op", "register_op"]
