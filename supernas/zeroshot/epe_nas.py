"""EPE-NAS: per-class correlation of input Jacobians (``epe-nas``).

Lopes et al. 2021, "EPE-NAS: Efficient Performance Estimation Without Training for Neural
Architecture Search", ICANN, arXiv 2102.08099, section 3. For every sample the Jacobian of the
summed outputs with respect to the input is taken; within each class c the correlation matrix
Sigma_c of those Jacobians gives e_c = sum_ij log(|Sigma_c[i, j]| + k) with k = 1e-5, and the score
is sum_c |e_c| for up to 100 classes, or (for more classes, with e_c divided by the class count
in the batch) sum_{c, c'} |e_c - e_c'| / C. Higher is better: decorrelated Jacobians within a class.

Variant notes: labels ``y`` are required; the network runs in training mode as in the official
scripts, and its state is restored afterwards. A sample whose Jacobian is constant (zero variance)
has no defined correlation: it is treated as fully correlated (1), so a network whose output does
not depend on its input scores the minimum, 0, instead of NaN. Deterministic (``seed`` unused).
"""
from __future__ import annotations

import torch
from torch import nn

from supernas.errors import bad_value
from supernas.zeroshot.registry import KeepState, register_proxy

K = 1e-5  # EPE-NAS, section 3
MANY_CLASSES = 100  # above this, the paper switches to pairwise differences of class scores


def batch_jacobian(network: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """d(sum of outputs)/dx per sample ([N, input features]) and the number of outputs."""
    with KeepState(network), torch.enable_grad():
        network.train()
        inputs = x.detach().clone().requires_grad_(True)
        out = network(inputs)  # [N, classes]
        (grad,) = torch.autograd.grad(out.sum(), inputs)
    return grad.reshape(x.shape[0], -1).double(), int(out.shape[-1])


def correlation(rows: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between rows ([n, d] -> [n, n]); constant rows correlate 1."""
    centred = rows - rows.mean(dim=1, keepdim=True)
    norms = centred.norm(dim=1)  # [n]
    constant = norms <= 1e-12 * (1.0 + rows.abs().amax(dim=1))
    unit = centred / torch.where(constant, torch.ones_like(norms), norms).unsqueeze(1)
    corr = (unit @ unit.T).clamp(-1.0, 1.0)
    corr[constant, :] = 1.0
    corr[:, constant] = 1.0
    return corr


@register_proxy("epe-nas")
def epe_nas(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
            seed: int = 0) -> float:
    """EPE-NAS score of ``network`` on batch ``x`` ([N, ...]) with labels ``y`` ([N])."""
    if y is None:
        raise bad_value("y", None, "the batch's class labels (EPE-NAS scores Jacobians per class)")
    jac, n_outputs = batch_jacobian(network, x)
    labels = y.reshape(-1).to(jac.device)
    per_class = []
    for c in torch.unique(labels):
        corr = correlation(jac[labels == c])  # [n_c, n_c]
        e_c = torch.log(corr.abs() + K).sum()
        per_class.append(e_c / len(corr) if n_outputs > MANY_CLASSES else e_c)
    e = torch.stack(per_class)  # [classes in batch]
    if n_outputs <= MANY_CLASSES:
        return float(e.abs().sum())
    return float((e[:, None] - e[None, :]).abs().sum() / len(e))
