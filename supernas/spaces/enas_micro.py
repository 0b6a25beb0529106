"""``enas-micro``: the ENAS micro (cell) space (Pham et al. 2018, arXiv 1802.03268, Sec. 2.4).

A cell has two inputs (states 0, 1) and ``nodes`` (B) nodes numbered from 2. Node ``n`` picks two
earlier states and an op for each, and sums the two results. Four decisions per node, in the
order the ENAS controller samples them:

* ``<cell>/n<n>/in0``, ``<cell>/n<n>/in1``: InputChoice over the ``n`` earlier states, one each;
* ``<cell>/n<n>/op0``, ``<cell>/n<n>/op1``: LayerChoice over ``sep_conv_3x3, sep_conv_5x5,
  avg_pool_3x3, max_pool_3x3, skip_connect`` (the DARTS ops: ENAS's separable conv is also
  ReLU-sepconv-BN twice, its pools count no padding, ``skip_connect`` is its "identity").

Cell output as in ENAS ``micro_child.py``: the states no node reads (inputs included) go through
ReLU and a 1x1 conv (one per state, summed: the same as ENAS's concat + sliced 1x1 conv), then
BN, giving ``channels`` outputs. Under a mixing mutator (``active()`` is ``None``) every
intermediate node counts as unused. Normal cells share ``normal/...`` keys, reduction cells
``reduce/...``. A reduction cell first halves the previous cell's output with two
``FactorizedReduce`` (ENAS: the reduced output and a calibrated copy become the two inputs) and
doubles the width. ``layers`` normal cells, with reduction cells after ``layers//3`` and
``2*layers//3 + 1`` cells as ENAS places them. The stem is a 3x3 conv + BN with
``stem_multiplier * channels`` outputs; the head ReLU -> global average pool -> linear.

Defaults: 5 nodes and 20 channels as in ENAS's micro search (``scripts/cifar10_micro_search.sh``);
3 normal cells instead of its 6, to stay CPU friendly.
"""
from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from supernas.errors import check_positive_ints
from supernas.mutables import InputChoice, LayerChoice
from supernas.ops import create_op
from supernas.ops.layers import FactorizedReduce, ReLUConvBN
from supernas.spaces.registry import register_space

ENAS_MICRO_OPS = ("sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3", "skip_connect")


class MicroNode(nn.Module):
    """``op0(in0(states)) + op1(in1(states))``: ``[B, C, H, W]``."""

    def __init__(self, cell: str, index: int, channels: int, affine: bool) -> None:
        super().__init__()
        key = f"{cell}/n{index}"
        self.in0 = InputChoice(index, 1, f"{key}/in0", shared=True)
        self.op0 = self._ops(f"{key}/op0", channels, affine)
        self.in1 = InputChoice(index, 1, f"{key}/in1", shared=True)
        self.op1 = self._ops(f"{key}/op1", channels, affine)

    @staticmethod
    def _ops(key: str, channels: int, affine: bool) -> LayerChoice:
        ops = {name: create_op(name, channels, 1, affine) for name in ENAS_MICRO_OPS}
        return LayerChoice(ops, key=key, shared=True)

    def used(self) -> set[int] | None:
        """Indices of the states this node reads (``None``: unknown, a mixing mutator runs)."""
        a0, a1 = self.in0.active(), self.in1.active()
        return None if a0 is None or a1 is None else set(a0) | set(a1)

    def forward(self, states: list[torch.Tensor]) -> torch.Tensor:
        return self.op0(self.in0(states)) + self.op1(self.in1(states))


def _calibrate(c_in: int, c_out: int, halve: bool, affine: bool) -> nn.Module:
    """Bring a cell input to ``[B, c_out, H, W]`` of this cell (ENAS ``_maybe_calibrate_size``)."""
    if halve:
        return FactorizedReduce(c_in, c_out, affine)
    return ReLUConvBN(c_in, c_out, 1, affine=affine) if c_in != c_out else nn.Identity()


class MicroCell(nn.Module):
    """``(s0, s1) -> [B, C, H', W']``; a reduction cell reads only ``s1`` and halves it."""

    def __init__(self, nodes: int, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool, affine: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = _calibrate(c_p if reduction else c_pp, c, reduction or reduction_prev, affine)
        self.pre1 = _calibrate(c_p, c, reduction, affine)
        cell = "reduce" if reduction else "normal"
        self.nodes = nn.ModuleList(MicroNode(cell, 2 + i, c, affine) for i in range(nodes))
        self.out_convs = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for _ in range(nodes + 2))
        self.out_bn = nn.BatchNorm2d(c, affine=affine)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s1 if self.reduction else s0), self.pre1(s1)]  # [B, C, H', W']
        used: set[int] | None = set()
        for node in self.nodes:
            states.append(node(states))
            node_used = cast(MicroNode, node).used()
            used = None if used is None or node_used is None else used | node_used
        unused = [i for i in range(len(states)) if (i >= 2 if used is None else i not in used)]
        out = sum(self.out_convs[i](F.relu(states[i])) for i in unused)
        return self.out_bn(out)


def reduction_positions(layers: int) -> tuple[int, int]:
    """Positions of the 2 reduction cells among ``layers + 2`` cells (ENAS ``pool_layers``)."""
    distance = layers // 3
    return distance, 2 * distance + 1


class MicroNetwork(nn.Module):
    """Stem -> ``layers`` normal + 2 reduction cells -> ReLU -> GAP -> linear."""

    def __init__(self, layers: int, channels: int, nodes: int, stem_multiplier: int,
                 num_classes: int, in_channels: int, affine: bool) -> None:
        super().__init__()
        c_stem = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_stem))
        c_pp, c_p, c, reduction_prev = c_stem, c_stem, channels, False
        self.cells = nn.ModuleList()
        for i in range(layers + 2):
            reduction = i in reduction_positions(layers)
            c = 2 * c if reduction else c
            self.cells.append(MicroCell(nodes, c_pp, c_p, c, reduction, reduction_prev, affine))
            c_pp, c_p, reduction_prev = c_p, c, reduction
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, in, H, W] -> [B, classes]
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(F.relu(s1)).flatten(1))


@register_space("enas-micro")
def enas_micro(layers: int = 3, channels: int = 20, nodes: int = 5, stem_multiplier: int = 3,
               num_classes: int = 10, in_channels: int = 3, affine: bool = True) -> nn.Module:
    """ENAS micro search space (arXiv 1802.03268, Sec. 2.4)."""
    check_positive_ints(layers=layers, channels=channels, nodes=nodes,
                        stem_multiplier=stem_multiplier, num_classes=num_classes,
                        in_channels=in_channels)
    return MicroNetwork(layers, channels, nodes, stem_multiplier, num_classes, in_channels,
                        affine)
