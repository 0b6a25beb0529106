"""Run the candidates of one edge with their common leading ReLU computed once.

In the DARTS ops (Liu et al. 2019, arXiv 1806.09055, ``cnn/operations.py``) every convolution
candidate of an edge (``sep_conv_*``, ``dil_conv_*``, and ``skip_connect`` at stride 2, a
``FactorizedReduce``) starts with ``ReLU(x)`` of the same ``x``; NAS-Bench-201's ``nor_conv_*``
too. Ops that start with a ReLU expose ``after_relu(r)``: the op applied to ``r = relu(x)``, so
``op(x) == op.after_relu(relu(x))`` exactly. ``run_candidates`` computes ``relu(x)`` once per edge
when two or more candidates can share it; outputs and gradients are those of running each op
alone (autograd sums the shared ReLU's output gradients before one ReLU backward).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn


def run_candidates(ops: Sequence[nn.Module], x: torch.Tensor) -> list[torch.Tensor]:
    """``[op(x) for op in ops]``, with one ``relu(x)`` shared by the ops that start with it."""
    sharing = [hasattr(op, "after_relu") for op in ops]
    if sum(sharing) < 2:
        return [op(x) for op in ops]
    r = F.relu(x)
    return [cast("StartsWithReLU", op).after_relu(r) if share else op(x)
            for op, share in zip(ops, sharing)]


class StartsWithReLU(Protocol):
    """An op whose forward is ``after_relu(relu(x))``."""

    def after_relu(self, r: torch.Tensor) -> torch.Tensor: ...
