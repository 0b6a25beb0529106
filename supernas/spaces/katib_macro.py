"""``katib-macro``: the trainable supernas space behind a Katib ``nasConfig``
(``katib_suggestions.nas_config`` turns an Experiment's ``nasConfig`` into its arguments), so the
architectures of the Katib ``supernas-enas/-evolution/-random`` algorithms build with
``supernas.spaces.build_child`` like any other. Torch only: the Katib adapter imports it from here.

Network (constant width ``channels``, Katib's ``inputSizes`` are ``[H, W, C]``):
stem 3x3 conv + BN -> ``num_layers`` layers -> global average pool -> linear(``outputSizes[-1]``).
Layer ``i`` reads the previous output plus the sum of its chosen skip inputs (``skip{i}``: index
0 = the stem output, ``j`` = layer ``j-1``'s output; larger ones are average-pooled to the
previous output's size), then applies its chosen operation ``layer{i}`` (an operation token built
by ``supernas.ops.katib_macro``). Katib's ENAS trial concatenates the inputs instead
(``ModelConstructor.py``); summing keeps every candidate's weights the same shape in the
supernet, so trials can share them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from supernas.errors import bad_value
from supernas.mutables import InputChoice, LayerChoice
from supernas.ops.katib_macro import build_katib_op
from supernas.spaces.registry import register_space


class KatibLayer(nn.Module):
    """(previous + chosen skips) -> chosen operation."""

    def __init__(self, index: int, operations: Sequence[str], channels: int) -> None:
        super().__init__()
        self.op = LayerChoice({t: build_katib_op(t, channels) for t in operations}, key=f"layer{index}")
        self.skip = InputChoice(index, None, f"skip{index}", reduction="sum", allow_empty=True) if index else None

    def forward(self, prev: torch.Tensor, earlier: list[torch.Tensor]) -> torch.Tensor:
        x = prev  # [B, C, H, W]
        if self.skip is not None:
            active = self.skip.active()
            size = prev.shape[-2:]
            inputs = [_fit(t, size) if active is None or j in active else None for j, t in enumerate(earlier)]
            skips = self.skip(inputs)
            x = x if skips is None else x + skips
        return self.op(x)


def _fit(t: torch.Tensor, size: torch.Size) -> torch.Tensor:
    # size is [H, W]; the stub wants a 2-tuple, not torch.Size
    return t if t.shape[-2:] == size else F.adaptive_avg_pool2d(t, cast("tuple[int, int]", size))


class KatibMacroNetwork(nn.Module):
    """Stem -> layers -> GAP -> linear: ``[B, C_in, H, W] -> [B, classes]``."""

    def __init__(self, num_layers: int, in_channels: int, classes: int, operations: Sequence[str],
                 channels: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        self.layers = nn.ModuleList(KatibLayer(i, operations, channels) for i in range(num_layers))
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        outs = [h]  # skip candidates: stem output, then each layer's output
        for layer in self.layers:
            h = layer(h, outs[:-1])
            outs.append(h)
        return self.classifier(h.mean(dim=(2, 3)))


@register_space("katib-macro")
def katib_macro(num_layers: int = 1, input_sizes: Sequence[int] = (32, 32, 3),
                output_sizes: Sequence[int] = (10,), operations: Sequence[str] = ("skip_connection",),
                channels: int = 32) -> nn.Module:
    """The space of a Katib ``nasConfig``; arguments as ``NasSpace.space_args()``."""
    if len(input_sizes) != 3:
        raise bad_value("input_sizes", list(input_sizes), "[height, width, channels]")
    if num_layers < 1 or channels < 1 or not output_sizes:
        raise bad_value("num_layers/channels/output_sizes", (num_layers, channels, output_sizes),
                        "positive layers and channels, non-empty output sizes")
    return KatibMacroNetwork(num_layers, int(input_sizes[-1]), int(output_sizes[-1]), list(operations), channels)

