"""A depthwise convolution whose CPU backward picks faster kernels (same gradients).

The DARTS ops' depthwise convolutions (``SepConv``, ``DilConv``; Liu et al. 2019, arXiv
1806.09055) spend most of a CPU supernet step in two slow oneDNN backward kernels
(``benchmarks/notes/speed.md``): the weight gradient of an NCHW 5x5 depthwise conv and the input
gradient of a dilated one. ``DepthwiseConv2d`` computes the same two gradients another way:

* input gradient of a dilated conv at stride 1 with "same" padding: the transposed convolution,
  i.e. the forward convolution of the output gradient with the spatially flipped kernel
  (padding unchanged);
* weight gradient of an NCHW input, undilated, kernel 5 or more: oneDNN's channels-last kernel
  on channels-last copies of the input and the output gradient.

Where neither applies, or the call needs neither gradient, the stock ``nn.Conv2d`` runs (paired
measurements showed the other cases no faster; ``benchmarks/notes/speed.md``), except that a
dilated stride-2 conv of a channels-last input runs on NCHW copies, where oneDNN is faster
(paired forward + backward on the reduction cells' shapes: 0.59-0.79x).

The maths is unchanged (the same sums, in another order: results agree to rounding,
``tests/test_depthwise.py``), the backward stays differentiable (second-order DARTS takes a
Hessian-vector product through it), and everything else (stride 2 inputs, other devices) takes
PyTorch's own backward. State dicts and ``isinstance(m, nn.Conv2d)`` are those of ``nn.Conv2d``.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from supernas.ops.graph_mode import custom_grad_paths

CL = torch.channels_last


def _conv_args(ctx: Any) -> tuple[Any, ...]:
    return ctx.stride, ctx.padding, ctx.dilation


def flips_input_grad(m: nn.Conv2d) -> bool:
    """Input gradient by the flipped-kernel forward conv: stride 1, dilated, "same" padding."""
    if isinstance(m.padding, str):
        return False
    same = all(2 * p == d * (k - 1) for p, d, k in zip(m.padding, m.dilation, m.kernel_size))
    return m.stride == (1, 1) and max(m.dilation) > 1 and same


def copies_for_weight_grad(m: nn.Conv2d, x: torch.Tensor) -> bool:
    """Weight gradient on channels-last copies: NCHW input, undilated, kernel 5 or more."""
    return m.dilation == (1, 1) and min(m.kernel_size) >= 5 and not x.is_contiguous(memory_format=CL)


def _input_grad(ctx: Any, g: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    stride, padding, dilation = _conv_args(ctx)
    if ctx.flip:  # transposed conv = conv with the flipped kernel
        return F.conv2d(g, w.flip(-1, -2), None, 1, padding, dilation, w.shape[0])
    return torch.ops.aten.convolution_backward(
        g, x, w, None, stride, padding, dilation, False, (0, 0), w.shape[0], (True, False, False))[0]


def _weight_grad(ctx: Any, g: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    stride, padding, dilation = _conv_args(ctx)
    if ctx.copies:
        x, g, w = (t.contiguous(memory_format=CL) for t in (x, g, w))
    grad = torch.ops.aten.convolution_backward(
        g, x, w, None, stride, padding, dilation, False, (0, 0), w.shape[0], (False, True, False))[1]
    return grad


class _DepthwiseFn(torch.autograd.Function):
    """``conv2d(x, w, groups=C)`` with the backward of the module docstring."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, m: nn.Conv2d) -> torch.Tensor:
        stride, padding, dilation = m.stride, m.padding, m.dilation
        ctx.stride, ctx.padding, ctx.dilation = stride, padding, dilation
        ctx.flip, ctx.copies = flips_input_grad(m), copies_for_weight_grad(m, x)
        ctx.save_for_backward(x, w)
        return F.conv2d(x, w, None, stride, padding, dilation, w.shape[0])

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        x, w = ctx.saved_tensors
        gx = _input_grad(ctx, g, x, w) if ctx.needs_input_grad[0] else None
        gw = _weight_grad(ctx, g, x, w) if ctx.needs_input_grad[1] else None
        return gx, gw, None


class _ToChannelsLast(torch.autograd.Function):
    """``y`` in channels-last layout; the backward hands back an NCHW gradient."""

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor) -> torch.Tensor:
        return y.contiguous(memory_format=CL)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g.contiguous()


def runs_in_nchw(m: nn.Conv2d, x: torch.Tensor) -> bool:
    """A dilated stride-2 conv of a channels-last input runs on NCHW copies (faster there)."""
    return max(m.stride) > 1 and max(m.dilation) > 1 and x.dim() == 4 \
        and x.is_contiguous(memory_format=CL) and not x.is_contiguous()


class DepthwiseConv2d(nn.Conv2d):
    """Bias-free depthwise ``nn.Conv2d`` (``groups = in = out channels``), faster CPU backward:
    ``[B, C, H, W] -> [B, C, H', W']``."""

    def __init__(self, channels: int, kernel: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1) -> None:
        super().__init__(channels, channels, kernel, stride, padding, dilation, groups=channels,
                         bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not custom_grad_paths():  # export traces: the stock conv (same values)
            return super().forward(x)
        if x.device.type == "cpu" and runs_in_nchw(self, x):
            y = self._conv_forward(x.contiguous(), self.weight.contiguous(), None)
            return _ToChannelsLast.apply(y)
        if not self._faster(x):
            return super().forward(x)
        return _DepthwiseFn.apply(x, self.weight, self)

    def _faster(self, x: torch.Tensor) -> bool:
        """Whether a gradient this call needs has a faster path here (else the stock conv)."""
        if x.device.type != "cpu" or self.padding_mode != "zeros" or isinstance(self.padding, str):
            return False
        return (x.requires_grad and flips_input_grad(self)) or \
            (self.weight.requires_grad and copies_for_weight_grad(self, x))
