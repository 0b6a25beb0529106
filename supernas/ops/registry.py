"""The registry of candidate ops. Op names are the tokens architectures are written in.

Every op factory takes ``channels`` (input = output channels), ``stride`` and ``affine`` and may
accept more keyword arguments; ``create_op`` checks them and names what is allowed.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from supernas.registry import Registry

OPS: Registry[nn.Module] = Registry("op")
register_op = OPS.register


def create_op(name: str, channels: int, stride: int = 1, affine: bool = True, **kwargs: Any) -> nn.Module:
    """Create op ``name`` mapping ``[B, channels, H, W]`` to ``[B, channels, H/stride, W/stride]``."""
    return OPS.create(name, channels=channels, stride=stride, affine=affine, **kwargs)
