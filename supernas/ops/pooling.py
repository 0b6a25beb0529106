"""A max-pooling layer that runs PyTorch's faster channels-last kernel on CPU.

On CPU, ``torch.nn.functional.max_pool2d`` on a contiguous NCHW tensor that needs gradients
takes the ``max_pool2d_with_indices`` kernel, which is slower than the same pool on a
channels-last tensor. ``MaxPool2d`` pools a channels-last copy and returns NCHW; outputs and
gradients are bit-identical to ``nn.MaxPool2d`` (``tests/test_ops.py``). Forward + backward,
one thread, layout copies included (``benchmarks/maxpool.py``, results/maxpool.json): 0.30-0.49x
torch's time at stride 1 on the speed and one-shot benchmarks' shapes, 0.56-0.76x at stride 2,
except 1.3x (0.12 -> 0.16 ms) for the smallest stride-2 case. Other devices and inputs already in
channels-last take the stock path unchanged; state dicts and ``isinstance`` checks are those of
``nn.MaxPool2d``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _via_channels_last(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    if x.device.type != "cpu" or x.dim() != 4 or x.is_contiguous(memory_format=torch.channels_last):
        return forward(x)
    return forward(x.contiguous(memory_format=torch.channels_last)).contiguous()


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d``, pooled in channels-last layout on CPU (same result, faster)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, C, H, W]
        return _via_channels_last(super().forward, x)
