"""Benchmark 5: service cost of a tuner with a long trial history.

Each tuner (``benchmarks.tuners.SEARCHERS``) is driven through NNI's Tuner calls on the
NAS-Bench-201 space (12-epoch ``cifar10-val`` reward) for ``--trials`` finished trials, in a fresh
process so its peak resident memory (``ru_maxrss``) is its own. Reported per tuner: the median
time of one ``generate_parameters`` + ``receive_trial_result`` pair over the last ``--window``
trials (i.e. with ~10,000 finished trials behind it), the mean over the whole run, and peak RSS.
Katib suggestion latency figures come from task F's ``benchmarks/katib_latency.py``; the report
includes its JSON when present.

    .venv/bin/python benchmarks/service_cost.py             # 10,000 trials per tuner
    .venv/bin/python benchmarks/service_cost.py --smoke     # 200 trials
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED, write_result  # noqa: E402
from benchmarks.nb201_tables import load_tables, nni_search_space  # noqa: E402
from benchmarks.tuners import SEARCHERS, interface_of  # noqa: E402


def measure(searcher: str, trials: int, window: int, shared: Path) -> dict[str, Any]:
    """Drive ``searcher`` for ``trials`` trials; per-pair times in milliseconds."""
    import logging

    import torch

    torch.set_num_threads(1)
    logging.disable(logging.INFO)
    table = load_tables(shared)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tuner = SEARCHERS[searcher](0)
    tuner.update_search_space(nni_search_space())
    times = []
    for trial in range(1, trials + 1):
        start = time.perf_counter()
        params = tuner.generate_parameters(trial)
        reward = table.reward(params)  # outside the tuner, but negligible (a dict lookup)
        tuner.receive_trial_result(trial, params, reward)
        if hasattr(tuner, "trial_end"):
            tuner.trial_end(trial, True)
        times.append((time.perf_counter() - start) * 1e3)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"searcher": searcher, "interface": interface_of(searcher), "trials": trials,
            "last_window_median_ms": statistics.median(times[-window:]),
            "first_window_median_ms": statistics.median(times[:window]),
            "mean_ms": statistics.fmean(times), "total_s": sum(times) / 1e3,
            "peak_rss_mib": rss / 1024, "rss_before_tuner_mib": rss0 / 1024}


def _measure_star(args: tuple[str, int, int, Path]) -> dict[str, Any]:
    return measure(*args)


def run(searchers: Sequence[str], trials: int, window: int, shared: Path) -> list[dict[str, Any]]:
    """One fresh process per tuner, one at a time (timings must not share a core)."""
    out = []
    for s in searchers:
        with mp.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
            out.append(pool.apply(_measure_star, ((s, trials, window, shared),)))
    return out


def main(argv: Sequence[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--searchers", nargs="+", default=list(SEARCHERS), choices=list(SEARCHERS))
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.smoke:
        args.trials, args.window = 200, 20
    results = run(args.searchers, args.trials, args.window, args.shared)
    name = "service_cost_smoke" if args.smoke else "service_cost"
    return write_result(name, {"smoke": args.smoke, "trials": args.trials, "window": args.window,
                               "results": results}, args.out, argv)


if __name__ == "__main__":
    print(main())
