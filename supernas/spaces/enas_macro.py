"""``enas-macro``: the ENAS macro (whole-network) space (Pham et al. 2018, arXiv 1802.03268).

``layers`` layers of constant width ``channels``. Layer ``i`` has two decisions:

* ``layer<i>/op``: LayerChoice over the 6 ENAS macro ops (``supernas.ops.enas``), applied to
  layer ``i-1``'s output (the stem's for layer 0);
* ``layer<i>/skip`` (``i > 0``): InputChoice over the outputs of layers ``0..i-1``
  (``n_chosen=None``, any subset, empty allowed) whose sum is added to the op's output, followed
  by a batch norm. This is the ENAS *search* network's form (``general_child.py``, ``_enas_layer``:
  add, then BN); ENAS's fixed-architecture network concatenates the skips and applies a 1x1 conv
  instead, which would give a frozen child different weights from the supernet, so supernas keeps
  the sum in both.

Pooling as in ENAS: after layers ``layers//3 - 1`` and ``2*layers//3 - 1`` every layer output so
far is halved by its own ``FactorizedReduce`` (the search network keeps the width constant). Stem:
3x3 conv + BN; head: global average pool + linear. Defaults: 12 layers, 36 channels, the
paper's macro search (ENAS ``scripts/cifar10_macro_search.sh``); use fewer for CPU tests.
"""
from __future__ import annotations

from typing import cast

import torch
from torch import nn

from supernas.errors import check_positive_ints
from supernas.mutables import InputChoice, LayerChoice
from supernas.ops import create_op
from supernas.ops.enas import ENAS_MACRO_OPS
from supernas.ops.layers import FactorizedReduce
from supernas.spaces.registry import register_space


class MacroLayer(nn.Module):
    """op(previous output) + sum(chosen skip outputs), then BN: ``[B, C, H, W]`` in and out."""

    def __init__(self, index: int, channels: int, affine: bool) -> None:
        super().__init__()
        self.op = LayerChoice({n: create_op(n, channels, 1, affine) for n in ENAS_MACRO_OPS},
                              key=f"layer{index}/op")
        self.skip = (InputChoice(index, None, f"layer{index}/skip", reduction="sum",
                                 allow_empty=True) if index > 0 else None)
        self.bn = nn.BatchNorm2d(channels, affine=affine) if index > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, earlier: list[torch.Tensor]) -> torch.Tensor:
        out = self.op(x)  # x: layer i-1's output (the stem's for layer 0)
        if self.skip is not None:
            skips = self.skip(earlier)  # earlier: outputs of layers 0..i-1; None if none chosen
            out = out if skips is None else out + skips
        return self.bn(out)


def pool_after(layers: int) -> tuple[int, ...]:
    """Indices of the layers after which the resolution halves (ENAS: 1/3 and 2/3 depth)."""
    distance = layers // 3
    return () if distance == 0 else (distance - 1, 2 * distance - 1)


class MacroNetwork(nn.Module):
    """Stem -> ``layers`` MacroLayers with factorized reductions -> GAP -> linear."""

    def __init__(self, layers: int, channels: int, num_classes: int, in_channels: int,
                 affine: bool) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels, affine=affine))
        self.layers = nn.ModuleList(MacroLayer(i, channels, affine) for i in range(layers))
        self.reductions = nn.ModuleDict({
            str(i): nn.ModuleList(FactorizedReduce(channels, channels, affine)
                                  for _ in range(i + 1))  # layers 0..i
            for i in pool_after(layers)
        })
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, in, H, W] -> [B, classes]
        h = self.stem(x)  # [B, C, H, W]
        outs: list[torch.Tensor] = []
        for i, layer in enumerate(self.layers):
            h = layer(h, outs)
            outs.append(h)
            if str(i) in self.reductions:  # halve every stored output: [B, C, H/2, W/2]
                outs = [fr(o) for fr, o in zip(cast(nn.ModuleList, self.reductions[str(i)]), outs)]
                h = outs[-1]
        return self.classifier(self.pool(h).flatten(1))


@register_space("enas-macro")
def enas_macro(layers: int = 12, channels: int = 36, num_classes: int = 10,
               in_channels: int = 3, affine: bool = True) -> nn.Module:
    """ENAS macro search space (arXiv 1802.03268, Sec. 2.3)."""
    check_positive_ints(layers=layers, channels=channels, num_classes=num_classes,
                        in_channels=in_channels)
    return MacroNetwork(layers, channels, num_classes, in_channels, affine)
