"""Benchmark 5: service cost of a tuner with a long trial history.

Each tuner (``benchmarks.tuners.SEARCHERS``) is driven through NNI's Tuner calls on the
NAS-Bench-201 space (12-epoch ``cifar10-val`` reward) for ``--trials`` finished trials, in a fresh
process so its peak resident memory (``ru_maxrss``) is its own. Reported per tuner: the median
time of one ``generate_parameters`` + ``receive_trial_result`` pair over the last ``--window``
trials (i.e. with ~10,000 finished trials behind it), the mean over the whole run, and peak RSS.
NNI's built-in tuners build their history through the tuner loop itself. The supernas tuners
would need hours for that here (their strategies rebuild a de-duplication set over the whole
history on every suggestion, O(n) per call), so they receive the first ``trials - window`` trials
(uniform random cells with their table rewards) through ``import_data``, NNI's resume path, and
only the last ``window`` pairs are timed. Katib suggestion latency figures come from task F's ``benchmarks/katib_latency.py``; the report
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
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED, write_result
from benchmarks.nb201_tables import load_tables, nni_search_space
from benchmarks.tuners import SEARCHERS, interface_of

PERSIST = "+persist"
#: default line-up: every searcher, plus the supernas REINFORCE tuner persisting its state after
#: every event as it does under ``nnictl`` (NNI sets a checkpoint directory for the tuner). The
#: persisting variant builds its history in memory and persists during the last window only
#: (persisting every one of 10,000 events would take hours on this machine).
DEFAULT = ["supernas-reinforce", "supernas-reinforce" + PERSIST, "supernas-evolution",
           "supernas-random", "nni-random", "nni-evolution", "nni-tpe"]  # TPE last: slowest


def measure(searcher: str, trials: int, window: int, shared: Path) -> dict[str, Any]:
    """Drive ``searcher`` for ``trials`` trials; per-pair times in milliseconds."""
    import logging

    import torch

    torch.set_num_threads(1)
    logging.disable(logging.INFO)
    table = load_tables(shared)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tuner = SEARCHERS[searcher.removesuffix(PERSIST)](0)
    persist_dir = tempfile.mkdtemp(prefix="supernas-service-cost-")
    tuner.update_search_space(nni_search_space())
    base = searcher.removesuffix(PERSIST)
    first = 1
    if base.startswith("supernas-"):  # history through NNI's resume path (see module docstring)
        tuner.import_data(history_rows(table, trials - window, seed=0))
        first = trials - window + 1
    times, cpu, persist_from = [], [], trials - window + 1 if searcher.endswith(PERSIST) else None
    for trial in range(first, trials + 1):
        if trial == persist_from:
            tuner.state.state_dir = persist_dir  # the history is built in memory, then persisted
        start, cpu0 = time.perf_counter(), time.process_time()
        params = tuner.generate_parameters(trial)
        reward = table.reward(params)  # outside the tuner, but negligible (a dict lookup)
        tuner.receive_trial_result(trial, params, reward)
        if hasattr(tuner, "trial_end"):
            tuner.trial_end(trial, True)
        times.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - cpu0) * 1e3)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"searcher": base, "interface": interface_of(base), "trials": trials,
            "history": "import_data" if first > 1 else "tuner loop",
            "persist": "yes (last window)" if searcher.endswith(PERSIST) else "no",
            "last_window_median_ms": statistics.median(times[-window:]),
            "last_window_median_cpu_ms": statistics.median(cpu[-window:]),
            "first_window_median_ms": None if persist_from or first > 1
            else statistics.median(times[:window]),
            "mean_ms": statistics.fmean(times), "total_s": sum(times) / 1e3,
            "peak_rss_mib": rss / 1024, "rss_before_tuner_mib": rss0 / 1024}


def history_rows(table: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` finished trials (uniform random cells, table reward) in NNI's import format."""
    import random

    from benchmarks.nb201_tables import EDGES, NB201_OPS

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        params = {key: rng.choice(NB201_OPS) for key, _ in EDGES}
        rows.append({"parameter": params, "value": table.reward(params)})
    return rows


def _measure_star(args: tuple[str, int, int, Path]) -> dict[str, Any]:
    return measure(*args)


def run(searchers: Sequence[str], trials: int, window: int, shared: Path,
        on_result: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """One fresh process per tuner, one at a time (timings must not share a core);
    ``on_result`` sees the results so far after each tuner (partial results are kept)."""
    out = []
    for s in searchers:
        with mp.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
            out.append(pool.apply(_measure_star, ((s, trials, window, shared),)))
        if on_result is not None:
            on_result(out)
    return out


def main(argv: Sequence[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--searchers", nargs="+", default=DEFAULT,
                   choices=[*SEARCHERS, *(s + PERSIST for s in SEARCHERS if s.startswith("supernas-"))])
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.smoke:
        args.trials, args.window = 200, 20
    name = "service_cost_smoke" if args.smoke else "service_cost"

    def save(results: list[dict[str, Any]]) -> Path:
        return write_result(name, {"smoke": args.smoke, "trials": args.trials, "window": args.window,
                                   "results": results}, args.out, argv)

    return save(run(args.searchers, args.trials, args.window, args.shared, save))


if __name__ == "__main__":
    print(main())
