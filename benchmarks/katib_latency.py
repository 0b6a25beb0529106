"""Latency of ``GetSuggestions`` (p50, p99) with many trials in the request, and the service's
resident memory: ``python benchmarks/katib_latency.py [--trials 10 100 1000 5000]``.

The service runs as its own process (``python -m katib_suggestions``) and is called over gRPC
with the Katib SDK stub, as Katib's controller does. For each algorithm and trial count N: one
call creates N trials, all of them finish (random accuracy, 10% failed), then ``--calls`` timed
calls each send all N trials plus one more finished trial and ask for one suggestion (Katib's
steady state: every call carries the whole history). The first call after the N trials finish
replays them into the strategy; it is reported separately ("replay"). A benchmark, not a test.
Rows go to ``benchmarks/results/katib_latency.json`` with the command and machine (``--out``: elsewhere).

    .venv/bin/python benchmarks/katib_latency.py --trials 1000 --calls 500
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import write_result
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm

DARTS = with_algorithm(MINIMAL_ENAS, "supernas-darts")
DARTS["spec"]["nasConfig"] = {"graphConfig": {"numLayers": 8}, "operations": [
    {"operationType": t} for t in ("sep_conv_3x3", "dil_conv_3x3", "max_pool_3x3", "skip_connect")]}
DARTS_STYLE = ("darts", "supernas-darts", "supernas-bats")  # take a DARTS nasConfig, not ENAS's
ALL = ["enas", "supernas-enas", "darts", "supernas-darts", "supernas-bats", "supernas-evolution",
       "supernas-random"]


def start(state: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "katib_suggestions", "--port", str(port), "--state-dir",
                             str(state)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    grpc.channel_ready_future(grpc.insecure_channel(f"127.0.0.1:{port}")).result(timeout=120)
    return proc, port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def finish_all(sim: KatibSim, rng: random.Random) -> None:
    for name in sim.running():
        if rng.random() < 0.1:
            sim.finish(name, C.FAILED)
        else:
            sim.finish(name, C.SUCCEEDED, f"{rng.random():.4f}")


def bench(channel: grpc.Channel, crd: dict, n: int, calls: int) -> dict[str, float]:
    rng = random.Random(0)
    sim = KatibSim(channel, crd)
    sim.call(n, timeout=3600)
    finish_all(sim, rng)
    t = time.perf_counter()
    sim.call(1, timeout=3600)  # replays N finished trials; may exceed Katib's 60 s deadline
    replay = time.perf_counter() - t
    times = []
    for _ in range(calls):
        finish_all(sim, rng)
        t = time.perf_counter()
        sim.call(1)
        times.append(time.perf_counter() - t)
    times.sort()
    return {"replay_s": replay, "p50_ms": 1e3 * statistics.median(times),
            "p99_ms": 1e3 * times[min(len(times) - 1, int(0.99 * len(times)))]}


def main(argv: list[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, nargs="+", default=[10, 100, 1000, 5000])
    p.add_argument("--calls", type=int, default=100, help="timed calls per algorithm and size")
    p.add_argument("--algorithms", nargs="+", default=ALL, choices=ALL)
    p.add_argument("--out", type=Path, default=None, help="results directory")
    p.add_argument("--smoke", action="store_true", help="5 trials, 3 calls, two algorithms")
    args = p.parse_args(argv)
    if args.smoke:
        args.trials, args.calls, args.algorithms = [5], 3, ["supernas-enas", "darts"]
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start(Path(tmp))
        idle = rss_mib(proc.pid)
        print(f"idle service RSS: {idle:.0f} MiB", flush=True)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                rows = [measure(ch, algo, n, args.calls, proc.pid)
                        for algo in args.algorithms for n in args.trials]
        finally:
            proc.kill()
            proc.wait()
    name = "katib_latency_smoke" if args.smoke else "katib_latency"
    return write_result(name, {"smoke": args.smoke, "calls": args.calls, "idle_rss_mib": idle,
                               "rows": rows}, args.out, argv)


def measure(ch: grpc.Channel, algo: str, n: int, calls: int, pid: int) -> dict[str, Any]:
    """One algorithm at ``n`` trials: latency percentiles, replay time, service RSS after."""
    base = DARTS if algo in DARTS_STYLE else MINIMAL_ENAS
    r: dict[str, Any] = bench(ch, with_algorithm(base, algo, exp_name=f"bench-{algo}-{n}"), n, calls)
    r.update(algorithm=algo, trials=n, calls=calls, rss_mib=rss_mib(pid))
    print(f"{algo} {n} trials: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
          f"replay {r['replay_s']:.2f} s, RSS {r['rss_mib']:.0f} MiB", flush=True)
    return r

if __name__ == "__main__":
    print(main())
