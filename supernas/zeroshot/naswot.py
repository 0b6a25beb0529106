"""NASWOT: the log-determinant of the ReLU activation-code kernel (``naswot``).

Mellor et al. 2021, "Neural Architecture Search without Training", ICML, arXiv 2006.04647
(version 2+, the Hamming-kernel score). For a batch of N inputs every ReLU unit gives each input a
binary code bit (pre-activation > 0); with c_i the concatenated code of input i over all N_A units,
K[i, j] = N_A - Hamming(c_i, c_j) and the score is log|det K|. Inputs that the network maps to the
same linear region make K singular: the score is then ``-inf`` (the lowest possible rank); so is
the score of a network without ReLU units (N_A = 0, K = 0).

Variant notes: ReLUs are found as ``nn.ReLU`` modules (``torch.nn.functional.relu`` calls are not
seen); the network runs in training mode as in the official scripts (batch statistics), and its
state is restored afterwards. Deterministic for a given network and batch (``seed`` is unused).
"""
from __future__ import annotations

import torch
from torch import nn

from supernas.zeroshot.registry import KeepState, register_proxy


def relu_modules(network: nn.Module) -> list[nn.Module]:
    """Every ``nn.ReLU`` in ``network``."""
    return [m for m in network.modules() if isinstance(m, nn.ReLU)]


@register_proxy("naswot")
def naswot(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
           seed: int = 0) -> float:
    """log|K| of the activation-code kernel of ``network`` on batch ``x`` ([N, ...])."""
    relus = relu_modules(network)
    n = x.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)  # [N, N]

    def add_codes(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        if inputs[0].shape[0] == n:
            codes = (inputs[0].detach().reshape(n, -1) > 0).float()  # [N, units]
            matches = codes @ codes.T + (1 - codes) @ (1 - codes).T  # units - Hamming, [N, N]
            kernel.add_(matches.double())

    handles = [m.register_forward_pre_hook(add_codes) for m in relus]
    try:
        with KeepState(network), torch.no_grad():
            network.train()
            network(x)
    finally:
        for h in handles:
            h.remove()
    return log_det(kernel)


def log_det(kernel: torch.Tensor) -> float:
    """log|det kernel|, ``-inf`` for a singular (or numerically non-positive) kernel."""
    sign, value = torch.linalg.slogdet(kernel)
    return float(value) if float(sign) > 0 else float("-inf")
