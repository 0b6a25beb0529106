"""``darts``: the DARTS CNN cell space (Liu et al. 2019, arXiv 1806.09055, ``cnn/model_search.py``).

Cell: two inputs (the outputs of the two previous cells, preprocessed to ``channels``) and
``nodes`` intermediate nodes; node ``n`` (numbered from 2, as in DARTS genotypes) may read every
earlier state ``p`` (0, 1: cell inputs; 2..: earlier nodes). Output: the intermediate nodes
concatenated along channels (``nodes * channels``).

Representation (one decision each, shared by all normal cells ``normal/...`` and by all reduction
cells ``reduce/...``):

* ``<cell>/n<n>``: InputChoice over the ``n`` earlier states, ``n_chosen=2``, summed;
* ``<cell>/n<n>_p<p>``: LayerChoice over the 8 DARTS ops (or the subset ``ops``, in its order;
  ``supernas.spaces.op_subset``) for edge ``p -> n``, with ``depends_on=("<cell>/n<n>", p)``;
  edges from the cell inputs stride 2 in reduction cells.

A cell computes only the edges its InputChoice reports ``active()`` (all of them under a mixing
mutator, as DARTS search does; two per node for a fixed or sampled child), and ``freeze`` drops
the unchosen edges. Reduction cells sit at 1/3 and 2/3 of the depth and double the channels.

Defaults are the DARTS search network (8 cells, 16 channels, 4 nodes, stem multiplier 3, batch
norm without affine parameters in the cells, a non-affine BN after pools as the search code's
``MixedOp`` adds). For retraining a derived cell use ``affine=True, pool_bn=False`` (DARTS
``model.py``).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from supernas.errors import check_positive_ints
from supernas.mutables import InputChoice, LayerChoice
from supernas.ops import create_op
from supernas.ops.darts import DARTS_OPS
from supernas.ops.layers import FactorizedReduce, ReLUConvBN
from supernas.spaces.op_subset import op_subset
from supernas.spaces.registry import register_space


def darts_ops(ops: Sequence[str] | None = None) -> list[str]:
    """The candidate ops of every edge: ``DARTS_OPS`` (``None``) or a subset of them."""
    return op_subset(ops, DARTS_OPS, DARTS_OPS, "the DARTS ops " + ", ".join(DARTS_OPS))


def edge_ops(channels: int, stride: int, affine: bool, pool_bn: bool,
             names: Sequence[str] = DARTS_OPS) -> dict[str, nn.Module]:
    """The candidates ``names`` for one edge: ``[B, C, H, W] -> [B, C, H/stride, W/stride]``."""
    ops = {}
    for name in names:
        op = create_op(name, channels, stride, affine)
        if pool_bn and "pool" in name:
            op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
        ops[name] = op
    return ops


class DartsNode(nn.Module):
    """One intermediate node: sum of two (of ``index``) op-transformed earlier states."""

    def __init__(self, cell: str, index: int, channels: int, reduction: bool, affine: bool,
                 pool_bn: bool, ops: Sequence[str] = DARTS_OPS) -> None:
        super().__init__()
        key = f"{cell}/n{index}"
        self.inputs = InputChoice(index, 2, key, reduction="sum", shared=True)
        self.edges = nn.ModuleList(
            LayerChoice(edge_ops(channels, 2 if reduction and p < 2 else 1, affine, pool_bn, ops),
                        key=f"{key}_p{p}", shared=True, depends_on=(key, p))
            for p in range(index)
        )

    def forward(self, states: list[torch.Tensor]) -> torch.Tensor:  # each [B, C, H, W]
        active = self.inputs.active()
        outs = [edge(s) if active is None or p in active else None
                for p, (edge, s) in enumerate(zip(self.edges, states))]
        return self.inputs(outs)  # [B, C, H/s, W/s]


class DartsCell(nn.Module):
    """``(s0, s1) -> [B, nodes * C, H', W']``; reduction cells halve the resolution."""

    def __init__(self, nodes: int, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool, affine: bool, pool_bn: bool,
                 ops: Sequence[str] = DARTS_OPS) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = (FactorizedReduce(c_pp, c, affine) if reduction_prev
                     else ReLUConvBN(c_pp, c, 1, affine=affine))
        self.pre1 = ReLUConvBN(c_p, c, 1, affine=affine)
        cell = "reduce" if reduction else "normal"
        self.nodes = nn.ModuleList(DartsNode(cell, 2 + i, c, reduction, affine, pool_bn, ops)
                                   for i in range(nodes))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]  # each [B, C, H, W]
        for node in self.nodes:
            states.append(node(states))
        return torch.cat(states[2:], dim=1)


class DartsNetwork(nn.Module):
    """Stem (conv 3x3 + BN) -> ``cells`` cells -> global average pool -> linear."""

    def __init__(self, cells: int, channels: int, nodes: int, stem_multiplier: int,
                 num_classes: int, in_channels: int, affine: bool, pool_bn: bool,
                 ops: Sequence[str] = DARTS_OPS) -> None:
        super().__init__()
        c_stem = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_stem))
        c_pp, c_p, c = c_stem, c_stem, channels
        reduction_prev = False
        self.cells = nn.ModuleList()
        for i in range(cells):
            reduction = i in (cells // 3, 2 * cells // 3)
            c = 2 * c if reduction else c
            self.cells.append(DartsCell(nodes, c_pp, c_p, c, reduction, reduction_prev,
                                        affine, pool_bn, ops))
            c_pp, c_p, reduction_prev = c_p, nodes * c, reduction
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, in, H, W] -> [B, classes]
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(s1).flatten(1))


@register_space("darts")
def darts(cells: int = 8, channels: int = 16, nodes: int = 4, stem_multiplier: int = 3,
          num_classes: int = 10, in_channels: int = 3, affine: bool = False,
          pool_bn: bool = True, ops: Sequence[str] | None = None) -> nn.Module:
    """DARTS search space; defaults from the DARTS CIFAR-10 search (arXiv 1806.09055, Sec. 3.1);
    ``ops=None`` searches all of ``DARTS_OPS``, a list only those (``darts_ops``)."""
    check_positive_ints(cells=cells, channels=channels, nodes=nodes,
                        stem_multiplier=stem_multiplier, num_classes=num_classes,
                        in_channels=in_channels)
    return DartsNetwork(cells, channels, nodes, stem_multiplier, num_classes, in_channels,
                        affine, pool_bn, darts_ops(ops))
