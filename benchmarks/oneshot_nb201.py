"""Benchmark 2: one-shot search on the NAS-Bench-201 space with real CIFAR-10 (reduced CPU budget).

Set-up (BENCHMARK-PROTOCOLS.md, "one-shot, reduced CPU budget"): NB201 skeleton with ``--C`` 16
stem channels and ``--N`` 1 cell per stage, cells sharing one architecture; a stratified 10,000
image subset of CIFAR-10 train split 5,000 (weights) / 5,000 (architecture), CIFAR mean/std,
random horizontal flips; batch 64, 10 epochs; weights SGD 0.025 cosine to 0.001, momentum 0.9,
weight decay 3e-4; architecture Adam 3e-4 (0.5, 0.999), weight decay 1e-3; 2 threads.
Each step is one architecture step (validation batch) then one weight step (training batch).

Algorithms (``ALGOS``; supernas ones are created by registry name from ``supernas.oneshot``):
``darts-t`` (the shipped ``darts`` defaults: temperature annealed 1 -> 0.1, warm-up, DARTS-
auxiliary skip, first order), ``darts`` (the same with T = 1 constant: the temperature ablation),
``darts-v1`` (DARTS as published: arch lr 3e-4, no warm-up, no guard), ``enas`` (one-shot ENAS),
``darts-t-beta`` / ``darts-beta`` (annealed / T = 1 with beta-DARTS's Beta-Decay regulariser in
place of the auxiliary skip), ``darts-dir`` / ``darts-t-dir`` (DrNAS's Dirichlet mixing in place
of the auxiliary skip, T = 1 / each draw sharpened by the annealed T), ``spos`` (uniform single-path sampling, evolution inside the
NASWOT prior), ``spos-v0.1`` (the paper's evolution, no prior), and ``nni-darts`` (NNI 3.0's DARTS on NNI's NasBench201
space, see ``benchmarks/nni_nb201.py``). ``--set key=value`` overrides settings (ablations).
The final cell is ``select(validation batches)`` (derive for DARTS; best-of-N sampled for ENAS;
the algorithm's own rule for SPOS), looked up in the 200-epoch table.

    .venv/bin/python benchmarks/oneshot_nb201.py --algos darts --seeds 0     # ~20 min per run
    .venv/bin/python benchmarks/oneshot_nb201.py --smoke                     # seconds
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED, mean_std, write_result
from benchmarks.nb201_tables import cell_string, load_tables
from supernas import yamlnum

ALGOS: dict[str, tuple[str, dict[str, Any]]] = {
    "darts": ("darts", {"temperature": 1.0, "temperature_schedule": "constant", "order": 1}),
    "darts-t": ("darts", {"order": 1}),
    "darts-v1": ("darts", {"temperature": 1.0, "temperature_schedule": "constant", "order": 1,
                           "arch_lr": 3e-4, "warmup_epochs": 0, "aux_skip": 0.0}),
    "darts-t-beta": ("darts", {"order": 1, "aux_skip": 0.0, "beta_decay": 25.0}),
    "darts-t-auxlin": ("darts", {"order": 1, "aux_skip_schedule": "linear"}),
    "darts-beta": ("darts", {"temperature": 1.0, "temperature_schedule": "constant", "order": 1,
                             "aux_skip": 0.0, "beta_decay": 25.0}),
    "darts-t-dir": ("darts", {"order": 1, "aux_skip": 0.0, "mixing": "dirichlet"}),
    "darts-dir": ("darts", {"temperature": 1.0, "temperature_schedule": "constant", "order": 1,
                            "aux_skip": 0.0, "mixing": "dirichlet"}),
    "enas": ("enas", {}),
    "spos": ("spos", {}),
    "spos-v0.1": ("spos", {"prior": None}),
    "nni-darts": ("nni", {}),
}
PAPER = {"DARTS-V1/V2, ENAS (full budget)": 54.30, "GDAS (full budget)": 93.51, "optimal": 94.37}


def split_data(per_class: int, seed: int, shared: Path) -> tuple[Any, Any]:
    """Stratified subset (``per_class`` per class), halved per class into (weights, arch) sets."""
    import torch

    from benchmarks.cifar import load_subset

    x, y = load_subset("train", per_class, seed=seed, shared=shared)
    first = torch.zeros(len(y), dtype=torch.bool)
    for label in range(10):
        idx = (y == label).nonzero().flatten()
        first[idx[: len(idx) // 2]] = True
    return (x[first], y[first]), (x[~first], y[~first])


class SupernasRunner:
    """A registered supernas one-shot algorithm on the ``nb201`` space (DARTS-style, no affine BN)."""

    def __init__(self, name: str, settings: dict[str, Any], C: int, N: int, seed: int) -> None:
        from supernas.oneshot import ALGORITHMS
        from supernas.spaces import create_space

        self.space = create_space("nb201", C=C, N=N, affine=False)
        self.algo = ALGORITHMS.create(name, space=self.space, seed=seed, **settings)
        self.opts = self.algo.configure_optimizers()

    def on_epoch_start(self, epoch: int, max_epochs: int) -> None:
        self.algo.on_epoch_start(epoch, max_epochs)

    def step(self, train: Any, val: Any) -> None:
        self.space.train()
        self.algo.arch_step(val, self.opts)
        self.algo.weight_step(train, self.opts)

    def final(self, val_batches: list[Any]) -> dict[str, str]:
        return dict(self.algo.select(val_batches))

    def derive(self) -> dict[str, str]:
        return dict(self.algo.derive())

    def summary(self) -> dict[str, dict[str, float]]:
        return self.algo.arch_summary()


class NniRunner:
    """NNI 3.0 DARTS on NNI's own NasBench201 space."""

    def __init__(self, C: int, N: int, seed: int) -> None:
        import torch

        from benchmarks.nni_nb201 import NniDarts

        torch.manual_seed(seed)
        self.nni = NniDarts(C, N)

    def on_epoch_start(self, epoch: int, max_epochs: int) -> None:
        self.nni.on_epoch_start(epoch, max_epochs)

    def step(self, train: Any, val: Any) -> None:
        self.nni.model.train()
        self.nni.arch_step(val)
        self.nni.weight_step(train)

    def final(self, val_batches: list[Any]) -> dict[str, str]:
        return self.nni.derive()

    def derive(self) -> dict[str, str]:
        return self.nni.derive()

    def summary(self) -> dict[str, dict[str, float]]:
        return self.nni.summary()


def trace_point(runner: Any, epoch: int, table: Any) -> dict[str, Any]:
    """The cell derived after ``epoch``, its 200-epoch table accuracy and the decision strength."""
    from supernas.oneshot.strength import decision_strength

    cell = cell_string(runner.derive())
    summary = runner.summary()
    return {"epoch": epoch, "cell": cell, "test200": table.test200.get(cell) if table else None,
            "decision_strength": decision_strength(summary),
            "max_op_prob": max((max(p.values()) for p in summary.values()), default=None)}


def rank(runner: Any, args: argparse.Namespace, calibration: list[Any], held_out: list[Any],
         table: Any) -> dict[str, Any] | None:
    """The supernet ranking diagnostic (``benchmarks/supernet_ranking.py``) for supernas runs."""
    if not args.rank_cells or not isinstance(runner, SupernasRunner) or table is None:
        return None
    from benchmarks.supernet_ranking import rank_cells

    return rank_cells(runner.algo, args.rank_cells, calibration, held_out, table)


def settings_of(algo: str, overrides: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name, settings = ALGOS[algo]
    return name, {**settings, **overrides}


def search(algo: str, seed: int, data: tuple[Any, Any], args: argparse.Namespace,
           table: Any = None) -> dict[str, Any]:
    """One search; returns the derived cell, its table accuracy, the per-epoch trace and timings."""
    import torch

    from benchmarks.cifar import batches
    from supernas.oneshot.strength import decision_strength

    torch.manual_seed(seed)
    name, settings = settings_of(algo, args.set)
    runner = NniRunner(args.C, args.N, seed) if name == "nni" else \
        SupernasRunner(name, settings, args.C, args.N, seed)
    trace = []
    (xt, yt), (xv, yv) = data
    steps, start, cpu0 = [], time.perf_counter(), time.process_time()
    for epoch in range(args.epochs):
        runner.on_epoch_start(epoch, args.epochs)
        pairs = zip(batches(xt, yt, args.batch, seed * 1000 + epoch),
                    batches(xv, yv, args.batch, seed * 1000 + epoch + 500))
        for i, (tb, vb) in enumerate(pairs):
            if args.max_steps and i >= args.max_steps:
                break
            t0 = time.perf_counter()
            runner.step(tb, vb)
            steps.append((time.perf_counter() - t0) * 1e3)
        trace.append(trace_point(runner, epoch, table))
        print(trace[-1], flush=True)
    val_batches = batches(xv, yv, args.batch, seed + 777, flip=False)[: args.select_batches]
    ranking = rank(runner, args, batches(xt, yt, args.batch, seed + 778)[:10], val_batches, table)
    cell = runner.final(val_batches)
    probabilities = runner.summary()
    return {"algo": algo, "seed": seed, "cell": cell_string(cell),
            "skip_connections": sum(op == "skip_connect" for op in cell.values()),
            "median_step_ms": statistics.median(steps), "steps": len(steps),
            "total_minutes": (time.perf_counter() - start) / 60,
            "cpu_minutes": (time.process_time() - cpu0) / 60,
            "max_op_prob": trace[-1]["max_op_prob"] if trace else None,
            "decision_strength": trace[-1]["decision_strength"] if trace else None,
            "selection_strength": decision_strength(probabilities) if probabilities else None,
            "probabilities": probabilities, "trace": trace, "settings": settings,
            "ranking": ranking,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def summarise(runs: list[dict[str, Any]], algos: Sequence[str]) -> dict[str, Any]:
    """Per algorithm: mean/std of the 200-epoch accuracy, skips, step time over seeds."""
    out = {}
    for a in algos:
        mine = [r for r in runs if r["algo"] == a and "test200" in r]
        if mine:
            out[a] = {"seeds": len(mine), "test200": mean_std([r["test200"] for r in mine]),
                      "skip_connections": mean_std([r["skip_connections"] for r in mine]),
                      "median_step_ms": statistics.median(r["median_step_ms"] for r in mine),
                      "total_minutes": mean_std([r["total_minutes"] for r in mine]),
                      "cpu_minutes": mean_std([r.get("cpu_minutes", float("nan")) for r in mine])}
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--algos", nargs="+", default=list(ALGOS), choices=list(ALGOS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=1)
    p.add_argument("--images", type=int, default=10_000, help="stratified subset size")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--max-steps", type=int, default=0, help="cap steps per epoch (0: none)")
    p.add_argument("--select-batches", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rank-cells", type=int, default=50,
                   help="supernet ranking diagnostic over this many drawn cells (0: off)")
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--tag", default="", help="suffix of the results file (one file per run)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="override an algorithm setting (YAML value), e.g. arch_lr=3e-3 (ablations)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Path:
    import torch

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.set = {k: yamlnum.load(v) for k, _, v in (kv.partition("=") for kv in args.set)}
    if args.smoke:
        args.C, args.images, args.batch, args.epochs, args.max_steps = 4, 80, 8, 1, 2
        args.select_batches, args.seeds, args.rank_cells = 2, args.seeds[:1], 4
    torch.set_num_threads(args.threads)
    data = split_data(args.images // 10, seed=0, shared=args.shared)
    table = load_tables(args.shared)
    runs: list[dict[str, Any]] = []
    path = Path()
    for algo in args.algos:
        for seed in args.seeds:
            runs.append(run_one(algo, seed, data, table, args))
            print(runs[-1], flush=True)
            path = save(runs, args, argv)  # after every run: an interrupted sweep keeps its runs
    return path


def run_one(algo: str, seed: int, data: tuple[Any, Any], table: Any,
            args: argparse.Namespace) -> dict[str, Any]:
    """One search looked up in the table; an exception becomes an ``error`` entry."""
    try:
        run = search(algo, seed, data, args, table)
        run["test200"] = table.test200[run["cell"]]
    except Exception as exc:  # noqa: BLE001 - one broken algorithm must not sink the rest
        run = {"algo": algo, "seed": seed, "error": f"{type(exc).__name__}: {exc}"}
    return run


def save(runs: list[dict[str, Any]], args: argparse.Namespace, argv: Sequence[str]) -> Path:
    """Write the runs so far, with their summary, to this sweep's results file."""
    done = [a for a in args.algos if any(r["algo"] == a for r in runs)]
    payload = {"smoke": args.smoke, "setup": {k: getattr(args, k) for k in (
        "C", "N", "images", "batch", "epochs", "max_steps", "select_batches", "threads")},
        "algorithms": {a: dict(zip(("registry", "settings"), settings_of(a, args.set))) for a in done},
        "results": summarise(runs, done), "runs": runs, "paper": PAPER}
    name = "oneshot_nb201_smoke" if args.smoke else "oneshot_nb201" + (f"_{args.tag}" if args.tag else "")
    return write_result(name, payload, args.out, argv)

if __name__ == "__main__":
    print(main())
