"""What SPOS's zero-shot prior picks on its own (issue 10): for each seed of the one-shot NB201
benchmark, rebuild the prior exactly as ``spos`` builds it in ``select`` (same space, seed, pool,
keep and first held-out batch of ``benchmarks/oneshot_nb201.py``), and look up in the 200-epoch
table the prior's best cell and the mean of the cells it admits, beside the cell the supernet
chose among them (read from that seed's ``oneshot_nb201_spos-s<seed>.json``). No training: this
separates what the prior contributes from what the supernet's choice adds.

    .venv/bin/python benchmarks/spos_prior_alone.py --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, SHARED, write_result
from benchmarks.nb201_tables import cell_string, load_tables
from benchmarks.oneshot_nb201 import split_data


def prior_of(seed: int, x: Any, args: argparse.Namespace) -> Any:
    """The ``ZeroShotPrior`` that ``spos`` (defaults) fits for ``seed`` on inputs ``x``."""
    from supernas.oneshot.constraints import CostLimit
    from supernas.oneshot.spos import PRIOR, PRIOR_KEEP, PRIOR_POOL
    from supernas.oneshot.zero_shot_prior import ZeroShotPrior
    from supernas.spaces import create_space

    space = create_space("nb201", C=args.C, N=args.N, affine=False)
    pool = args.pool or PRIOR_POOL
    return ZeroShotPrior(space, CostLimit(space), PRIOR, pool, PRIOR_KEEP, seed).fit(x, 20)


def one_seed(seed: int, data: Any, table: Any, args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.cifar import batches

    (_, _), (xv, yv) = data
    x = batches(xv, yv, args.batch, seed + 777, flip=False)[0][0]  # select()'s first batch
    ranked = prior_of(seed, x, args).ranked()
    admitted = [table.test200[cell_string(c)] for c in ranked]
    run = RESULTS / f"oneshot_nb201_spos-s{seed}.json"
    chosen = json.loads(run.read_text())["runs"][0] if run.is_file() else None
    return {"seed": seed, "prior_best_cell": cell_string(ranked[0]), "prior_best_test200": admitted[0],
            "admitted": len(admitted), "admitted_mean_test200": statistics.mean(admitted),
            "admitted_best_test200": max(admitted),
            "supernet_choice_test200": chosen["test200"] if chosen else None}


def main(argv: Sequence[str] | None = None) -> Path:
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=1)
    p.add_argument("--images", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--pool", type=int, default=0, help="prior pool size (0: the spos default)")
    p.add_argument("--smoke", action="store_true", help="C=4, 80 images, pool 30, first seed")
    args = p.parse_args(argv)
    if args.smoke:
        args.C, args.images, args.batch, args.seeds, args.pool = 4, 80, 8, args.seeds[:1], 30
    torch.set_num_threads(args.threads)
    data, table = split_data(args.images // 10, seed=0, shared=args.shared), load_tables(args.shared)
    rows = [one_seed(s, data, table, args) for s in args.seeds]
    for r in rows:
        print(r, flush=True)
    name = "spos_prior_alone_smoke" if args.smoke else "spos_prior_alone"
    setup = {k: v for k, v in vars(args).items() if k not in ("shared", "out")}  # no local paths
    return write_result(name, {"setup": setup, "smoke": args.smoke, "rows": rows}, args.out, argv)


if __name__ == "__main__":
    print(main())
