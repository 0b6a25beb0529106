"""The feature maps at the boundaries of a network's primary blocks, for AZ-NAS's proxies.

AZ-NAS (Lee & Ham 2024, CVPR, arXiv 2403.19232, section 3) reads the output of every primary block
(for NAS-Bench-201: every cell and every residual reduction block) and, for trainability, the
Jacobian between consecutive ones. Which modules are blocks is found from the network's layout:
its top-level children in order, where a ``nn.Sequential`` / ``nn.ModuleList`` child whose items
all have sub-modules (a list of blocks, e.g. NB201's ``cells``) is expanded into those items, while
a container of leaf layers (a conv + BN stem, a BN-ReLU head) stays one block. Only outputs of
shape ``[N, C, H, W]`` with ``H * W > 1`` are kept (the feature maps before global pooling), in
the order they run.
"""
from __future__ import annotations

import torch
from torch import nn


def block_modules(network: nn.Module) -> list[nn.Module]:
    """The primary blocks of ``network`` (module docstring), in definition order."""
    blocks: list[nn.Module] = []
    for child in network.children():
        items = list(child.children()) if isinstance(child, (nn.Sequential, nn.ModuleList)) else []
        if len(items) > 1 and all(any(True for _ in m.children()) for m in items):
            blocks.extend(items)
        else:
            blocks.append(child)
    return blocks


def block_features(network: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``network`` on ``x`` and return the blocks' 4-D outputs ([N, C, H, W]), in run order.

    The tensors stay in the autograd graph (when grad is enabled), so a later block's output can
    be differentiated with respect to an earlier one.
    """
    features: list[torch.Tensor] = []

    def keep(module: nn.Module, inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4 and output.shape[2] * output.shape[3] > 1:
            features.append(output)

    handles = [m.register_forward_hook(keep) for m in block_modules(network)]
    try:
        network(x)
    finally:
        for h in handles:
            h.remove()
    return features
