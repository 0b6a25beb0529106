"""Built-in search spaces. Importing this package registers every space in ``SPACES``."""
# Each space module registers its space in ``SPACES`` when imported
# ("bats", "darts", "enas-macro", "enas-micro", "katib-macro", "mlp", "nb201").
from supernas.spaces import bats, darts, enas_macro, enas_micro, katib_macro, mlp, nb201  # noqa: F401
from supernas.spaces.registry import (
    SPACES,
    architecture_of,
    build_child,
    create_space,
    register_space,
    space_of,
)

__all__ = ["SPACES", "architecture_of", "build_child", "create_space", "register_space", "space_of"]
