"""Benchmark 5c: CPU per persisted event of the NNI REINFORCE tuner with a long history.

The supernas ENAS tuner (``nni_plugins`` tuner, strategy ``enas`` with the benchmark defaults of
``benchmarks.tuners``) is driven through NNI's calls on the NAS-Bench-201 space (table rewards)
with a state directory, as under ``nnictl`` (NNI gives the tuner a checkpoint directory), and
every call of ``TunerState.persist`` (one per ``generate_parameters``, one per result) is timed:
CPU (``time.process_time``) and wall. ``--history loop`` (default) runs every trial through the
tuner, persisting from the first; ``--history import`` gives the first ``trials - window`` trials
through ``import_data`` (NNI's resume path; as ``benchmarks/service_cost.py`` does) and persists
the last ``window`` only: the only mode the old full-rewrite format finishes in reasonable time.
Reported: median, mean, p99 and max over the last ``window`` trials' events and over the run,
the number of compactions, the state's bytes on disk; then a fresh tuner resumes from the
directory (``load_checkpoint`` as ``nnictl resume`` does) and must suggest exactly what the
original suggests next (``resume_identical``).

    .venv/bin/python benchmarks/nni_persistence.py                   # 10,000 trials, loop
    .venv/bin/python benchmarks/nni_persistence.py --history import --tag import
    .venv/bin/python benchmarks/nni_persistence.py --smoke           # 300 trials
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED, write_result
from benchmarks.nb201_tables import load_tables, nni_search_space
from benchmarks.service_cost import history_rows
from benchmarks.tuners import SEARCHERS

SEARCHER = "supernas-reinforce"
#: ``benchmarks.tuners``'s factory of the plugin tuner, which takes ``state_dir`` too
make_tuner: Any = SEARCHERS[SEARCHER]


def timed_persist(tuner: Any, events: list[tuple[int, float, float]], trial: list[int]) -> None:
    """Wrap ``tuner.state.persist`` so each call appends (trial, CPU ms, wall ms) to ``events``."""
    persist = tuner.state.persist

    def timed() -> None:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        persist()
        events.append((trial[0], (time.process_time() - cpu0) * 1e3,
                       (time.perf_counter() - wall0) * 1e3))

    tuner.state.persist = timed


def run_trial(tuner: Any, table: Any, pid: int) -> None:
    params = tuner.generate_parameters(pid)
    tuner.receive_trial_result(pid, params, table.reward(params))
    tuner.trial_end(pid, True)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "mean": statistics.fmean(ordered),
            "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], "max": ordered[-1],
            "n": len(ordered)}


def measure(trials: int, window: int, history: str, shared: Path) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    logging.disable(logging.INFO)
    table, state_dir = load_tables(shared), tempfile.mkdtemp(prefix="supernas-nni-persist-")
    tuner = make_tuner(0, state_dir=state_dir if history == "loop" else None)
    tuner.update_search_space(nni_search_space())
    first = 1
    if history == "import":
        tuner.import_data(history_rows(table, trials - window, seed=0))
        tuner.state.state_dir, first = state_dir, trials - window + 1
    events: list[tuple[int, float, float]] = []
    trial = [0]
    timed_persist(tuner, events, trial)
    start = time.perf_counter()
    for pid in range(first, trials + 1):
        trial[0] = pid
        run_trial(tuner, table, pid)
    elapsed = time.perf_counter() - start
    last = [e for e in events if e[0] > trials - window]
    return {"searcher": SEARCHER, "trials": trials, "window": window, "history": history,
            "last_window_cpu_ms": summary([e[1] for e in last]),
            "last_window_wall_ms": summary([e[2] for e in last]),
            "run_cpu_ms": summary([e[1] for e in events]), "run_s": elapsed,
            "compactions": compactions(tuner),
            "state_bytes": sum(p.stat().st_size for p in Path(state_dir).iterdir()),
            **resume_check(tuner, table, state_dir, trials)}


def compactions(tuner: Any) -> int | None:
    """Snapshots written so far (None for a tuner without a state log: the old format)."""
    writer = getattr(tuner.state, "writer", None)
    return writer.log.compactions if writer is not None else None


def resume_check(tuner: Any, table: Any, state_dir: str, trials: int) -> dict[str, Any]:
    """A fresh tuner resumed from ``state_dir`` must continue exactly as the original."""
    cpu0 = time.process_time()
    resumed = make_tuner(0, state_dir=state_dir)
    resumed.load_checkpoint()
    resumed.update_search_space(nni_search_space())
    load_cpu_s = time.process_time() - cpu0
    same = all(resumed.generate_parameters(p) == tuner.generate_parameters(p)
               for p in range(trials + 1, trials + 6))
    return {"resume_load_cpu_s": load_cpu_s, "resume_identical": same}


def main(argv: Sequence[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--history", choices=("loop", "import"), default="loop")
    p.add_argument("--tag", default="")
    p.add_argument("--smoke", action="store_true", help="300 trials, a window of 50")
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.smoke:
        args.trials, args.window, args.tag = 300, 50, args.tag or "smoke"
    result = measure(args.trials, args.window, args.history, args.shared)
    name = "nni_persistence" + (f"_{args.tag}" if args.tag else "")
    return write_result(name, {"results": [result]}, args.out, argv)


if __name__ == "__main__":
    print(main())
