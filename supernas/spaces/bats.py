"""``bats``: the binary cell space of BATS (Bulat et al., ECCV 2020, arXiv 2003.01711).

The topology is the DARTS cell network (Liu et al. 2019, arXiv 1806.09055): a real-valued stem,
``layers`` cells with reduction cells at 1/3 and 2/3 of the depth, global average pooling and a
real-valued linear classifier (BATS keeps the first and last layers real, as binary networks
usually do). Each cell takes the outputs of the two previous cells (``s0``, ``s1``), projects them
to ``channels`` with real-valued 1x1 conv + BN (``FactorizedReduce`` when the previous cell
reduced), builds ``nodes`` intermediate nodes and concatenates them.

Decisions (the same rules as the ``darts`` space; normal cells share one set of decisions,
reduction cells another):

* ``{cell}/n{i}``: which two predecessors feed node ``i``, an ``InputChoice`` with
  ``n_chosen=2`` summing the chosen edges (states 0 and 1 are the cell inputs, nodes are
  numbered from 2, as in DARTS genotypes);
* ``{cell}/n{i}_p{j}``: the op on the edge from state ``j`` to node ``i``, a ``LayerChoice`` over
  ``ops`` with ``depends_on=("{cell}/n{i}", j)``.

``cell`` is ``normal`` or ``reduce``. The default op set is BATS's binary set (Sec. 3.1): grouped
and dilated grouped binary convolutions (BN -> sign -> grouped binary conv -> PReLU -> channel
shuffle, identity around it at stride 1, 12 groups where the channels allow; see
``supernas.ops.binary`` for the sources), 3x3 max and average pooling, ``skip_connect`` and
``none``; the op names are those of the DARTS set with ``bin_`` and ``group`` added, as BATS
renames separable into grouped convolutions (the authors' code keeps the DARTS names). The small
defaults (8 channels, 5 cells, 4 nodes) fit CPU tests and quick searches; the paper's search
network is larger.

Kept from DARTS where the first author's implementation (``1adrianb/binary-networks-pytorch``,
``bnn/models/bats.py``) differs: the stem is conv -> BN (theirs adds a ReLU) and the cell
inputs are projected by a real 1x1 conv -> BN (theirs: BN -> 1x1 conv -> PReLU, and BN ->
two 1x1 convs -> PReLU in ``FactorizedReduce``); both are real-valued layers outside the
searched ops.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from supernas.errors import bad_value
from supernas.mutables import InputChoice, LayerChoice
from supernas.ops import OPS, create_op
from supernas.ops.layers import FactorizedReduce
from supernas.spaces.op_subset import op_subset
from supernas.spaces.registry import register_space

MIN_LAYERS = 3  # reduction cells at 1/3 and 2/3 of the depth and at least one normal cell
BATS_OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "bin_group_conv_3x3",
            "bin_group_conv_5x5", "bin_dil_group_conv_3x3", "bin_dil_group_conv_5x5")


def conv_bn(c_in: int, c_out: int, kernel: int = 1, stride: int = 1) -> nn.Sequential:
    """Real-valued conv + BN (stem and cell preprocessing): [B, c_in, H, W] -> [B, c_out, H/s, W/s]."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out))


class BatsCell(nn.Module):
    """A DARTS-topology cell over binary ops: [B, C_pp, H, W], [B, C_p, H, W] -> [B, nodes*C, H', W']."""

    def __init__(self, cell: str, nodes: int, c_pp: int, c_p: int, channels: int,
                 reduction_prev: bool, ops: Sequence[str]) -> None:
        super().__init__()
        self.reduction = cell == "reduce"
        self.pre0 = FactorizedReduce(c_pp, channels) if reduction_prev else conv_bn(c_pp, channels)
        self.pre1 = conv_bn(c_p, channels)
        self.inputs = nn.ModuleList()
        self.edges = nn.ModuleList()
        for i in range(2, nodes + 2):
            in_key = f"{cell}/n{i}"
            self.inputs.append(InputChoice(i, 2, key=in_key, shared=True))
            self.edges.append(nn.ModuleList(
                LayerChoice(self._ops(ops, channels, j), key=f"{in_key}_p{j}", shared=True,
                            depends_on=(in_key, j))
                for j in range(i)))

    def _ops(self, ops: Sequence[str], channels: int, j: int) -> dict[str, nn.Module]:
        stride = 2 if self.reduction and j < 2 else 1
        return {name: create_op(name, channels, stride) for name in ops}

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for choice, edges in zip(self.inputs, self.edges):
            active = cast(InputChoice, choice).active()
            used = range(len(states)) if active is None else active
            outs: list[torch.Tensor | None] = [None] * len(states)
            for j in used:
                outs[j] = cast(nn.ModuleList, edges)[j](states[j])
            states.append(choice(outs))
        return torch.cat(states[2:], dim=1)


class BatsNetwork(nn.Module):
    """Stem -> cells -> global pool -> linear: [B, in_channels, H, W] -> [B, num_classes]."""

    def __init__(self, channels: int, layers: int, nodes: int, stem_multiplier: int,
                 num_classes: int, in_channels: int, ops: Sequence[str]) -> None:
        super().__init__()
        c_curr = stem_multiplier * channels
        self.stem = conv_bn(in_channels, c_curr, kernel=3)
        c_pp, c_p, c = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for index in range(layers):
            reduction = index in (layers // 3, 2 * layers // 3)
            c = c * 2 if reduction else c
            cell = "reduce" if reduction else "normal"
            self.cells.append(BatsCell(cell, nodes, c_pp, c_p, c, reduction_prev, ops))
            reduction_prev = reduction
            c_pp, c_p = c_p, nodes * c
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)  # [B, stem_multiplier*C, H, W]
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(s1).flatten(1))  # [B, classes]


def _check(channels: int, layers: int, nodes: int) -> None:
    for field, value, low in (("channels", channels, 1), ("layers", layers, MIN_LAYERS), ("nodes", nodes, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise bad_value(field, value, f"an integer >= {low}")


def bats_ops(ops: Sequence[str] | None = None) -> list[str]:
    """The candidate ops of every edge: ``BATS_OPS`` (``None``) or any registered ops."""
    return op_subset(ops, BATS_OPS, OPS.names(), "the registered ops, e.g. " + ", ".join(BATS_OPS))


@register_space("bats")
def bats(channels: int = 8, layers: int = 5, nodes: int = 4, stem_multiplier: int = 3,
         num_classes: int = 10, in_channels: int = 3,
         ops: Sequence[str] | None = None) -> nn.Module:
    """The BATS binary cell space (see the module docstring); ``ops=None`` is ``BATS_OPS``."""
    _check(channels, layers, nodes)
    return BatsNetwork(channels, layers, nodes, stem_multiplier, num_classes, in_channels,
                       bats_ops(ops))
