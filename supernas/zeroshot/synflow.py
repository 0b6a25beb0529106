"""SynFlow: the synaptic-flow saliency summed over every parameter (``synflow``).

Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving synaptic
flow", NeurIPS, arXiv 2006.05467 (the score R = 1^T (prod_l |W_l|) 1 and the per-parameter
saliency |theta * dR/dtheta|), used as a NAS proxy by Abdelfattah et al. 2021, "Zero-Cost Proxies
for Lightweight NAS", ICLR, arXiv 2101.08134 (section 3: the network's sum of saliencies,
computed in double precision on an all-ones input of batch 1 with every parameter replaced by its
absolute value, batch norm disabled).

Variant implemented: the network is deep-copied (the caller's network is never touched), cast to
float64, every parameter replaced by its absolute value, and every batch-norm layer put in eval
mode with reset running statistics (mean 0, variance 1), which makes it a per-channel ``|gamma| x +
|beta|`` map: batch norm is as good as disabled, as in Abdelfattah et al. The score is
``log(sum |theta * dR/dtheta|)`` (the log keeps the order, and the raw sums overflow a float for
deep networks); ``-inf`` when no parameter gets any flow (e.g. no path from input to output).
Only the shape of ``x`` is used; deterministic (``seed`` unused).
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from supernas.zeroshot.registry import register_proxy


def linearised_copy(network: nn.Module) -> nn.Module:
    """A float64 copy of ``network`` with |parameters| and batch norm reduced to an affine map."""
    net = copy.deepcopy(network).double().train()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.eval()
    return net


@register_proxy("synflow")
def synflow(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
            seed: int = 0) -> float:
    """log of the summed SynFlow saliency of ``network`` for inputs shaped like ``x`` ([N, ...])."""
    net = linearised_copy(network)
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)  # [1, ...]
    with torch.enable_grad():
        net(ones).sum().backward()  # R = 1^T f(1)
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in net.parameters() if p.grad is not None)
    return math.log(total) if total > 0 else -math.inf
