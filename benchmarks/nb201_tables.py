"""NAS-Bench-201 lookup tables and the NNI ``e0..e5`` <-> cell-string mapping.

Tables (``../shared/anchors/benchmarks/``, see its SOURCE.md): the 12-epoch ``cifar10-val``
accuracy (the reward the NAS-Bench-201 paper, arXiv 2001.00326, gives multi-trial searchers) and
the 200-epoch CIFAR-10 test accuracy (the figure its tables report).
"""
from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED

#: NAS-Bench-201 operation names (arXiv 2001.00326, Sec. 2.1), in the benchmark's order.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (edge key, input node) in cell-string order: |e0~0|+|e1~0|e2~1|+|e3~0|e4~1|e5~2|.
EDGES = (("e0", 0), ("e1", 0), ("e2", 1), ("e3", 0), ("e4", 1), ("e5", 2))
_NODE_SPLIT = (1, 3, 6)  # edges of node 1 = EDGES[0:1], node 2 = [1:3], node 3 = [3:6]
OPTIMUM_200EP = 94.37  # NB201 paper, Table 5 "optimal" row on CIFAR-10


def nni_search_space() -> dict[str, dict[str, Any]]:
    """The NB201 cell as an NNI search-space JSON: six ``choice`` parameters ``e0``..``e5``."""
    return {key: {"_type": "choice", "_value": list(NB201_OPS)} for key, _ in EDGES}


def cell_string(params: Mapping[str, str]) -> str:
    """``{"e0": op, ...}`` -> ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    tokens = [f"{params[key]}~{src}" for key, src in EDGES]
    nodes, start = [], 0
    for end in _NODE_SPLIT:
        nodes.append("|" + "|".join(tokens[start:end]) + "|")
        start = end
    return "+".join(nodes)


def params_of(cell: str) -> dict[str, str]:
    """Inverse of :func:`cell_string`."""
    tokens = [t for node in cell.split("+") for t in node.strip("|").split("|")]
    if len(tokens) != len(EDGES):
        raise ValueError(f"cell string {cell!r} has {len(tokens)} edges; allowed: 6 (NB201 cell)")
    return {key: tok.split("~")[0] for (key, _), tok in zip(EDGES, tokens)}


@dataclass(frozen=True)
class Nb201Table:
    """Per cell string: 12-epoch ``cifar10-val`` reward and 200-epoch CIFAR-10 test accuracy."""

    val12: dict[str, float]
    test200: dict[str, float]

    def reward(self, params: Mapping[str, str]) -> float:
        return self.val12[cell_string(params)]

    def test_of(self, params: Mapping[str, str]) -> float:
        return self.test200[cell_string(params)]

    def best_test(self) -> float:
        return max(self.test200.values())


def _read_column(path: Path, column: str) -> dict[str, float]:
    with path.open(newline="") as fh:
        return {row["cellstr"]: float(row[column]) for row in csv.DictReader(fh)}


@functools.lru_cache(maxsize=2)
def load_tables(shared: Path = SHARED) -> Nb201Table:
    """Read both tables from ``<shared>/anchors/benchmarks``."""
    base = Path(shared) / "anchors" / "benchmarks"
    val12 = _read_column(base / "nb201_mini_bench_arch_cell_accs.csv", "cifar10-val")
    test200 = _read_column(base / "nb201_cifar10_200ep_test.csv", "cifar10-test-200ep")
    if set(val12) != set(test200) or len(val12) != 15625:
        raise ValueError(f"NB201 tables in {base} disagree or are incomplete ({len(val12)} cells)")
    return Nb201Table(val12, test200)
