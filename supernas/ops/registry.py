"""The registry of candidate ops. Op names are the tokens architectures are written in.

Every op factory takes ``channels`` (input = output channels), ``stride`` and ``affine`` and may
accept more keyword arguments; ``create_op`` checks them and names what is allowed.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from supernas.errors import bad_value
from supernas.registry import Registry

OPS: Registry[nn.Module] = Registry("op")
register_op = OPS.register
STRIDES = (1, 2)  # every cell-based space reduces by 2 at a time


def create_op(name: str, channels: int, stride: int = 1, affine: bool = True, **kwargs: Any) -> nn.Module:
    """Create op ``name`` mapping ``[B, channels, H, W]`` to ``[B, channels, H/stride, W/stride]``."""
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise bad_value("channels", channels, "a positive integer")
    if stride not in STRIDES or isinstance(stride, bool):
        raise bad_value("stride", stride, " or ".join(map(str, STRIDES)))
    return OPS.create(name, channels=channels, stride=stride, affine=affine, **kwargs)
