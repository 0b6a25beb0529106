"""Second-order (unrolled) DARTS architecture gradient (Liu et al. 2019, arXiv 1806.09055, Sec. 2.3).

With one virtual weight step ``w' = w - xi * grad_w L_train(w, alpha)`` the architecture gradient
of ``L_val(w', alpha)`` is (DARTS eq. 7-8)::

    grad_alpha L_val(w', alpha) - xi * grad^2_{alpha,w} L_train(w, alpha) . grad_w' L_val(w', alpha)

and the Hessian-vector product is computed exactly, by double backward (Pearlmutter 1994,
"Fast exact multiplication by the Hessian"): ``d/d alpha [grad_w L_train(w, alpha) . v]`` with
``v = grad_w' L_val(w', alpha)``. DARTS's own code uses the central finite difference with
``eps = 0.01 / ||v||``; on ReLU supernets that estimate was measured 249 % (relative L2) off
the exact product (issue 10), at about the same cost as the two extra passes it replaces.

As in the paper's eq. 7 the virtual step is plain gradient descent (no momentum, no weight decay).
The weights are changed in place and restored before returning; BatchNorm running statistics see
the extra forward passes, as in the reference implementation.

No gradient nobody uses: the virtual step's training gradient is taken with the alphas' autograd
off (``grads_off``), so autograd runs no alpha-gradient kernels there (values identical).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[Batch], torch.Tensor]

@contextmanager
def grads_off(params: Sequence[torch.Tensor]) -> Iterator[None]:
    """Turn ``requires_grad`` off for ``params`` inside the block; restored even on error."""
    changed = [p for p in params if p.requires_grad]
    for p in changed:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in changed:
            p.requires_grad_(True)


def _grads(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """d loss / d params, zeros for parameters the loss does not reach."""
    found = torch.autograd.grad(loss, list(params), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, found)]


def _set(weights: Sequence[nn.Parameter], base: Sequence[torch.Tensor],
         step: Sequence[torch.Tensor], scale: float) -> None:
    with torch.no_grad():
        for w, b, s in zip(weights, base, step):
            w.copy_(b + scale * s)


def hessian_vector(loss_fn: LossFn, batch: Batch, weights: Sequence[nn.Parameter],
                   alphas: Sequence[torch.Tensor], vector: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Exact ``grad^2_{alpha,w} L(w, alpha) . vector`` by double backward (Pearlmutter 1994):
    ``d/d alpha [grad_w L(w, alpha) . vector]``, at the weights' current values."""
    loss = loss_fn(batch)
    g_w = torch.autograd.grad(loss, list(weights), create_graph=True, allow_unused=True)
    dot = sum((g * v.detach()).sum() for g, v in zip(g_w, vector) if g is not None)
    if not isinstance(dot, torch.Tensor) or not dot.requires_grad:
        return [torch.zeros_like(a) for a in alphas]  # no path from alpha to grad_w L
    return _grads(dot, alphas)


def unrolled_arch_grads(loss_fn: LossFn, weights: Sequence[nn.Parameter],
                        alphas: Sequence[torch.Tensor], train_batch: Batch, val_batch: Batch,
                        xi: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(validation loss at w', second-order gradient per alpha); weights restored on return."""
    base = [w.detach().clone() for w in weights]
    try:
        with grads_off(alphas):  # only d/d w is needed here
            g_train = _grads(loss_fn(train_batch), weights)
        _set(weights, base, g_train, -xi)  # w' = w - xi * grad_w L_train
        val_loss = loss_fn(val_batch)
        found = _grads(val_loss, list(alphas) + list(weights))
        d_alpha, d_w = found[: len(alphas)], found[len(alphas):]
        _set(weights, base, base, 0.0)  # back to w: the product is taken at the current weights
        hvp = hessian_vector(loss_fn, train_batch, weights, alphas, d_w)
    finally:
        _set(weights, base, base, 0.0)
    return val_loss.detach(), [da - xi * h for da, h in zip(d_alpha, hvp)]
