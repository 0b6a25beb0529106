"""Benchmark 4: time per supernet training step and peak memory on the DARTS cell space.

Every configuration runs in a fresh subprocess (``--worker NAME``) so that its peak resident
memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``; tracemalloc does not see torch's
allocator) is its own; ``peak_rss_mib - rss_before_model_mib`` isolates model + activations.
A step is what one iteration of the search loop does, forward + backward + update:

* ``supernas-darts-1st`` / ``-2nd``: ``DartsSearch.arch_step`` then ``weight_step`` (space
  ``darts``; 8 ops incl. ``none`` per edge, 14 edges per cell).
* ``darts-floor``: the floor of ``supernas-darts-1st``: every candidate op of its supernet
  (``none`` aside) run alone, once per pass, forward plus the backward that pass needs (input
  gradients in the architecture pass, input and weight gradients in the weight pass), replayed
  from a recorded step (``benchmarks/speed_floor.py``); per-op-kind medians in ``info``.
* ``nni-darts``: NNI 3.0's DARTS on its own DARTS space (``nni.nas.hub.pytorch.DARTS``, 7 ops,
  ``none`` implicit), turned into NNI's differentiable supernet by
  ``nni.nas.strategy.DARTS().mutate_model``; the two phases of ``DartsLightningModule
  .training_step`` (architecture step on a validation batch, weight step on a training batch,
  same optimisers and clipping as supernas) in plain torch, i.e. *without* Lightning's loop
  overhead, which favours NNI.
* ``supernas-enas`` (when registered) / ``supernas-spos``: one shared-weight step of a sampled
  child inside the supernet (``weight_step``; ENAS's controller step is timed apart).
* ``child-alone`` / ``child-alone-spos``: the children that the ``supernas-enas`` /
  ``supernas-spos`` run sampled, step for step (same architecture, same batch), frozen
  (``supernas.freeze``) and trained alone: the lower bound for sampling overhead. Run without
  its sampled partner, a child configuration trains uniformly drawn children (unpaired).

Every configuration runs in each memory layout of ``--layouts``: ``nchw`` (PyTorch's default)
and ``channels-last`` (model and batches in NHWC, what the trial templates behind ``supernas
search`` / ``train`` use by default, ``channels_last=True``); ratios compare configurations
within one layout.

Median over ``--steps`` steps after ``--warmup`` steps, both wall-clock and process CPU time
(CPU time is the fair measure when other jobs share the cores); ratios come from the one run.

    .venv/bin/python benchmarks/speed.py                 # C=8, 5 cells, batch 16, 1 thread
    .venv/bin/python benchmarks/speed.py --smoke         # C=4, 3 cells, batch 2, 1 step
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, write_result

CONFIGS = ("supernas-darts-1st", "supernas-darts-2nd", "darts-floor", "nni-darts", "supernas-enas",
           "child-alone", "supernas-spos", "child-alone-spos")
PAIRS = {"child-alone": "supernas-enas", "child-alone-spos": "supernas-spos"}  # child <- sampled run
LAYOUTS = {"nchw": False, "channels-last": True}  # every configuration runs in each layout
GOALS = {"darts_vs_nni": 0.5, "darts_2nd_vs_nni": 1.2, "peak_mem_vs_nni": 0.7,
         "enas_vs_child": 1.05, "spos_vs_child": 1.05}  # project goals (issue 13)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def time_steps(step: Callable[[int], Any], warmup: int,
               steps: int) -> tuple[list[float], list[float]]:
    """(wall ms, process CPU ms) of ``step(i)`` for ``steps`` calls after ``warmup`` untimed ones.

    CPU time (all threads of this process) is what the step costs even when other jobs share
    the cores; wall time is what a user waits on an idle machine.
    """
    for i in range(warmup):
        step(i)
    wall, cpu = [], []
    for i in range(warmup, warmup + steps):
        w0, c0 = time.perf_counter(), time.process_time()
        step(i)
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return wall, cpu


def worker(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Build configuration ``name``, time its steps, report times and peak memory."""
    import torch

    from benchmarks.speed_configs import build

    torch.set_num_threads(settings["threads"])
    torch.manual_seed(settings["seed"])
    before = rss_mib()
    step, info = build(name, settings)
    wall, cpu = time_steps(step, settings["warmup"], settings["steps"])
    peak = rss_mib()
    return {"config": name, "median_ms": statistics.median(wall), "times_ms": wall,
            "median_cpu_ms": statistics.median(cpu), "cpu_ms": cpu,
            "peak_rss_mib": peak, "rss_before_model_mib": before, "info": info}


def run_config(name: str, settings: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``worker(name)`` in a fresh interpreter; a failure is recorded, not raised."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name,
           "--settings", json.dumps(settings)]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"config": name, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"config": name, "error": (proc.stderr or proc.stdout).strip()[-1500:]}
    return json.loads(lines[-1])


def ratios(results: dict[str, dict[str, Any]], key: str = "median_ms") -> dict[str, float | None]:
    """Step-time ratios (of ``key``) against the goals' references (None when a side is missing)."""
    def r(a: str, b: str) -> float | None:
        ok = all(key in results.get(k, {}) for k in (a, b))
        return results[a][key] / results[b][key] if ok else None

    return {"darts_1st_vs_nni": r("supernas-darts-1st", "nni-darts"),
            "peak_mem_vs_nni": _mem_ratio(results, "supernas-darts-1st", "nni-darts"),
            "darts_2nd_vs_nni": r("supernas-darts-2nd", "nni-darts"),
            "darts_1st_vs_floor": r("supernas-darts-1st", "darts-floor"),
            "enas_vs_child": r("supernas-enas", "child-alone"),
            "spos_vs_child": r("supernas-spos", "child-alone-spos")}


def _mem_ratio(results: dict[str, dict[str, Any]], a: str, b: str) -> float | None:
    """Peak RSS over the imports (model + activations) of ``a`` over ``b``."""
    def over(k: str) -> float | None:
        r = results.get(k, {})
        return r["peak_rss_mib"] - r["rss_before_model_mib"] if "peak_rss_mib" in r else None

    num, den = over(a), over(b)
    return num / den if num is not None and den else None


def run_layout(args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every configuration of ``args.configs`` in one layout; a sampled run goes first and hands
    the architectures it ran to the child configuration paired with it."""
    results: dict[str, dict[str, Any]] = {}
    for name in sorted(args.configs, key=CONFIGS.index):
        archs = results.get(PAIRS.get(name, ""), {}).get("info", {}).get("archs")
        results[name] = run_config(name, {**settings, "archs": archs}, args.timeout)
    return results


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    p.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=LAYOUTS)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1: a shared machine; OpenMP spinning makes 2 threads on "
                        "2 busy cores many times slower)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per configuration")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--settings", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Path | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(args.settings))))
        return None
    if args.smoke:  # C=4: at C=2 oneDNN's channels-last backward aborts (free(): invalid size)
        args.channels, args.cells, args.batch, args.warmup, args.steps = 4, 3, 2, 1, 1
    settings = {"channels": args.channels, "cells": args.cells, "batch": args.batch, "seed": 0,
                "warmup": args.warmup, "steps": args.steps, "threads": args.threads}
    results = {layout: run_layout(args, {**settings, "channels_last": LAYOUTS[layout]})
               for layout in args.layouts}
    payload = {"smoke": args.smoke, "settings": settings, "layouts": args.layouts,
               "results": results, "ratios": {k: ratios(r) for k, r in results.items()},
               "cpu_ratios": {k: ratios(r, "median_cpu_ms") for k, r in results.items()},
               "goals": GOALS}
    return write_result("speed_smoke" if args.smoke else "speed", payload, args.out, argv)


if __name__ == "__main__":
    print(main())
