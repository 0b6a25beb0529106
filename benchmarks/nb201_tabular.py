"""Benchmark 1: multi-trial search on NAS-Bench-201, tabular (no training).

Set-up (BENCHMARK-PROTOCOLS.md; NAS-Bench-201 paper arXiv 2001.00326, Sec. 5): every searcher sees
the cell as NNI search-space JSON (``e0``..``e5`` choices), is driven only through NNI's Tuner
calls, and receives the 12-epoch ``cifar10-val`` accuracy as the reward. After a budget of
``k`` trials we report the 200-epoch CIFAR-10 test accuracy of the cell with the best reward so
far (first seen wins ties). Budgets are prefixes of one run per seed: the tuners do not know the
budget, so the result after 50 trials of a 200-trial run is exactly a 50-trial run.

    .venv/bin/python benchmarks/nb201_tabular.py            # full: 200 trials, seeds per searcher
    .venv/bin/python benchmarks/nb201_tabular.py --smoke    # 2 seeds, 20 trials
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, SHARED, mean_std, write_result
from benchmarks.nb201_tables import OPTIMUM_200EP, load_tables, nni_search_space
from benchmarks.tuners import SEARCHERS, interface_of

#: NAS-Bench-201 paper, Table 5, CIFAR-10 test (12,000 s simulated budget, 500 runs).
PAPER_ROWS = {"REA": (93.92, 0.30), "REINFORCE": (93.85, 0.37), "RS": (93.70, 0.36)}


def run_one(searcher: str, seed: int, budgets: Sequence[int], shared: Path) -> dict[str, Any]:
    """One search of ``max(budgets)`` trials; the best-reward cell's 200-ep test per budget."""
    table = load_tables(shared)
    tuner = SEARCHERS[searcher](seed)
    tuner.update_search_space(nni_search_space())
    best_reward, best_test, out = float("-inf"), float("nan"), {}
    start = time.perf_counter()
    for trial in range(1, max(budgets) + 1):
        params = tuner.generate_parameters(trial)
        reward = table.reward(params)
        tuner.receive_trial_result(trial, params, reward)
        if hasattr(tuner, "trial_end"):
            tuner.trial_end(trial, True)
        if reward > best_reward:
            best_reward, best_test = reward, table.test_of(params)
        if trial in budgets:
            out[str(trial)] = {"reward": best_reward, "test200": best_test}
    return {"searcher": searcher, "seed": seed, "budgets": out,
            "seconds": time.perf_counter() - start}


def _run_star(args: tuple[str, int, Sequence[int], Path]) -> dict[str, Any]:
    import logging

    import torch

    torch.set_num_threads(1)  # the REINFORCE controller is tiny; workers must not oversubscribe
    logging.disable(logging.INFO)  # NNI tuners log every suggestion at INFO
    return run_one(*args)


def _load_done(journal: Path | None, budgets: Sequence[int]) -> dict[tuple[str, int], dict[str, Any]]:
    """Finished runs from the journal (JSON lines), keyed by (searcher, seed)."""
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if journal is None or not journal.is_file():
        return done
    for line in journal.read_text().splitlines():
        run = json.loads(line)
        if all(str(b) in run["budgets"] for b in budgets):
            done[(run["searcher"], run["seed"])] = run
    return done


def run_all(searchers: Sequence[str], seeds: dict[str, range], budgets: Sequence[int],
            workers: int, shared: Path, journal: Path | None = None) -> list[dict[str, Any]]:
    """Every (searcher, seed) run; each finished run is appended to ``journal`` so an
    interrupted benchmark resumes where it stopped (runs already there are not repeated)."""
    done = _load_done(journal, budgets)
    jobs = [(s, seed, budgets, shared) for s in searchers for seed in seeds[s]
            if (s, seed) not in done]
    runs = [done[(s, seed)] for s in searchers for seed in seeds[s] if (s, seed) in done]
    pool = mp.get_context("spawn").Pool(workers) if workers > 1 else None
    results = pool.imap_unordered(_run_star, jobs, chunksize=1) if pool else map(_run_star, jobs)
    try:
        for i, run in enumerate(results):
            runs.append(run)
            if journal is not None:
                with journal.open("a") as fh:
                    fh.write(json.dumps(run) + "\n")
            if (i + 1) % 50 == 0:
                print(f"{i + 1}/{len(jobs)} runs", flush=True)
    finally:
        if pool is not None:
            pool.close()
    return runs


def drop_from_journal(journal: Path, searchers: Sequence[str]) -> None:
    """Forget the journaled runs of ``searchers`` (their code changed: run them again)."""
    if not searchers or not journal.is_file():
        return
    keep = [ln for ln in journal.read_text().splitlines()
            if ln.strip() and json.loads(ln)["searcher"] not in searchers]
    journal.write_text("".join(ln + "\n" for ln in keep))


def summarise(runs: list[dict[str, Any]], searchers: Sequence[str],
              budgets: Sequence[int]) -> dict[str, Any]:
    """Per searcher and budget: mean/std of the 200-ep test accuracy and of the reward."""
    table: dict[str, Any] = {}
    for s in searchers:
        mine = [r for r in runs if r["searcher"] == s]
        table[s] = {"interface": interface_of(s), "seeds": len(mine),
                    "seconds_per_run": mean_std([r["seconds"] for r in mine])["mean"],
                    "budgets": {}}
        for b in budgets:
            tests = [r["budgets"][str(b)]["test200"] for r in mine]
            rewards = [r["budgets"][str(b)]["reward"] for r in mine]
            table[s]["budgets"][str(b)] = {"test200": mean_std(tests), "reward12": mean_std(rewards)}
    return table


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny run for the test suite")
    p.add_argument("--searchers", nargs="+", default=list(SEARCHERS), choices=list(SEARCHERS))
    p.add_argument("--budgets", nargs="+", type=int, default=[50, 100, 200])
    p.add_argument("--seeds", type=int, default=100, help="seeds per searcher")
    p.add_argument("--first-seed", type=int, default=1000,
                   help="seeds are first..first+n-1; 1000 keeps clear of seeds 0..999 that "
                        "benchmarks/nb201_strategy_quick.py uses to tune strategy defaults")
    p.add_argument("--tpe-seeds", type=int, default=None, help="seeds for nni-tpe (slow)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--fresh", nargs="*", default=[], choices=list(SEARCHERS),
                   help="re-run these searchers instead of reusing their journaled runs")
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None, help="results directory")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.smoke:
        args.budgets, args.seeds, args.tpe_seeds = [10, 20], 2, 2
    count = {s: args.seeds for s in args.searchers}
    if "nni-tpe" in count and args.tpe_seeds is not None:
        count["nni-tpe"] = args.tpe_seeds
    seeds = {s: range(args.first_seed, args.first_seed + n) for s, n in count.items()}
    start = time.perf_counter()
    name = "nb201_tabular_smoke" if args.smoke else "nb201_tabular"
    journal = None if args.smoke else (args.out or RESULTS) / f"{name}.runs.jsonl"
    if journal is not None:
        journal.parent.mkdir(parents=True, exist_ok=True)
        drop_from_journal(journal, args.fresh)
    runs = run_all(args.searchers, seeds, sorted(args.budgets), args.workers, args.shared, journal)
    payload = {
        "smoke": args.smoke, "budgets": sorted(args.budgets), "first_seed": args.first_seed, "wall_seconds_this_invocation": time.perf_counter() - start,
        "run_seconds_total": sum(r["seconds"] for r in runs),
        "results": summarise(runs, args.searchers, sorted(args.budgets)),
        "paper": {k: {"mean": m, "std": s} for k, (m, s) in PAPER_ROWS.items()},
        "optimum": OPTIMUM_200EP, "runs": sorted(runs, key=lambda r: (r["searcher"], r["seed"])),
    }
    return write_result(name, payload, args.out, argv)


if __name__ == "__main__":
    print(main())
