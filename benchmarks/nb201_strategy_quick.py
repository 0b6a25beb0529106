"""Quick NAS-Bench-201 tabular benchmark of the ask/tell strategies (no NNI, no training).

Protocol (``../shared/BENCHMARK-PROTOCOLS.md``): the searcher gets the 12-epoch ``cifar10-val``
accuracy of each suggested cell as reward; after ``--trials`` trials the cell with the best reward
is reported by its 200-epoch CIFAR-10 test accuracy. Mean and standard deviation over seeds.

    .venv/bin/python benchmarks/nb201_strategy_quick.py --strategy enas --seeds 30 --trials 100
    .venv/bin/python benchmarks/nb201_strategy_quick.py --strategy enas --set lr=0.1 --set batch_size=10

The NB201 cell string ``|e0~0|+|e1~0|e2~1|+|e3~0|e4~1|e5~2|`` gives the edge keys ``e0``..``e5``
(the order of NNI's NB201 search-space JSON). ``--suggest-batch`` asks for several cells before
reporting them, as a platform running trials in parallel does.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from supernas.space import Decision
from supernas.strategies import STRATEGIES

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = [("e0", 0), ("e1", 0), ("e2", 1), ("e3", 0), ("e4", 1), ("e5", 2)]
DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "anchors" / "benchmarks"


def nb201_decisions() -> list[Decision]:
    return [Decision(key, "layer", choices=OPS) for key, _ in EDGES]


def cell_string(choices: dict[str, str]) -> str:
    """``{"e0": op, ...}`` -> the NB201 cell string."""
    ops = [f"{choices[key]}~{src}" for key, src in EDGES]
    return f"|{ops[0]}|+|{ops[1]}|{ops[2]}|+|{ops[3]}|{ops[4]}|{ops[5]}|"


def load_tables(directory: Path) -> tuple[dict[str, float], dict[str, float]]:
    """(cell -> 12-epoch cifar10-val reward, cell -> 200-epoch cifar10 test accuracy)."""
    with open(directory / "nb201_mini_bench_arch_cell_accs.csv") as f:
        reward = {r["cellstr"]: float(r["cifar10-val"]) for r in csv.DictReader(f)}
    with open(directory / "nb201_cifar10_200ep_test.csv") as f:
        test = {r["cellstr"]: float(r["cifar10-test-200ep"]) for r in csv.DictReader(f)}
    return reward, test


def run_once(name: str, seed: int, trials: int, batch: int, settings: dict[str, Any],
             reward: dict[str, float]) -> str:
    """One search; returns the cell string with the best reward."""
    strategy = STRATEGIES.create(name, space_decisions=nb201_decisions(), seed=seed, **settings)
    best, best_r = "", float("-inf")
    done = 0
    while done < trials:
        for choices in strategy.suggest(min(batch, trials - done)):
            cell = cell_string(choices)
            strategy.observe(choices, reward[cell])
            if reward[cell] > best_r:
                best, best_r = cell, reward[cell]
            done += 1
    return best


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key] = json.loads(value) if value not in ("", "None") else None
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--strategy", default="enas", choices=STRATEGIES.names())
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--suggest-batch", type=int, default=1)
    p.add_argument("--set", action="append", default=[], help="strategy setting key=JSON value")
    p.add_argument("--data", type=Path, default=DEFAULT_DIR)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    reward, test = load_tables(args.data)
    settings = parse_settings(args.set)
    start = time.time()
    accs = [test[run_once(args.strategy, s, args.trials, args.suggest_batch, settings, reward)]
            for s in range(args.first_seed, args.first_seed + args.seeds)]
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print(json.dumps({"strategy": args.strategy, "settings": settings, "trials": args.trials,
                      "seeds": args.seeds, "mean": round(statistics.mean(accs), 3),
                      "std": round(sd, 3), "seconds": round(time.time() - start, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
