"""Switch a whole model between BATS's binarisation modes.

BATS (Bulat et al., ECCV 2020, arXiv 2003.01711) searches and then trains in two stages, following
the real-to-binary recipe (Martinez et al., ICLR 2020, arXiv 2003.11535):

* ``"activations"``: binary activations, real weights (the search, and evaluation stage 1);
* ``"full"``: binary activations and binary weights ``sign(W) * alpha`` (evaluation stage 2);
* ``"real"``: neither (a real-valued twin of the same network: the teacher of
  ``supernas.two_stage`` with ``teacher="real"``, or a sanity check).

Every ``supernas.ops.binary.BinaryConv2d`` in the model follows the mode; other modules are
untouched (the stem, classifier and 1x1 preprocessing stay real-valued).
"""
from __future__ import annotations

from torch import nn

from supernas.errors import bad_value
from supernas.ops.binary import BinaryConv2d

MODES = {"real": (False, False), "activations": (True, False), "full": (True, True)}


def binary_convs(model: nn.Module) -> list[BinaryConv2d]:
    """Every binary convolution in ``model``."""
    return [m for m in model.modules() if isinstance(m, BinaryConv2d)]


def set_binary_mode(model: nn.Module, mode: str) -> nn.Module:
    """Put every binary convolution of ``model`` in ``mode``; returns ``model``."""
    if mode not in MODES:
        raise bad_value("binary_mode", mode, ", ".join(repr(m) for m in MODES))
    activations, weights = MODES[mode]
    for conv in binary_convs(model):
        conv.binary_activations = activations
        conv.binary_weights = weights
    return model


def binary_mode(model: nn.Module) -> str | None:
    """The mode all binary convolutions of ``model`` share (``None`` if none or mixed)."""
    found = {(c.binary_activations, c.binary_weights) for c in binary_convs(model)}
    if len(found) != 1:
        return None
    (state,) = found
    return next((name for name, s in MODES.items() if s == state), None)
