"""``nb201``: the NAS-Bench-201 cell space (Dong & Yang 2020, arXiv 2001.00326).

Cell: 4 nodes; node 0 is the cell input and node ``i`` sums one op over every earlier node. The
6 edges are LayerChoices ``e0..e5`` over ``none, skip_connect, nor_conv_1x1, nor_conv_3x3,
avg_pool_3x3``, in the order of the benchmark's cell string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: e0 = 1<-0, e1 = 2<-0, e2 = 2<-1, e3 = 3<-0, e4 = 3<-1,
e5 = 3<-2. Every cell shares one architecture (``shared=True``), so the space has 5**6 = 15,625
architectures, one per row of the benchmark tables.

Skeleton (the benchmark's "tiny network"): 3x3 conv + BN stem with ``C`` channels, three stages
of ``N`` cells with ``C``, ``2C``, ``4C`` channels, a residual block with stride 2 between stages,
then BN -> ReLU -> global average pool -> linear. The benchmark trained ``C=16, N=5`` with affine
batch norm; pass ``affine=False`` for DARTS-style searches (as the NAS-Bench-201 paper's own
one-shot baselines did). ``to_nb201_string`` / ``from_nb201_string`` convert choices both ways.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from supernas.errors import ArchitectureError, check_positive_ints
from supernas.mutables import LayerChoice
from supernas.ops import create_op
from supernas.ops.layers import ReLUConvBN
from supernas.ops.nb201 import NB201_OPS
from supernas.spaces.registry import register_space

__all__ = ["EDGES", "KEYS", "NB201Network", "from_nb201_string", "nb201", "to_nb201_string"]

EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # e<k> = (target node, source node)
KEYS = tuple(f"e{k}" for k in range(len(EDGES)))


class NB201Cell(nn.Module):
    """The searched cell: ``[B, C, H, W] -> [B, C, H, W]``; output = node 3."""

    def __init__(self, channels: int, affine: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            LayerChoice({op: create_op(op, channels, 1, affine) for op in NB201_OPS},
                        key=key, shared=True)
            for key in KEYS
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            outs = [self.edges[k](nodes[src]) for k, (t, src) in enumerate(EDGES) if t == target]
            nodes.append(sum(outs[1:], outs[0]))
        return nodes[-1]


class ResidualReduction(nn.Module):
    """Between stages: two ReLU-Conv-BN 3x3 (the first with stride 2) plus a pooled 1x1 shortcut.

    ``[B, C_in, H, W] -> [B, C_out, ceil(H/2), ceil(W/2)]``.
    """

    def __init__(self, c_in: int, c_out: int, affine: bool) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, affine=affine)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, affine=affine)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, ceil_mode=True),
                                        nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Stem -> 3 stages of ``N`` cells (C, 2C, 4C) -> BN-ReLU-GAP-linear."""

    def __init__(self, C: int, N: int, num_classes: int, in_channels: int, affine: bool) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResidualReduction(width // 2, width, affine))
            layers += [NB201Cell(width, affine) for _ in range(N)]
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, in, H, W] -> [B, classes]
        x = self.lastact(self.cells(self.stem(x)))  # [B, 4C, H/4, W/4]
        return self.classifier(self.pool(x).flatten(1))


@register_space("nb201")
def nb201(C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3,
          affine: bool = True) -> nn.Module:
    """NAS-Bench-201 space; defaults are the benchmark's (C=16, N=5, CIFAR-10)."""
    check_positive_ints(C=C, N=N, num_classes=num_classes, in_channels=in_channels)
    return NB201Network(C, N, num_classes, in_channels, affine)


def to_nb201_string(choices: Mapping[str, Any]) -> str:
    """``{"e0": op, ..., "e5": op}`` (or an ``Architecture``) -> ``|op~0|+|op~0|op~1|+|...|``."""
    choices = dict(getattr(choices, "choices", choices))
    problems = [f"{key}: missing; allowed: one of {', '.join(NB201_OPS)}"
                for key in KEYS if key not in choices]
    problems += [f"{key}: {choices[key]!r} is not allowed; allowed: one of {', '.join(NB201_OPS)}"
                 for key in KEYS if key in choices and choices[key] not in NB201_OPS]
    problems += [f"{key}: unknown key; allowed keys: {', '.join(KEYS)}"
                 for key in choices if key not in KEYS]
    if problems:
        raise ArchitectureError(problems)
    nodes = [[f"{choices[KEYS[k]]}~{src}" for k, (t, src) in enumerate(EDGES) if t == target]
             for target in (1, 2, 3)]
    return "+".join("|" + "|".join(node) + "|" for node in nodes)


_NODE = re.compile(r"^\|((?:[^|~+]+~\d+\|)+)$")


def from_nb201_string(text: str) -> dict[str, str]:
    """``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` -> ``{"e0": op, ..., "e5": op}``."""
    if not isinstance(text, str):
        raise ArchitectureError([f"cell string: {text!r} is not a string"])
    nodes = text.strip().split("+")
    if len(nodes) != 3 or not all(_NODE.match(node) for node in nodes):
        raise ArchitectureError([f"cell string: {text!r} is malformed; allowed: "
                                 "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with ops from "
                                 + ", ".join(NB201_OPS)])
    choices: dict[str, str] = {}
    problems: list[str] = []
    for target, node in enumerate(nodes, start=1):
        problems += _parse_node(target, node, choices)
    if problems:
        raise ArchitectureError(problems)
    return choices


def _parse_node(target: int, node: str, choices: dict[str, str]) -> list[str]:
    """Fill ``choices`` from one node's ``|op~j|...|``; return the problems found."""
    entries = [e.split("~") for e in node.strip("|").split("|")]
    sources = [int(src) for _, src in entries]
    if sources != list(range(target)):
        return [(f"cell string node {target}: inputs {sources} are not allowed; "
                 f"allowed: {list(range(target))} in this order")]
    problems = []
    for op, src in entries:
        key = KEYS[EDGES.index((target, int(src)))]
        if op not in NB201_OPS:
            problems.append(f"{key} (node {target} <- {src}): op {op!r} is not allowed; "
                            f"allowed: one of {', '.join(NB201_OPS)}")
        choices[key] = op
    return problems
