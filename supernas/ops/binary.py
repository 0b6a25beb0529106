"""Binary ops for the BATS search space (Bulat et al., ECCV 2020, arXiv 2003.01711).

Building blocks:

* ``sign_ste``: ``sign`` in the forward pass (``sign(0) = +1``), straight-through estimator in the
  backward pass with the gradient clipped to ``|x| <= 1`` (Hubara et al. 2016, arXiv 1602.02830).
* ``BinaryConv2d``: a (grouped) convolution whose input activations are binarised with
  ``sign_ste`` and whose weights are either real (stage 1 of BATS's evaluation, and the search) or
  ``sign(W) * alpha`` with one real scaling factor per output channel, ``alpha = mean|W|`` over the
  filter (XNOR-Net, Rastegari et al. 2016, arXiv 1603.05279). ``binary_weights`` /
  ``binary_activations`` are module-level switches; ``supernas.binarize`` flips a whole model.
* ``ChannelShuffle`` (ShuffleNet, arXiv 1707.01083) mixes information between the groups of a
  grouped convolution, as BATS does after its grouped binary convolutions.
* ``BinaryConvOp``: ``sign -> binary (grouped, optionally dilated) conv -> BN -> channel shuffle ->
  PReLU`` plus an identity shortcut around the whole op (average-pooled when the op strides), the
  binary-friendly block of BATS Sec. 3.1 (shortcut as in Bi-Real Net, arXiv 1808.00278).

Registered ops (``channels`` in = out, ``stride`` 1 or 2, ``affine`` for the BN):
``bin_conv_3x3``, ``bin_conv_5x5``, ``bin_dil_conv_3x3``, ``bin_dil_conv_5x5`` (dense binary convs),
``bin_group_conv_3x3``, ``bin_group_conv_5x5``, ``bin_dil_group_conv_3x3``,
``bin_dil_group_conv_5x5`` (grouped binary convs; keyword ``groups``, default 4, or
``gcd(channels, 4)`` when 4 does not divide ``channels``; BATS replaces
DARTS's separable convolutions with grouped ones because depthwise binary convolutions lose too
much information). The real-valued ops of the BATS set (``none``, ``skip_connect``, pools) are the
DARTS ones registered by ``supernas.ops.darts``.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from supernas.errors import bad_value
from supernas.ops.registry import register_op

DEFAULT_GROUPS = 4  # our default for small networks, not a value taken from the paper


class _SignSTE(torch.autograd.Function):
    """sign forward; gradient passed straight through where ``|x| <= 1`` (zero elsewhere)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """``+1``/``-1`` of ``x`` (``0 -> +1``) with the clipped straight-through gradient."""
    return _SignSTE.apply(x)


class _WeightSign(torch.autograd.Function):
    """sign of the weights with an identity gradient (the weights' own STE, XNOR-Net)."""

    @staticmethod
    def forward(ctx: Any, w: torch.Tensor) -> torch.Tensor:
        return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad


def binarize_weight(w: torch.Tensor) -> torch.Tensor:
    """``sign(W) * alpha`` with ``alpha = mean|W|`` per output channel. w: [O, I/g, k, k]."""
    alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True)  # [O, 1, 1, 1]
    return _WeightSign.apply(w) * alpha


class BinaryConv2d(nn.Conv2d):
    """Conv2d with binarised input activations and (when switched on) binarised weights."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("bias", False)
        super().__init__(*args, **kwargs)
        self.binary_activations = True  # sign of the input (search and both evaluation stages)
        self.binary_weights = False  # real weights (search, stage 1); True in stage 2

    def effective_weight(self) -> torch.Tensor:
        """The weight the convolution uses: real, or ``sign(W) * alpha``."""
        return binarize_weight(self.weight) if self.binary_weights else self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, I, H, W] -> [B, O, H', W']
        if self.binary_activations:
            x = sign_ste(x)
        return self._conv_forward(x, self.effective_weight(), self.bias)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", binary_activations={self.binary_activations}, "
                f"binary_weights={self.binary_weights}")


class ChannelShuffle(nn.Module):
    """Interleave the channels of ``groups`` groups: [B, g*c, H, W] -> [B, c*g, H, W]."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return x
        b, c, h, w = x.shape
        return x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def default_groups(channels: int) -> int:
    """``DEFAULT_GROUPS`` when it divides ``channels``, else their greatest common divisor."""
    return math.gcd(channels, DEFAULT_GROUPS)


def check_groups(channels: int, groups: int) -> int:
    """``groups`` if it divides ``channels``, else a ``ConfigError`` naming both."""
    if not isinstance(groups, int) or groups < 1 or channels % groups:
        raise bad_value("groups", groups, f"a positive divisor of channels={channels}")
    return groups


class BinaryConvOp(nn.Module):
    """sign -> binary conv -> BN -> shuffle -> PReLU, plus the identity (or pooled) shortcut."""

    def __init__(self, channels: int, kernel: int, stride: int, dilation: int = 1,
                 groups: int = 1, affine: bool = True) -> None:
        super().__init__()
        groups = check_groups(channels, groups)
        padding = dilation * (kernel - 1) // 2
        self.conv = BinaryConv2d(channels, channels, kernel, stride=stride, padding=padding,
                                 dilation=dilation, groups=groups)
        self.bn = nn.BatchNorm2d(channels, affine=affine)
        self.shuffle = ChannelShuffle(groups)
        self.act = nn.PReLU(channels)
        self.stride = stride

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """Identity; 2x2 average pooling when the op halves the resolution (Bi-Real Net)."""
        if self.stride == 1:
            return x
        return F.avg_pool2d(x, self.stride, self.stride, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] -> [B, C, H/s, W/s]
        return self.act(self.shuffle(self.bn(self.conv(x)))) + self.shortcut(x)


def _register(name: str, kernel: int, dilation: int, grouped: bool) -> None:
    if grouped:
        def factory(channels: int, stride: int = 1, affine: bool = True,
                    groups: int | None = None) -> nn.Module:
            groups = default_groups(channels) if groups is None else groups
            return BinaryConvOp(channels, kernel, stride, dilation, groups, affine)
    else:
        def factory(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
            return BinaryConvOp(channels, kernel, stride, dilation, 1, affine)
    factory.__doc__ = (f"Binary {'grouped ' if grouped else ''}{kernel}x{kernel} conv "
                       f"(dilation {dilation}) with identity shortcut, BATS (arXiv 2003.01711).")
    register_op(name)(factory)


BINARY_OPS = {
    "bin_conv_3x3": (3, 1, False),
    "bin_conv_5x5": (5, 1, False),
    "bin_dil_conv_3x3": (3, 2, False),
    "bin_dil_conv_5x5": (5, 2, False),
    "bin_group_conv_3x3": (3, 1, True),
    "bin_group_conv_5x5": (5, 1, True),
    "bin_dil_group_conv_3x3": (3, 2, True),
    "bin_dil_group_conv_5x5": (5, 2, True),
}
for _name, (_kernel, _dilation, _grouped) in BINARY_OPS.items():
    _register(_name, _kernel, _dilation, _grouped)
