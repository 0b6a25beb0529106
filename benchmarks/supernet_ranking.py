"""Supernet ranking diagnostic (issue 10; BENCHMARK-PROTOCOLS.md, one-shot NB201): after a
one-shot search, Kendall tau between the trained supernet's accuracy of ``n`` uniformly drawn
NB201 cells (each with batch norm re-estimated on training batches, SPOS arXiv 1904.00420
Sec. 3.3) and their 200-epoch table accuracy. Called by ``benchmarks/oneshot_nb201.py
--rank-cells N`` on the supernet each run has just trained; also reports tau with the count of
parameter-free ops (the bias of short weight-sharing training towards skip and pooling)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.nb201_tables import cell_string
from benchmarks.zeroshot_kendall import draw_cells, kendall

PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3")


def rank_cells(algo: Any, n: int, calibration: Sequence[Any], held_out: Sequence[Any],
               table: Any, seed: int = 0) -> dict[str, Any]:
    """Score ``n`` drawn cells on ``algo.space`` and correlate with the table."""
    from supernas.mutator import ChoiceMutator
    from supernas.oneshot.supernet_eval import evaluate_path

    cells = draw_cells(n, seed)
    probe = ChoiceMutator().bind(algo.space)
    try:
        scores = [evaluate_path(algo.space, probe, c, calibration, held_out) for c in cells]
    finally:
        algo.mutator.attach()
    accs = [table.test200[cell_string(c)] for c in cells]
    free = [sum(op in PARAMETER_FREE for op in c.values()) for c in cells]
    return {"cells": n, "kendall_tau": kendall(scores, accs),
            "tau_with_parameter_free_ops": kendall(scores, free),
            "rows": [{"cell": cell_string(c), "supernet_acc": s, "test200": a}
                     for c, s, a in zip(cells, scores, accs)]}
