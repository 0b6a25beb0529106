"""The ENAS macro-space ops (Pham et al. 2018, arXiv 1802.03268, ``general_child.py``).

Each branch starts with a 1x1 Conv -> BN -> ReLU, then:

=======================  ============================================================
``enas_conv_3x3``        3x3 Conv -> BN -> ReLU
``enas_conv_5x5``        5x5 Conv -> BN -> ReLU
``enas_sep_conv_3x3``    3x3 depthwise Conv -> 1x1 Conv -> BN -> ReLU (separable)
``enas_sep_conv_5x5``    5x5 depthwise Conv -> 1x1 Conv -> BN -> ReLU (separable)
``enas_max_pool_3x3``    3x3 max pool
``enas_avg_pool_3x3``    3x3 average pool (padding not counted, like TF ``SAME`` pooling)
=======================  ============================================================

They carry an ``enas_`` prefix because they differ from the DARTS ops of the same shape (Conv-BN-
ReLU ordering, the 1x1 input conv, a single separable conv). ``stride`` applies to the k x k
conv or the pool; the macro space itself only uses stride 1.
"""
from __future__ import annotations

from torch import nn

from supernas.ops.layers import ConvBNReLU, same_padding
from supernas.ops.pooling import MaxPool2d
from supernas.ops.registry import register_op


def _conv_branch(channels: int, kernel: int, stride: int, affine: bool) -> nn.Module:
    # [B, C, H, W] -> [B, C, H/s, W/s]
    return nn.Sequential(ConvBNReLU(channels, channels, 1, affine=affine),
                         ConvBNReLU(channels, channels, kernel, stride, affine))


def _sep_branch(channels: int, kernel: int, stride: int, affine: bool) -> nn.Module:
    depthwise = nn.Conv2d(channels, channels, kernel, stride, same_padding(kernel),
                          groups=channels, bias=False)
    return nn.Sequential(ConvBNReLU(channels, channels, 1, affine=affine), depthwise,
                         ConvBNReLU(channels, channels, 1, affine=affine))


def _pool_branch(channels: int, pool: nn.Module, affine: bool) -> nn.Module:
    return nn.Sequential(ConvBNReLU(channels, channels, 1, affine=affine), pool)


@register_op("enas_conv_3x3")
def enas_conv_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return _conv_branch(channels, 3, stride, affine)


@register_op("enas_conv_5x5")
def enas_conv_5x5(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return _conv_branch(channels, 5, stride, affine)


@register_op("enas_sep_conv_3x3")
def enas_sep_conv_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return _sep_branch(channels, 3, stride, affine)


@register_op("enas_sep_conv_5x5")
def enas_sep_conv_5x5(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return _sep_branch(channels, 5, stride, affine)


@register_op("enas_max_pool_3x3")
def enas_max_pool_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    return _pool_branch(channels, MaxPool2d(3, stride, padding=1), affine)


@register_op("enas_avg_pool_3x3")
def enas_avg_pool_3x3(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    pool = nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)
    return _pool_branch(channels, pool, affine)


ENAS_MACRO_OPS = ("enas_conv_3x3", "enas_conv_5x5", "enas_sep_conv_3x3", "enas_sep_conv_5x5",
                  "enas_max_pool_3x3", "enas_avg_pool_3x3")
