"""Fixed-length encodings of architectures, the inputs of the surrogate models (``bo``, ``pnas``).

* ``onehot``: every decision in the space's order; a layer decision is a one-hot vector over its
  choices, an input decision a multi-hot vector over its candidates (1 for each chosen input).
  Works for every space.
* ``path``: the path encoding of BANANAS (White et al., AAAI 2021, arXiv 1910.11858, Sec. 4):
  one feature per sequence of ops along a path from the cell input to the cell output, 1 when the
  cell has that path. Here for the NAS-Bench-201 cell (``supernas.spaces.nb201``: 4 nodes, edges
  ``e0..e5``), with NAS-Bench-201's own reading of ``none``: an edge with op ``none`` carries
  nothing, so no path runs through it. The NB201 cell has 4 input-output paths (lengths 1, 2, 2,
  3), so with its 4 ops other than ``none`` the encoding has 4 + 16 + 16 + 64 = 100 features
  (one block per path and op sequence). Cells whose dead edges differ get the same code, as they
  compute the same function.

``encoder_for(decisions, kind)`` picks one; ``auto`` is ``path`` for a cell it recognises
(the NB201 keys ``e0..e5``, layer decisions only) and ``onehot`` otherwise.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

from supernas.errors import bad_value
from supernas.space import Choice, Decision
from supernas.spaces.nb201 import EDGES, KEYS

Encoder = Callable[[Mapping[str, Choice]], list[float]]
ENCODINGS = ("auto", "onehot", "path")
NONE_OP = "none"  # the NB201 op that cuts every path through its edge


def onehot_encoder(decisions: Sequence[Decision]) -> Encoder:
    """One-hot (layer) / multi-hot (input) of every decision, in the space's order."""
    def encode(choices: Mapping[str, Choice]) -> list[float]:
        out: list[float] = []
        for d in decisions:
            value = choices[d.key]
            if d.kind == "layer":
                out += [1.0 if c == value else 0.0 for c in d.choices]
            else:
                out += [1.0 if i in value else 0.0 for i in range(d.n_candidates)]
        return out
    return encode


def is_nb201_cell(decisions: Sequence[Decision]) -> bool:
    """Whether the decisions are the NAS-Bench-201 cell's six edges (any op lists)."""
    return [d.key for d in decisions] == list(KEYS) and all(d.kind == "layer" for d in decisions)


def cell_paths() -> list[list[str]]:
    """The NB201 cell's input-to-output paths, each as its edge keys (node 0 to node 3)."""
    edge_of = {(src, dst): key for key, (dst, src) in zip(KEYS, EDGES)}

    def walk(node: int) -> list[list[str]]:
        if node == 3:
            return [[]]
        return [[edge_of[(node, nxt)], *rest]
                for nxt in range(node + 1, 4) if (node, nxt) in edge_of for rest in walk(nxt)]
    return walk(0)


def path_encoder(decisions: Sequence[Decision]) -> Encoder:
    """BANANAS path encoding of the NB201 cell (see the module docstring)."""
    if not is_nb201_cell(decisions):
        raise bad_value("encoding", "path", "'onehot' or 'auto' (the path encoding needs the "
                        "NAS-Bench-201 cell: layer decisions e0..e5)")
    by_key = {d.key: d for d in decisions}
    index: dict[tuple[int, tuple[str, ...]], int] = {}
    for p, path in enumerate(cell_paths()):
        ops = [[c for c in by_key[k].choices if c != NONE_OP] for k in path]
        for seq in itertools.product(*ops):
            index[(p, seq)] = len(index)
    paths = cell_paths()

    def encode(choices: Mapping[str, Choice]) -> list[float]:
        out = [0.0] * len(index)
        for p, path in enumerate(paths):
            seq = tuple(choices[k] for k in path)
            if NONE_OP not in seq:
                out[index[(p, seq)]] = 1.0
        return out
    return encode


def encoder_for(decisions: Sequence[Decision], kind: str) -> Encoder:
    """The encoder named ``kind`` (one of ``ENCODINGS``) for ``decisions``."""
    if kind == "path" or (kind == "auto" and is_nb201_cell(decisions)):
        return path_encoder(decisions)
    return onehot_encoder(decisions)
