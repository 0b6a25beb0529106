"""Second-order (unrolled) DARTS architecture gradient (Liu et al. 2019, arXiv 1806.09055, Sec. 2.3).

With one virtual weight step ``w' = w - xi * grad_w L_train(w, alpha)`` the architecture gradient
of ``L_val(w', alpha)`` is (DARTS eq. 7-8)::

    grad_alpha L_val(w', alpha) - xi * grad^2_{alpha,w} L_train(w, alpha) . grad_w' L_val(w', alpha)

and the Hessian-vector product is the central finite difference::

    (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps),
    w+- = w +- eps * grad_w' L_val(w', alpha),  eps = 0.01 / ||grad_w' L_val(w', alpha)||

As in the paper's eq. 7 the virtual step is plain gradient descent (no momentum, no weight decay).
The weights are changed in place and restored before returning; BatchNorm running statistics see
the extra forward passes, as in the reference implementation.

No gradient nobody uses: the virtual step's training gradient is taken with the alphas' autograd
off, and the two finite-difference passes with the weights' autograd off (``grads_off``), so
autograd runs no weight-gradient kernels there (values identical).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[Batch], torch.Tensor]

FD_SCALE = 0.01  # eps = 0.01 / ||v|| (DARTS Sec. 2.3 and its reference code)


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
                   base: Sequence[torch.Tensor], alphas: Sequence[torch.Tensor],
                   vector: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Finite-difference ``grad^2_{alpha,w} L(base, alpha) . vector`` (weights left at ``base``)."""
    norm = torch.sqrt(sum((v.detach() ** 2).sum() for v in vector))
    if float(norm) == 0.0:
        _set(weights, base, vector, 0.0)
        return [torch.zeros_like(a) for a in alphas]
    eps = FD_SCALE / float(norm)
    with grads_off(weights):  # only d/d alpha is needed: skip every weight-gradient kernel
        _set(weights, base, vector, eps)
        plus = _grads(loss_fn(batch), alphas)
        _set(weights, base, vector, -eps)
        minus = _grads(loss_fn(batch), alphas)
    _set(weights, base, vector, 0.0)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


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
        hvp = hessian_vector(loss_fn, train_batch, weights, base, alphas, d_w)
    finally:
        _set(weights, base, base, 0.0)
    return val_loss.detach(), [da - xi * h for da, h in zip(d_alpha, hvp)]
