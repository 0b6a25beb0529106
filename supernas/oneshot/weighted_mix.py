"""``sum_k weights[index[k]] * outputs[k]`` without a weighted copy per candidate.

The DARTS mixed op (Liu et al. 2019, arXiv 1806.09055, eq. 2) written as ``sum(w_i * o_i)``
makes autograd materialise every product ``w_i * o_i`` and every partial sum. ``weighted_mix``
accumulates in place into one output (``addcmul_``) and computes the gradients directly:
``d/d o_k = g * w_k`` and ``d/d w_k = <g, o_k>`` (a dot product, no product tensor). The
candidate outputs are kept for the backward only when the weights need a gradient (the
architecture pass). The backward is made of differentiable ops, so second-order DARTS can
differentiate through it (``tests/test_weighted_mix.py`` checks values, gradients and second
derivatives against the plain sum in float64).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

CL = torch.channels_last


def _flat(t: torch.Tensor) -> torch.Tensor | None:
    """``t`` as a 1-D view in memory order, if it is dense NCHW or channels-last."""
    if t.is_contiguous():
        return t.view(-1)
    if t.dim() == 4 and t.is_contiguous(memory_format=CL):
        return t.permute(0, 2, 3, 1).reshape(-1)  # a view: NHWC is contiguous here
    return None


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(a * b).sum()``, as one dot product when both have the same dense layout."""
    fa, fb = _flat(a), _flat(b)
    if fa is not None and fb is not None and a.stride() == b.stride():
        return torch.dot(fa, fb)
    return (a * b).sum()


class _WeightedMix(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weights: torch.Tensor, index: tuple[int, ...], *outputs: torch.Tensor) -> torch.Tensor:
        ctx.index = index
        keep = outputs if ctx.needs_input_grad[0] else ()
        ctx.save_for_backward(weights, *keep)
        out = outputs[0] * weights[index[0]]
        for o, i in zip(outputs[1:], index[1:]):
            out.addcmul_(o, weights[i])
        return out

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        weights, *outputs = ctx.saved_tensors
        grad_w = None
        if ctx.needs_input_grad[0]:
            dots = torch.stack([_dot(g, o) for o in outputs])
            grad_w = torch.zeros_like(weights).index_add(0, torch.tensor(ctx.index), dots)
        grads = [g * weights[i] if need else None
                 for i, need in zip(ctx.index, ctx.needs_input_grad[2:])]
        return (grad_w, None, *grads)


def weighted_mix(outputs: Sequence[torch.Tensor], weights: torch.Tensor,
                 index: Sequence[int]) -> torch.Tensor:
    """``sum_k weights[index[k]] * outputs[k]`` (outputs of one shape; ``weights``: ``[n]``)."""
    return _WeightedMix.apply(weights, tuple(index), *outputs)
