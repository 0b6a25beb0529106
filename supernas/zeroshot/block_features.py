"""The feature maps at the boundaries of a network's primary blocks, for AZ-NAS's proxies.

AZ-NAS (Lee & Ham 2024, CVPR, arXiv 2403.19232, section 3) reads the output of every primary block
and, for trainability, the Jacobian between consecutive ones; for NAS-Bench-201 the official code
takes the stem's output and every cell's and residual reduction block's output (not the BN-ReLU
head). Which modules are blocks is found from the network's layout: a top-level
``nn.Sequential`` / ``nn.ModuleList`` child whose items all have sub-modules is the block list
(the longest such, e.g. NB201's ``cells``), and the blocks are the top-level child just before it
(the stem) followed by its items. A network without a block list uses its top-level children.
Only outputs of shape ``[N, C, H, W]`` with ``H * W > 1`` are kept (the feature maps before global
pooling), in the order they run.
"""
from __future__ import annotations

import torch
from torch import nn


def block_modules(network: nn.Module) -> list[nn.Module]:
    """The primary blocks of ``network`` (module docstring), in definition order."""
    children = list(network.children())
    lists = [i for i, c in enumerate(children) if _is_block_list(c)]
    if not lists:
        return children
    at = max(lists, key=lambda i: len(list(children[i].children())))
    return children[at - 1:at] + list(children[at].children())


def _is_block_list(module: nn.Module) -> bool:
    items = list(module.children()) if isinstance(module, (nn.Sequential, nn.ModuleList)) else []
    return len(items) > 1 and all(any(True for _ in m.children()) for m in items)


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
