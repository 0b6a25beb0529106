"""How each Katib one-shot algorithm maps its Experiment onto a supernas space, declared once.

``supernas-darts`` searches the ``darts`` space, ``supernas-bats`` the ``bats`` space. For each:
the space, the space argument ``nasConfig.graphConfig.numLayers`` becomes (and the fewest cells
the space builds), the argument the op list (``nasConfig.operations``, in supernas op names)
becomes, and the trial-recipe settings that are space arguments (``init_channels`` ->
``channels`` ...). The suggestion service checks both with the space's own rules when the
Experiment is created (``ValidateAlgorithmSettings`` answers ``INVALID_ARGUMENT`` for a list the
space cannot search or a depth it cannot build), and the trial
(``trial_entry.py``) builds its space arguments from the same mapping, so the trial searches
exactly the listed ops.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from supernas.errors import ConfigError, bad_value
from supernas.spaces.bats import MIN_LAYERS as BATS_MIN_LAYERS
from supernas.spaces.bats import bats_ops
from supernas.spaces.darts import darts_ops

OPERATIONS_FIELD = "nasConfig.operations"
#: Trial-recipe settings (``algorithms/recipe.py``) -> space arguments (both spaces name them so).
RECIPE_SPACE_ARGS = {"init_channels": "channels", "num_nodes": "nodes",
                     "stem_multiplier": "stem_multiplier"}
KATIB_NAMES = ("Katib's separable_convolution and dilated_convolution (filter_size 3, 5), "
               "max_pooling and avg_pooling (filter_size 3) and skip_connection map to "
               "sep_conv_KxK, dil_conv_KxK, max_pool_3x3, avg_pool_3x3 and skip_connect; "
               "supernas op names pass through")


@dataclass(frozen=True)
class OneShotSpace:
    """One Katib one-shot algorithm's space: ``check_ops`` is the space's own op-list check,
    ``min_layers`` the fewest cells it builds."""

    space: str
    layers_arg: str
    ops_arg: str
    check_ops: Callable[[Sequence[str] | None], list[str]]
    min_layers: int = 1
    recipe_args: Mapping[str, str] = field(default_factory=lambda: dict(RECIPE_SPACE_ARGS))

    def honoured_ops(self, ops: Sequence[str]) -> list[str]:
        """``ops`` when the space can search exactly them, else a ``ConfigError`` naming
        ``nasConfig.operations``, the list and what the space allows."""
        try:
            return self.check_ops(ops)
        except ConfigError as exc:
            raise bad_value(OPERATIONS_FIELD, list(ops), f"{exc.allowed} (the {self.space!r} space's "
                            f"{self.ops_arg!r} argument; {KATIB_NAMES})") from None

    def space_args(self, num_layers: int, ops: Sequence[str], recipe: Mapping[str, Any]) -> dict[str, Any]:
        """The space arguments of a trial: ``numLayers``, the op list (all of the space's ops
        when empty) and the recipe's space settings that are given."""
        args: dict[str, Any] = {self.layers_arg: num_layers}
        args.update({arg: recipe[key] for key, arg in self.recipe_args.items() if key in recipe})
        if ops:
            args[self.ops_arg] = list(ops)
        return args


#: One-shot algorithm (``supernas.oneshot`` name) -> its space mapping.
ONESHOT_SPACES = {"darts": OneShotSpace("darts", "cells", "ops", darts_ops),
                  "bats": OneShotSpace("bats", "layers", "ops", bats_ops, min_layers=BATS_MIN_LAYERS)}
