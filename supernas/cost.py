"""Cost of a network: parameter count and multiply-accumulates (MACs) for one input.

MACs are counted with forward hooks on the modules that run: every ``nn.Conv1d/2d/3d`` (and
subclasses, e.g. the binary convs) adds ``output elements x in_channels / groups x kernel
volume``, every ``nn.Linear`` adds ``output elements x in_features``. Biases, batch norm,
activations and pooling are not counted (the usual convention, as in DARTS's "multiply-adds"
reports). Run on a frozen child (``freeze``) so only the chosen ops count; on a supernet with a
mutator bound, what that mutator runs is counted.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.errors import bad_value
from supernas.freeze import freeze
from supernas.space import Choice
from supernas.spaces import space_of

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements of ``model`` (each shared tensor counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def module_macs(module: nn.Module, output: torch.Tensor) -> int:
    """MACs of one call of a conv or linear ``module`` that produced ``output`` (batch 1)."""
    if isinstance(module, CONV_TYPES):
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return output.numel() * per_output
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _check_input_size(input_size: Sequence[int]) -> tuple[int, ...]:
    size = tuple(input_size) if isinstance(input_size, (list, tuple, torch.Size)) else ()
    if not size or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise bad_value("input_size", input_size,
                        "the shape of one input without the batch dimension, e.g. (3, 32, 32)")
    return size


@torch.no_grad()
def count_macs(model: nn.Module, input_size: Sequence[int]) -> int:
    """MACs of one forward pass of one input of shape ``input_size`` (e.g. ``(3, 32, 32)``).

    Runs ``model`` in eval mode on a zero tensor ``[1, *input_size]`` and restores its mode.
    """
    size = _check_input_size(input_size)
    total = [0]

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            total[0] += module_macs(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (*CONV_TYPES, nn.Linear))]
    was_training = model.training
    param = next(model.parameters(), None)
    x = torch.zeros(1, *size, device=param.device if param is not None else None)
    try:
        model.eval()
        model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total[0]


def architecture_cost(architecture: Architecture | dict[str, Choice],
                      input_size: Sequence[int], space: nn.Module | None = None) -> dict[str, int]:
    """``{"params": ..., "macs": ...}`` of the frozen child of ``architecture``.

    The child is frozen from ``space`` when given (no new supernet is built), otherwise from the
    space the architecture names (``supernas.spaces.space_of``).
    """
    if space is None:
        if not isinstance(architecture, Architecture):
            raise bad_value("space", None, "a space module when the architecture is a plain "
                            "mapping (an Architecture names its own space)")
        space = space_of(architecture)
    child = freeze(space, architecture)
    return {"params": count_parameters(child), "macs": count_macs(child, input_size)}
