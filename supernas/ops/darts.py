"""The DARTS candidate ops (Liu et al. 2019, arXiv 1806.09055, ``cnn/operations.py``).

``none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3,
dil_conv_5x5``; every op maps ``[B, C, H, W]`` to ``[B, C, ceil(H/s), ceil(W/s)]``.

Shared names. NAS-Bench-201 (Dong & Yang 2020, arXiv 2001.00326) uses ``none``, ``skip_connect``
and ``avg_pool_3x3`` with the same definitions for equal in/out channels (zeros; identity, or
factorized reduce at stride 2; 3x3 average pool with ``count_include_pad=False``), so both sets
use one registry entry per name. The ENAS micro space (Pham et al. 2018, arXiv 1802.03268) uses
these pools and separable convs too, and ``skip_connect`` for its "identity" op (as the DARTS
genotype of the ENAS cell does). The batch norm that the DARTS *search* code appends to pools
(``MixedOp``) belongs to the ``darts`` space (``pool_bn``), not to the op.
"""
from __future__ import annotations

from torch import nn

from supernas.ops.layers import DilConv, FactorizedReduce, SepConv, Zero
from supernas.ops.pooling import AvgPool2d, MaxPool2d
from supernas.ops.registry import register_op


@register_op("none")
def none(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """Zeros (no connection); at stride 2 the zeros have the reduced size."""
    return Zero(stride)


@register_op("skip_connect")
def skip_connect(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """Identity; at stride 2 a ``FactorizedReduce`` (DARTS)."""
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)


@register_op("max_pool_3x3")
def max_pool_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return MaxPool2d(3, stride=stride, padding=1)


@register_op("avg_pool_3x3")
def avg_pool_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """3x3 average pool; padded positions are not counted (DARTS and NAS-Bench-201)."""
    return AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)


@register_op("sep_conv_3x3")
def sep_conv_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return SepConv(channels, channels, 3, stride, affine)


@register_op("sep_conv_5x5")
def sep_conv_5x5(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return SepConv(channels, channels, 5, stride, affine)


@register_op("dil_conv_3x3")
def dil_conv_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """3x3 depthwise conv with dilation 2 (5x5 receptive field), then 1x1 conv."""
    return DilConv(channels, channels, 3, stride, 2, affine)


@register_op("dil_conv_5x5")
def dil_conv_5x5(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """5x5 depthwise conv with dilation 2 (9x9 receptive field), then 1x1 conv."""
    return DilConv(channels, channels, 5, stride, 2, affine)


# The DARTS search set, in the order of the reference code's PRIMITIVES.
DARTS_OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
             "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
