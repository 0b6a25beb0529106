"""Benchmark 3: zero-shot proxies against NAS-Bench-201's 200-epoch CIFAR-10 accuracy.

``--cells`` distinct NB201 cells are drawn uniformly (seeded); each is built as a freshly
initialised child of the supernas ``nb201`` space (a small CPU skeleton, ``--C``/``--N``, stated
in the results), scored by every proxy in ``supernas.zeroshot.PROXIES`` on the same CIFAR-10
training batch(es), and Kendall's tau-b between each proxy's scores and the table's 200-epoch
test accuracy is reported (``scipy.stats.kendalltau``). Scores that are NaN count as ``-inf``
(lowest rank), as ``supernas.zeroshot.score_child`` does. A rank-aggregating ensemble (``az-nas``,
``ensemble``) is not scored per cell: its members are, and its tau is that of AZ-NAS's log-rank
sum over all the scored cells (its population face), beside the tau of its single-network face.
Reference: NASWOT paper (arXiv 2006.04647, Table 2 / Fig. 1) reports tau = 0.574 on CIFAR-10 with
the full skeleton, batch 128; AZ-NAS (arXiv 2403.19232) reports 0.741.

    .venv/bin/python benchmarks/zeroshot_kendall.py           # 1,000 cells, C=8, N=1, batch 64
    .venv/bin/python benchmarks/zeroshot_kendall.py --smoke   # 12 cells, C=4, batch 8
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, SHARED, write_result
from benchmarks.nb201_tables import NB201_OPS, cell_string, load_tables

NASWOT_PAPER_TAU = 0.574  # arXiv 2006.04647, NAS-Bench-201 CIFAR-10
AZ_NAS_PAPER_TAU = 0.741  # arXiv 2403.19232 (AZ-NAS, CVPR 2024), NAS-Bench-201 CIFAR-10


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
                proxies: Sequence[str], journal: Path | None) -> list[dict[str, Any]]:
    """Per cell: its string, and per proxy the score and seconds. Cells already in ``journal``
    (JSON lines, same settings) are not scored again, except for proxies their row lacks (a
    proxy registered after the row was written: the same child is rebuilt from its seed); new
    and completed rows are appended as they finish. Stops early, keeping what is done, after
    ``args.max_minutes``."""
    done = _journal_rows(journal)
    rows, start = [], time.perf_counter()
    for i, cell in enumerate(cells):
        key = cell_string(cell)
        missing = [p for p in proxies
                   if p not in done.get(key, {}).get("scores", {}) or p in args.rescore]
        if missing:
            if args.max_minutes and time.perf_counter() - start > 60 * args.max_minutes:
                break
            done[key] = _score_one(i, cell, batches, args, missing, done.get(key))
            if journal is not None:
                with journal.open("a") as fh:
                    fh.write(json.dumps(done[key]) + "\n")
        rows.append(done[key])
    return rows


def _journal_rows(journal: Path | None) -> dict[str, dict[str, Any]]:
    if journal is None or not journal.is_file():
        return {}
    rows = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return {r["cell"]: r for r in rows}  # a later row of a cell (more proxies) wins


def _score_one(i: int, cell: dict[str, str], batches: list[tuple[Any, Any]],
               args: argparse.Namespace, proxies: Sequence[str],
               row: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score ``cell`` with ``proxies``, adding to ``row`` (a journal row) when given. A proxy
    with a ``joint`` function (the AZ-NAS statistics) is computed once for all its names; its
    seconds are split evenly between them."""
    import torch

    from supernas.freeze import freeze
    from supernas.spaces import create_space
    from supernas.zeroshot import PROXIES, score_child

    torch.manual_seed(args.seed * 100_003 + i)  # a fresh random init per cell
    child = freeze(create_space("nb201", C=args.C, N=args.N), cell)
    row = {"cell": cell_string(cell), "scores": {}, "seconds": {}} if row is None else {
        "cell": row["cell"], "scores": {p: v for p, v in row["scores"].items() if p not in proxies},
        "seconds": {p: v for p, v in row["seconds"].items() if p not in proxies}}
    for p in proxies:
        if p in row["scores"]:  # computed with another name of the same joint function
            continue
        joint = getattr(PROXIES.get(p), "joint", None)
        t0 = time.perf_counter()
        if joint is None:
            row["scores"][p] = score_child(child, batches, PROXIES.get(p), seed=i)
            row["seconds"][p] = time.perf_counter() - t0
            continue
        stats = [joint(child, x, y, seed=i) for x, y in batches]
        names = [n for n in stats[0] if n in proxies]
        for n in names:
            row["scores"][n] = sum(s[n] for s in stats) / len(stats)
            row["seconds"][n] = (time.perf_counter() - t0) / len(names)
    return row


def ensemble_results(rows: list[dict[str, Any]], accs: Sequence[float],
                     names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per registered ensemble: Kendall tau of its population face (AZ-NAS's log-rank sum over
    all the scored cells) and of its single-network face, from the members' journal scores."""
    from supernas.zeroshot import PROXIES, is_ensemble

    out = {}
    for name in names:
        ens = PROXIES.get(name)
        if not is_ensemble(ens):
            continue
        comps = [{m: r["scores"][m] for m in ens.members} for r in rows]
        out[name] = {"kendall_tau": kendall(ens.aggregate(comps), accs),
                     "kendall_tau_single_network": kendall([ens.cell_score(c) for c in comps], accs),
                     "members": list(ens.members),
                     "seconds": sum(r["seconds"][m] for r in rows for m in ens.members),
                     "non_finite": 0}
    return out


def base_proxies(names: Sequence[str]) -> list[str]:
    """The proxies to score per cell: ``names`` without the ensembles, plus their members."""
    from supernas.zeroshot import PROXIES, is_ensemble

    out: list[str] = []
    for n in names:
        ens = PROXIES.get(n)
        for m in (ens.members if is_ensemble(ens) else (n,)):
            if m not in out:
                out.append(m)
    return out


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
    p.add_argument("--rescore", nargs="+", default=[],
                   help="proxies to score again in every journal row (after a change to them)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop scoring after this long and report the cells done (0: no limit); "
                        "the journal lets the same command resume and finish later")
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Path:
    import torch

    from benchmarks.cifar import batches as make_batches
    from benchmarks.cifar import load_subset
    from supernas.zeroshot import PROXIES

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.smoke:
        args.cells, args.C, args.batch = 12, 4, 8
    torch.set_num_threads(args.threads)
    names = args.proxies or PROXIES.names()
    proxies = base_proxies(names)
    per_class = math.ceil(args.batch * args.batches / 10)
    x, y = load_subset("train", per_class, seed=args.seed, shared=args.shared)
    data = make_batches(x, y, args.batch, seed=args.seed, flip=False)[: args.batches]
    table = load_tables(args.shared)
    cells = draw_cells(args.cells, args.seed)
    start = time.perf_counter()
    name = "zeroshot_kendall_smoke" if args.smoke else "zeroshot_kendall"
    tag = f"C{args.C}-N{args.N}-b{args.batch}x{args.batches}-s{args.seed}"
    journal = None if args.smoke else (args.out or RESULTS) / f"{name}.{tag}.cells.jsonl"
    if journal is not None:
        journal.parent.mkdir(parents=True, exist_ok=True)
    rows = score_cells(cells, data, args, proxies, journal)
    accs = [table.test200[r["cell"]] for r in rows]
    results = {p: {"kendall_tau": kendall([r["scores"][p] for r in rows], accs),
                   "seconds": sum(r["seconds"][p] for r in rows),
                   "non_finite": sum(not math.isfinite(r["scores"][p]) for r in rows)}
               for p in proxies if p in names}
    results.update(ensemble_results(rows, accs, names))
    payload = {"smoke": args.smoke, "cells": len(rows), "cells_requested": len(cells),
               "skeleton": {"space": "nb201", "C": args.C, "N": args.N},
               "batch": args.batch, "batches": args.batches, "seed": args.seed,
               "wall_seconds_this_invocation": time.perf_counter() - start, "results": results,
               "reference": {"naswot_paper_tau": NASWOT_PAPER_TAU,
                             "az_nas_paper_tau": AZ_NAS_PAPER_TAU},
               "cells_scored": [{"cell": r["cell"], "test200": a,
                                 **{p: r["scores"][p] for p in proxies}}
                                for r, a in zip(rows, accs)]}
    return write_result(name, payload, args.out, argv)


if __name__ == "__main__":
    print(main())
