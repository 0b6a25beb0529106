"""Built-in search spaces. Importing this package registers every space in ``SPACES``."""
from supernas.spaces.registry import (SPACES, architecture_of, build_child, create_space, register_space,
                                      space_of)
from supernas.spaces import mlp  # noqa: F401  (registers "mlp")
from supernas.spaces import darts, enas_macro, enas_micro, nb201  # noqa: F401  (registers them)
from supernas.spaces import bats  # noqa: F401  (registers "bats")
from supernas.spaces import katib_macro  # noqa: F401  (registers "katib-macro")

__all__ = ["SPACES", "architecture_of", "build_child", "create_space", "register_space", "space_of"]
