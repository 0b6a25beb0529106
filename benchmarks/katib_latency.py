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
#: the creating call's reply holds N suggestions (over gRPC's default 4 MiB at 10,000)
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 256 * 2**20),
                   ("grpc.max_send_message_length", 256 * 2**20)]
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


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def decode_ms(request: Any) -> float:
    """Time to decode ``request``'s wire bytes (what gRPC does before the service runs)."""
    data = request.SerializeToString()
    t = time.perf_counter()
    type(request).FromString(data)
    return 1e3 * (time.perf_counter() - t)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_call(channel: grpc.Channel, sim: KatibSim, n: int, pid: int,
               timeout: float = 60) -> tuple[float, float]:
    """One call asking for ``n`` trials, which are then created; (wall s, service CPU s) of the
    call alone: the request is built and serialised before the clock starts (Katib's own
    controller is not what is measured)."""
    from kubeflow.katib import katib_api_pb2 as pb

    raw = channel.unary_unary(  # bytes in: no client-side encoding timed
        "/api.v1.beta1.Suggestion/GetSuggestions", response_deserializer=pb.GetSuggestionsReply.FromString)
    data = sim.request(n).SerializeToString()
    t, c = time.perf_counter(), cpu_s(pid)
    reply = raw(data, timeout=timeout)
    wall, cpu = time.perf_counter() - t, cpu_s(pid) - c
    for pa in reply.parameter_assignments:
        sim._create(pa)
    return wall, cpu


def bench(channel: grpc.Channel, crd: dict, n: int, calls: int, pid: int) -> dict[str, float]:
    rng = random.Random(0)
    sim = KatibSim(channel, crd)
    timed_call(channel, sim, n, pid, timeout=3600)
    finish_all(sim, rng)
    # replays N finished trials; may exceed Katib's 60 s deadline
    replay, replay_cpu = timed_call(channel, sim, 1, pid, timeout=3600)
    times, cpus, decodes = [], [], []
    for _ in range(calls):
        finish_all(sim, rng)
        decodes.append(decode_ms(sim.request(1)))
        wall, cpu = timed_call(channel, sim, 1, pid)
        times.append(1e3 * wall)
        cpus.append(1e3 * cpu)
    size = sim.request(1).ByteSize()
    return {"replay_s": replay, "replay_cpu_s": replay_cpu, "p50_ms": statistics.median(times),
            "p99_ms": pct(times, 0.99), "cpu_p50_ms": statistics.median(cpus),
            "cpu_p99_ms": pct(cpus, 0.99), "decode_p50_ms": statistics.median(decodes),
            "request_mb": size / 1e6}


def cross_wait(channel: grpc.Channel, n: int) -> dict[str, float]:
    """While one experiment's call replays ``n`` finished supernas-enas trials, the slowest of
    the trivial calls another experiment makes every 20 ms (per-experiment serialisation)."""
    import threading

    rng = random.Random(1)
    busy = KatibSim(channel, with_algorithm(MINIMAL_ENAS, "supernas-enas", exp_name=f"busy-{n}"))
    other = KatibSim(channel, with_algorithm(MINIMAL_ENAS, "supernas-random", exp_name=f"other-{n}"))
    busy.call(n, timeout=3600)
    finish_all(busy, rng)
    other.call(1)
    done, waits = threading.Event(), []
    worker = threading.Thread(target=lambda: (busy.call(1, timeout=3600), done.set()))
    t0 = time.perf_counter()
    worker.start()
    while not done.is_set():
        t = time.perf_counter()
        other.call(1, create=False)
        waits.append(1e3 * (time.perf_counter() - t))
        time.sleep(0.02)
    worker.join()
    return {"busy_call_s": time.perf_counter() - t0, "other_calls": len(waits),
            "other_max_ms": max(waits), "other_p50_ms": statistics.median(waits)}


def main(argv: list[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, nargs="+", default=[10, 100, 1000, 5000])
    p.add_argument("--calls", type=int, default=100, help="timed calls per algorithm and size")
    p.add_argument("--algorithms", nargs="+", default=ALL, choices=ALL)
    p.add_argument("--out", type=Path, default=None, help="results directory")
    p.add_argument("--cross", type=int, default=0,
                   help="also measure another experiment's wait during a replay of this many trials")
    p.add_argument("--smoke", action="store_true", help="5 trials, 3 calls, two algorithms")
    args = p.parse_args(argv)
    if args.smoke:
        args.trials, args.calls, args.algorithms = [5], 3, ["supernas-enas", "darts"]
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start(Path(tmp))
        idle = rss_mib(proc.pid)
        print(f"idle service RSS: {idle:.0f} MiB", flush=True)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS) as ch:
                rows = []
                for algo in args.algorithms:
                    for n in args.trials:
                        rows.append(measure(ch, algo, n, args.calls, proc.pid))
                        write_partial(rows, args)
                cross = cross_wait(ch, args.cross) if args.cross else None
                print(f"cross-experiment wait: {cross}", flush=True)
        finally:
            proc.kill()
            proc.wait()
    name = "katib_latency_smoke" if args.smoke else "katib_latency"
    return write_result(name, {"smoke": args.smoke, "calls": args.calls, "idle_rss_mib": idle,
                               "rows": rows, "cross_wait": cross}, args.out, argv)


def write_partial(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Rows so far, to ``/tmp`` (a long run on a loaded machine may be stopped)."""
    import json

    Path(tempfile.gettempdir(), "katib_latency.partial.json").write_text(json.dumps(rows, indent=1))


def measure(ch: grpc.Channel, algo: str, n: int, calls: int, pid: int) -> dict[str, Any]:
    """One algorithm at ``n`` trials: latency percentiles, replay time, service RSS after."""
    base = DARTS if algo in DARTS_STYLE else MINIMAL_ENAS
    r: dict[str, Any] = bench(ch, with_algorithm(base, algo, exp_name=f"bench-{algo}-{n}"), n, calls, pid)
    r.update(algorithm=algo, trials=n, calls=calls, rss_mib=rss_mib(pid))
    print(f"{algo} {n} trials: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms (service CPU "
          f"p50 {r['cpu_p50_ms']:.1f}, p99 {r['cpu_p99_ms']:.1f}), decode {r['decode_p50_ms']:.1f} ms "
          f"of {r['request_mb']:.1f} MB, replay {r['replay_s']:.2f} s, RSS {r['rss_mib']:.0f} MiB",
          flush=True)
    return r

if __name__ == "__main__":
    print(main())
