"""Benchmark 3: zero-shot proxies against NAS-Bench-201's 200-epoch CIFAR-10 accuracy.

``--cells`` distinct NB201 cells are drawn uniformly (seeded); each is built as a freshly
initialised child of the supernas ``nb201`` space (a small CPU skeleton, ``--C``/``--N``, stated
in the results), scored by every proxy in ``supernas.zeroshot.PROXIES`` on the same CIFAR-10
training batch(es), and Kendall's tau-b between each proxy's scores and the table's 200-epoch
test accuracy is reported (``scipy.stats.kendalltau``). Scores that are NaN count as ``-inf``
(lowest rank), as ``supernas.zeroshot.score_child`` does. Reference: NASWOT paper (arXiv
2006.04647, Table 2 / Fig. 1) reports tau = 0.574 on CIFAR-10 with the full skeleton, batch 128.

    .venv/bin/python benchmarks/zeroshot_kendall.py           # 1,000 cells, C=8, N=1, batch 64
    .venv/bin/python benchmarks/zeroshot_kendall.py --smoke   # 12 cells, C=4, batch 8
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED, write_result  # noqa: E402
from benchmarks.nb201_tables import NB201_OPS, cell_string, load_tables  # noqa: E402

NASWOT_PAPER_TAU = 0.574  # arXiv 2006.04647, NAS-Bench-201 CIFAR-10


def draw_cells(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` distinct uniformly drawn NB201 cells as ``{"e0": op, ...}``."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < min(n, len(NB201_OPS) ** 6):
        cell = {f"e{i}": rng.choice(NB201_OPS) for i in range(6)}
        key = cell_string(cell)
        if key not in seen:
            seen.add(key)
            out.append(cell)
    return out


def score_cells(cells: list[dict[str, str]], batches: list[tuple[Any, Any]], args: argparse.Namespace,
                proxies: Sequence[str]) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Scores per proxy (one per cell) and total seconds per proxy."""
    import torch

    from supernas.freeze import freeze
    from supernas.spaces import create_space
    from supernas.zeroshot import PROXIES, score_child

    scores: dict[str, list[float]] = {p: [] for p in proxies}
    seconds = {p: 0.0 for p in proxies}
    for i, cell in enumerate(cells):
        torch.manual_seed(args.seed * 100_003 + i)  # a fresh random init per cell
        child = freeze(create_space("nb201", C=args.C, N=args.N), cell)
        for p in proxies:
            start = time.perf_counter()
            scores[p].append(score_child(child, batches, PROXIES.get(p), seed=i))
            seconds[p] += time.perf_counter() - start
    return scores, seconds


def kendall(scores: Sequence[float], accs: Sequence[float]) -> float:
    """Kendall tau-b; -inf scores are ranked lowest."""
    from scipy.stats import kendalltau

    finite = [s for s in scores if math.isfinite(s)]
    floor = (min(finite) if finite else 0.0) - 1.0
    tau = kendalltau([s if math.isfinite(s) else floor for s in scores], accs).statistic
    return float(tau)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--cells", type=int, default=1000)
    p.add_argument("--C", type=int, default=8, help="stem channels of the scoring skeleton")
    p.add_argument("--N", type=int, default=1, help="cells per stage of the scoring skeleton")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=1, help="batches averaged per score")
    p.add_argument("--proxies", nargs="+", default=None, help="default: every registered proxy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Path:
    import torch

    from benchmarks.cifar import batches as make_batches, load_subset
    from supernas.zeroshot import PROXIES

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.smoke:
        args.cells, args.C, args.batch = 12, 4, 8
    torch.set_num_threads(args.threads)
    proxies = args.proxies or PROXIES.names()
    per_class = math.ceil(args.batch * args.batches / 10)
    x, y = load_subset("train", per_class, seed=args.seed, shared=args.shared)
    data = make_batches(x, y, args.batch, seed=args.seed, flip=False)[: args.batches]
    table = load_tables(args.shared)
    cells = draw_cells(args.cells, args.seed)
    accs = [table.test_of(c) for c in cells]
    start = time.perf_counter()
    scores, seconds = score_cells(cells, data, args, proxies)
    results = {p: {"kendall_tau": kendall(scores[p], accs), "seconds": seconds[p],
                   "non_finite": sum(not math.isfinite(s) for s in scores[p])} for p in proxies}
    payload = {"smoke": args.smoke, "cells": len(cells),
               "skeleton": {"space": "nb201", "C": args.C, "N": args.N},
               "batch": args.batch, "batches": args.batches, "seed": args.seed,
               "wall_seconds": time.perf_counter() - start, "results": results,
               "reference": {"naswot_paper_tau": NASWOT_PAPER_TAU},
               "cells_scored": [{"cell": cell_string(c), "test200": a, **{p: scores[p][i] for p in proxies}}
                                for i, (c, a) in enumerate(zip(cells, accs))]}
    return write_result("zeroshot_kendall_smoke" if args.smoke else "zeroshot_kendall",
                        payload, args.out, argv)


if __name__ == "__main__":
    print(main())
