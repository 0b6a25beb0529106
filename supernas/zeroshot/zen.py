"""Zen-score: expected feature-map change under a small Gaussian input perturbation (``zen``).

Lin et al. 2021, "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition", ICCV,
arXiv 2102.01063, section 3. With weights drawn from N(0, 1), Gaussian inputs z and perturbation
z + alpha * eps (alpha = 0.01, the paper's value):

    Zen = log E ||f(z) - f(z + alpha * eps)||_F + sum_i log sqrt(mean_j sigma_ij^2)

where f is the pre-global-average-pool feature map and sigma_ij the standard deviation of channel j
at the i-th batch-norm layer (the BN variance correction). Variant implemented: f is the input of
the last ``nn.AdaptiveAvgPool2d`` that runs (the network output if there is none); sigma_ij is the
batch variance that each BN layer normalises on the unperturbed forward (the paper's definition;
the official code reads ``running_var`` after one momentum update); the Frobenius norm is taken per
sample and averaged; the score is averaged over ``repeats`` Gaussian initialisations (default 1,
the cheapest; more smooth the estimate). Degenerate case: a BN layer whose input has zero batch
variance (its input is constant, e.g. a NAS-Bench-201 node fed only by ``none`` edges is all
zeros) rescales no signal, so it is left out of the correction instead of adding ``log 0 = -inf``
(the official code never meets log 0 because it reads ``running_var``, about 0.9 after one
update from 1, which acts as a floor). A network whose output does not change at all under the
perturbation still scores ``-inf`` (no input reaches the output). Only the batch's shape and device are used. The network's own weights and buffers
are restored afterwards; seeded with a private generator (``seed``), so the result is deterministic.
"""
from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from supernas.zeroshot.registry import KeepState, register_proxy

ALPHA = 0.01  # perturbation scale (Zen-NAS, section 3)
REPEATS = 1  # Gaussian initialisations averaged per score


def _norm_layers(network: nn.Module) -> list[nn.Module]:
    return [m for m in network.modules()
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))]


@torch.no_grad()
def gaussian_init(network: nn.Module, generator: torch.Generator) -> None:
    """Conv/linear weights ~ N(0, 1), biases 0; normalisation layers weight 1, bias 0."""
    for m in network.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=generator, device=m.weight.device))
            if m.bias is not None:
                m.bias.zero_()
    for m in _norm_layers(network):
        if getattr(m, "weight", None) is not None:
            cast(torch.Tensor, m.weight).fill_(1.0)
        if getattr(m, "bias", None) is not None:
            cast(torch.Tensor, m.bias).zero_()


class _Probe:
    """Hooks recording the last global-pool input and every BN layer's mean channel variance."""

    def __init__(self, network: nn.Module) -> None:
        self.pre_gap: torch.Tensor | None = None
        self.bn_vars: list[torch.Tensor] = []
        pools = [m for m in network.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
        bns = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self.handles = [m.register_forward_pre_hook(self._pool) for m in pools]
        self.handles += [m.register_forward_pre_hook(self._bn) for m in bns]

    def _pool(self, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        self.pre_gap = inputs[0]  # [N, C, H, W]

    def _bn(self, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        t = inputs[0].transpose(0, 1).reshape(inputs[0].shape[1], -1)  # [C, N * spatial]
        self.bn_vars.append(t.var(dim=1, unbiased=False).mean())

    def run(self, network: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        self.pre_gap, self.bn_vars = None, []
        out = network(z)
        return (self.pre_gap if self.pre_gap is not None else out), self.bn_vars

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _one_score(network: nn.Module, probe: _Probe, shape: torch.Size, gen: torch.Generator,
               device: torch.device) -> float:
    gaussian_init(network, gen)
    z = torch.randn(shape, generator=gen, device=device)  # [N, ...]
    z_perturbed = z + ALPHA * torch.randn(shape, generator=gen, device=device)
    f, bn_vars = probe.run(network, z)
    f_perturbed, _ = probe.run(network, z_perturbed)
    delta = (f - f_perturbed).flatten(1).norm(dim=1).mean()  # E ||.||_F over the batch
    # zero-variance BN layers (constant input) rescale nothing: left out (module docstring)
    correction = sum(0.5 * math.log(float(v)) for v in bn_vars if float(v) > 0)
    return (math.log(float(delta)) if float(delta) > 0 else -math.inf) + correction


@register_proxy("zen")
def zen(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *, seed: int = 0,
        repeats: int = REPEATS) -> float:
    """Zen-score of ``network`` for inputs shaped like ``x`` ([N, ...])."""
    gen = torch.Generator(device=x.device).manual_seed(seed)
    probe = _Probe(network)
    try:
        with KeepState(network), torch.no_grad():
            network.train()
            scores = [_one_score(network, probe, x.shape, gen, x.device) for _ in range(repeats)]
    finally:
        probe.remove()
    return sum(scores) / len(scores)
