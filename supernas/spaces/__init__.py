"""Built-in search spaces. Importing this package registers every space in ``SPACES``."""
from supernas.spaces.registry import SPACES, architecture_of, create_space, register_space
from supernas.spaces import mlp  # noqa: F401  (registers "mlp")
from supernas.spaces import darts, enas_macro, enas_micro, nb201  # noqa: F401  (registers them)
from supernas.spaces import bats  # noqa: F401  (registers "bats")

__all__ = ["SPACES", "architecture_of", "create_space", "register_space"]
