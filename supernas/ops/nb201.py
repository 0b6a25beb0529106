"""The NAS-Bench-201 convolutions (Dong & Yang 2020, arXiv 2001.00326).

The NAS-Bench-201 set is ``none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3``; the
three names it shares with DARTS are registered in ``supernas.ops.darts`` (same definitions). The
"normal" convs are ReLU -> Conv (no bias) -> BN with same padding.
"""
from __future__ import annotations

from torch import nn

from supernas.ops.layers import ReLUConvBN
from supernas.ops.registry import register_op


@register_op("nor_conv_1x1")
def nor_conv_1x1(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return ReLUConvBN(channels, channels, 1, stride, affine=affine)


@register_op("nor_conv_3x3")
def nor_conv_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return ReLUConvBN(channels, channels, 3, stride, affine=affine)


# The NAS-Bench-201 set, in the order of its reference code's search space.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
