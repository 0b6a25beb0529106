"""Beta-Decay regularisation of the architecture parameters (beta-DARTS).

beta-DARTS (Ye et al., CVPR 2022, arXiv 2203.01665) adds ``lambda * mean_e logsumexp(alpha_e)``
(the mean over decisions of the smooth maximum of each decision's logits) to the architecture
loss. Its gradient on ``alpha_e`` is ``lambda / |E| * softmax(alpha_e)``: the leading logits are
pushed down the most, which keeps the activated architecture weights from growing large and
varied before the supernet has trained. Unlike DARTS-'s auxiliary skip it leaves a skip op its
value as a residual path, so cells that keep one useful skip stay reachable. The authors' NB201
code raises lambda linearly with the epoch (``lambda = 50 * epoch / 100``, i.e. 0 -> 24.5 over
its 50 epochs); ``weight_at`` scales that ramp to the search's length, reaching ``lambda_max`` at
the last epoch.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch


def beta_decay_loss(alphas: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over decisions of ``logsumexp(alpha)`` (the Beta-Decay term, before its weight)."""
    return torch.stack([torch.logsumexp(a, dim=-1) for a in alphas]).mean()


def weight_at(lambda_max: float, epoch: int, max_epochs: int) -> float:
    """The linear ramp ``lambda_max * epoch / (max_epochs - 1)`` (0 at the first epoch)."""
    return lambda_max * epoch / (max_epochs - 1) if max_epochs > 1 else lambda_max


def add_beta_decay_grads(alphas: Sequence[torch.nn.Parameter], weight: float) -> None:
    """Add ``weight * d beta_decay_loss / d alpha`` to each alpha's ``.grad`` (no-op at 0)."""
    if weight == 0 or not alphas:
        return
    with torch.enable_grad():
        grads = torch.autograd.grad(weight * beta_decay_loss(list(alphas)), list(alphas))
    for a, g in zip(alphas, grads):
        a.grad = g if a.grad is None else a.grad + g
