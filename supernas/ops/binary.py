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
* ``BinaryConvOp``: ``BN -> sign -> binary (grouped, optionally dilated) conv -> PReLU -> channel
  shuffle``, plus the identity around the whole op when it keeps the resolution (none when it
  strides).

Order, groups and shortcut follow the first author's public implementation of the BATS cell ops
(``1adrianb/binary-networks-pytorch``, ``bnn/models/layers/bats_ops.py``, classes ``SepConv`` and
``DilConv``, "implemented based on the descriptions provided in the original paper" per its
README): batch norm first, so the sign sees normalised activations; the convolution whose input
the library's binariser signs; PReLU; the op's output shuffled and, at stride 1 only, added to
the input. Grouped ops default to 12 groups there (``groups: int = 12`` in ``SepConv``,
``DilConv``, ``Cell``, the CIFAR and ImageNet networks); the shuffle there always uses 4 groups
(``channel_shuffle(self.op(x), 4)``), whatever the convolution's groups, and so does ours
(``SHUFFLE_GROUPS``; the dense ``bin_conv_*`` ops, which are ours, are not shuffled). Dilated ops use dilation 2 (padding 2 and 4), as there. Where 12 does not
divide ``channels`` (the small CPU spaces of this project), ``default_groups`` takes the largest
divisor of ``channels`` not above 12 that leaves at least 2 channels per group: never a depthwise
binary convolution, which BATS replaces by grouped ones because it loses too much information
(BATS Sec. 3.1). The version before this one signed first and normalised after the convolution,
used 4 groups and an average-pooled shortcut at stride 2; none of that is in the authors' code.

Registered ops (``channels`` in = out, ``stride`` 1 or 2, ``affine`` for the BN):
``bin_conv_3x3``, ``bin_conv_5x5``, ``bin_dil_conv_3x3``, ``bin_dil_conv_5x5`` (dense binary convs),
``bin_group_conv_3x3``, ``bin_group_conv_5x5``, ``bin_dil_group_conv_3x3``,
``bin_dil_group_conv_5x5`` (grouped binary convs; keyword ``groups``, default
``default_groups(channels)``). The real-valued ops of the BATS set (``none``, ``skip_connect``,
pools) are the DARTS ones registered by ``supernas.ops.darts``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from supernas.errors import bad_value
from supernas.ops.registry import register_op

DEFAULT_GROUPS = 12  # authors' code, bats_ops.py (module docstring)
SHUFFLE_GROUPS = 4  # authors' code: every op's output is shuffled with 4 groups


def _sign(x: torch.Tensor) -> torch.Tensor:
    """``+1``/``-1`` of ``x`` with ``0 -> +1`` (``torch.sign`` would give 0)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


class _SignSTE(torch.autograd.Function):
    """sign forward; gradient passed straight through where ``|x| <= 1`` (zero elsewhere)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return _sign(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """``+1``/``-1`` of ``x`` (``0 -> +1``) with the clipped straight-through gradient; without
    autograd (inference, ``torch.jit.trace`` under ``no_grad``) the plain ops, which export."""
    return _SignSTE.apply(x) if torch.is_grad_enabled() else _sign(x)


class _WeightSign(torch.autograd.Function):
    """sign of the weights with an identity gradient (the weights' own STE, XNOR-Net)."""

    @staticmethod
    def forward(ctx: Any, w: torch.Tensor) -> torch.Tensor:
        return _sign(w)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad


def binarize_weight(w: torch.Tensor) -> torch.Tensor:
    """``sign(W) * alpha`` with ``alpha = mean|W|`` per output channel. w: [O, I/g, k, k]."""
    alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True)  # [O, 1, 1, 1]
    return (_WeightSign.apply(w) if torch.is_grad_enabled() else _sign(w)) * alpha


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


def default_groups(channels: int, most: int = DEFAULT_GROUPS) -> int:
    """The largest divisor of ``channels`` that is at most ``most`` and leaves at least 2
    channels per group (1 for a single channel): 12 for 48 channels, 4 for 8, 2 for 4."""
    fits = [g for g in range(1, min(most, channels // 2) + 1) if channels % g == 0]
    return max(fits, default=1)


def check_groups(channels: int, groups: int) -> int:
    """``groups`` if it divides ``channels``, else a ``ConfigError`` naming both."""
    if not isinstance(groups, int) or groups < 1 or channels % groups:
        raise bad_value("groups", groups, f"a positive divisor of channels={channels}")
    return groups


class BinaryConvOp(nn.Module):
    """BN -> sign -> binary conv -> PReLU -> shuffle, plus the identity at stride 1."""

    def __init__(self, channels: int, kernel: int, stride: int, dilation: int = 1,
                 groups: int = 1, affine: bool = True) -> None:
        super().__init__()
        groups = check_groups(channels, groups)
        padding = dilation * (kernel - 1) // 2
        self.bn = nn.BatchNorm2d(channels, affine=affine)
        self.conv = BinaryConv2d(channels, channels, kernel, stride=stride, padding=padding,
                                 dilation=dilation, groups=groups)  # signs its input
        self.act = nn.PReLU(channels)
        self.shuffle = ChannelShuffle(math.gcd(channels, SHUFFLE_GROUPS) if groups > 1 else 1)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] -> [B, C, H/s, W/s]
        out = self.shuffle(self.act(self.conv(self.bn(x))))
        return out + x if self.stride == 1 else out  # no shortcut when striding (authors' code)


def _register(name: str, kernel: int, dilation: int, grouped: bool) -> None:
    factory: Callable[..., nn.Module]  # the two variants below differ in keywords
    if grouped:
        def factory(channels: int, stride: int = 1, affine: bool = True,
                    groups: int | None = None) -> nn.Module:
            groups = default_groups(channels) if groups is None else groups
            return BinaryConvOp(channels, kernel, stride, dilation, groups, affine)
    else:
        def factory(channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
            return BinaryConvOp(channels, kernel, stride, dilation, 1, affine)
    factory.__doc__ = (f"Binary {'grouped ' if grouped else ''}{kernel}x{kernel} conv "
                       f"(dilation {dilation}), BN -> sign -> conv -> PReLU -> shuffle, BATS (arXiv 2003.01711).")
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
