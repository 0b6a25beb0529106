"""Max- and average-pooling layers that run PyTorch's faster channels-last kernels on CPU.

On CPU, ``torch.nn.functional.max_pool2d`` on a contiguous NCHW tensor that needs gradients
takes the ``max_pool2d_with_indices`` kernel, which is slower than the same pool on a
channels-last tensor. ``MaxPool2d`` pools a channels-last copy and returns NCHW; outputs and
gradients are bit-identical to ``nn.MaxPool2d`` (``tests/test_ops.py``). Forward + backward,
one thread, layout copies included (``benchmarks/maxpool.py``, results/maxpool.json): 0.30-0.49x
torch's time at stride 1 on the speed and one-shot benchmarks' shapes, 0.56-0.76x at stride 2,
except 1.3x (0.12 -> 0.16 ms) for the smallest stride-2 case. Other devices and inputs already in
channels-last take the stock path unchanged; state dicts and ``isinstance`` checks are those of
``nn.MaxPool2d``. The way back to NCHW hands the backward a channels-last output gradient
(``_ToNCHW``): given an NCHW gradient, the channels-last pool's backward falls back to its slow
kernel. ``AvgPool2d`` does the same for the 3x3 average pool with ``count_include_pad=False``
(DARTS, NAS-Bench-201): paired forward + backward on the speed benchmark's stride-1 shapes,
one thread, loaded machine: 0.51-0.59x torch's NCHW time, stride 2 unchanged (0.97-1.03x).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from supernas.ops.graph_mode import custom_grad_paths


class _ToNCHW(torch.autograd.Function):
    """``y.contiguous()`` whose backward returns the gradient in channels-last layout."""

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor) -> torch.Tensor:
        return y.contiguous()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g.contiguous(memory_format=torch.channels_last)


def _via_channels_last(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    if x.device.type != "cpu" or x.dim() != 4 or x.is_contiguous(memory_format=torch.channels_last) \
            or not custom_grad_paths():
        return forward(x)
    return _ToNCHW.apply(forward(x.contiguous(memory_format=torch.channels_last)))


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d``, pooled in channels-last layout on CPU (same result, faster)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, C, H, W]
        return _via_channels_last(super().forward, x)


class AvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d``, pooled in channels-last layout on CPU (same maths, faster)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, C, H, W]
        return _via_channels_last(super().forward, x)
