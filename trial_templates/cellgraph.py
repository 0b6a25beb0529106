"""The derived cell as nodes and labelled edges, for drawing.

Cell spaces with input choices (DARTS, ENAS micro): every ``InputChoice`` of a group (keys sharing
the prefix before ``/``) is a node; when its candidate count grows by one per node (the cell's
inputs, then the earlier nodes, as in DARTS) index ``i`` maps to cell input ``in{i}`` or an earlier
node, otherwise to ``in{i}``. An edge is labelled by the op of the layer choice that
``depends_on`` that input, if any. NAS-Bench-201 (keys ``e0..e5``) uses its fixed edge list.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from supernas.mutables import InputChoice, LayerChoice
from supernas.space import Choice, mutables_by_key

# NAS-Bench-201 (arXiv 2001.00326) cell: edge key -> (from node, to node).
NB201_EDGES = {"e0": (0, 1), "e1": (0, 2), "e2": (1, 2), "e3": (0, 3), "e4": (1, 3), "e5": (2, 3)}


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str


def cell_graphs(space: nn.Module, choices: Mapping[str, Choice]) -> dict[str, tuple[list[str], list[Edge]]]:
    """Per cell group, (nodes, edges) of the architecture ``choices``; empty when not a cell space."""
    if set(NB201_EDGES) <= set(choices) and not _input_keys(space):
        return {"cell": _nb201(choices)}
    groups: dict[str, list[InputChoice]] = {}
    for key in _input_keys(space):
        groups.setdefault(key.rpartition("/")[0] or "cell", []).append(_first(space, key))
    ops = _ops_by_input(space, choices)
    return {g: _group_graph(inputs, choices, ops) for g, inputs in groups.items()}


def _input_keys(space: nn.Module) -> list[str]:
    return [k for k, ms in mutables_by_key(space).items() if isinstance(ms[0], InputChoice)]


def _first(space: nn.Module, key: str) -> InputChoice:
    return mutables_by_key(space)[key][0]  # type: ignore[return-value]


def _nb201(choices: Mapping[str, Choice]) -> tuple[list[str], list[Edge]]:
    edges = [Edge(str(s), str(d), str(choices[k])) for k, (s, d) in NB201_EDGES.items() if choices[k] != "none"]
    return ["0", "1", "2", "3"], edges


def _ops_by_input(space: nn.Module, choices: Mapping[str, Choice]) -> dict[tuple[str, int], str]:
    ops = {}
    for key, group in mutables_by_key(space).items():
        m = group[0]
        if isinstance(m, LayerChoice) and m.depends_on is not None and key in choices:
            ops[tuple(m.depends_on)] = str(choices[key])
    return ops


def _group_graph(inputs: list[InputChoice], choices: Mapping[str, Choice],
                 ops: Mapping[tuple[str, int], str]) -> tuple[list[str], list[Edge]]:
    base = inputs[0].n_candidates
    growing = all(m.n_candidates == base + i for i, m in enumerate(inputs))
    names = [m.key.rpartition("/")[2] for m in inputs]
    n_in = base if growing else max(m.n_candidates for m in inputs)
    nodes = [f"in{i}" for i in range(n_in)] + names
    edges = []
    for j, m in enumerate(inputs):
        for i in choices.get(m.key, []):
            src = names[i - base] if growing and i >= base else f"in{i}"
            edges.append(Edge(src, names[j], ops.get((m.key, i), "")))
    used = {e.src for e in edges} | {e.dst for e in edges}
    return [n for n in nodes if n in used], edges
