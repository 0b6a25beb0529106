"""Model size as a proxy: parameter count (``params``) and multiply-accumulates (``macs``).

Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS", ICLR, arXiv 2101.08134, report
the parameter count and FLOPs as baselines that rank NAS-Bench-201 cells about as well as most
zero-cost proxies; AZ-NAS (Lee & Ham 2024, CVPR, arXiv 2403.19232) keeps FLOPs as its
"complexity" proxy. Both are read with ``supernas.cost`` (``count_parameters``; ``count_macs`` on
one input shaped like a sample of ``x``: every conv and linear output element times its fan-in).
Bigger is ranked higher. Deterministic; labels and ``seed`` are unused; the network is left as it
was (``count_macs`` restores the training flag and runs in eval mode, so no statistics move).
"""
from __future__ import annotations

import torch
from torch import nn

from supernas.cost import count_macs, count_parameters
from supernas.zeroshot.registry import register_proxy


@register_proxy("params")
def params(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
           seed: int = 0) -> float:
    """Number of parameter elements of ``network``."""
    return float(count_parameters(network))


@register_proxy("macs")
def macs(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
         seed: int = 0) -> float:
    """MACs of one forward pass of one sample shaped like ``x[0]``."""
    return float(count_macs(network, tuple(x.shape[1:])))
