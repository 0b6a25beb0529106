"""A service killed with SIGKILL and restarted on the same state directory continues exactly
like one that never stopped (same later suggestions and trial names)."""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_suggestions.server import HEALTH_SERVICE, build_server
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm

REPO = Path(__file__).resolve().parents[1]
ROUNDS, KILL_AFTER = 6, 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(state: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "katib_suggestions", "--port", str(port),
                             "--state-dir", str(state)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for _ in range(600):
            try:
                stub.Check(health_pb2.HealthCheckRequest(service=HEALTH_SERVICE), timeout=1)
                return proc
            except grpc.RpcError:
                assert proc.poll() is None, "service exited"
                time.sleep(0.1)
    raise TimeoutError("service did not become healthy")


def outcome(sim: KatibSim, name: str) -> None:
    """Deterministic result from the trial's own assignments (some fail)."""
    digest = hashlib.sha256(str(sim.trials[name].spec.parameter_assignments).encode()).digest()
    if digest[0] % 4 == 0:
        sim.finish(name, C.FAILED)
    else:
        sim.finish(name, C.SUCCEEDED, f"{digest[1] / 255:.4f}")


def play(sims: list[KatibSim], rounds: range, log: list) -> None:
    for _ in rounds:
        for sim in sims:
            reply = sim.call(2)
            log.append([(pa.trial_name, [(a.name, a.value) for a in pa.assignments])
                        for pa in reply.parameter_assignments])
            for name in sim.running()[::-1]:  # finish out of order
                outcome(sim, name)


ALGORITHMS = {"enas": {}, "supernas-evolution": {}, "supernas-enas": {"suggestion_trial_dir": "/opt/t"}}
CRDS = [with_algorithm(MINIMAL_ENAS, name, settings, exp_name=f"restart-{i}")
        for i, (name, settings) in enumerate(ALGORITHMS.items())]


def sims(channel: grpc.Channel) -> list[KatibSim]:
    return [KatibSim(channel, crd) for crd in CRDS]


@pytest.mark.slow
def test_sigkill_and_restart_changes_no_later_suggestion(tmp_path: Path) -> None:
    """Three experiments (enas, supernas-evolution, supernas-enas) share one service process."""
    server, port = build_server(tmp_path / "a", "127.0.0.1:0")
    server.start()
    expected: list = []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        play(sims(ch), range(ROUNDS), expected)
    server.stop(None)

    got: list = []
    port = free_port()
    proc = start_service(tmp_path / "b", port)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            before = sims(ch)
            play(before, range(KILL_AFTER), got)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc = start_service(tmp_path / "b", port)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            for sim, fresh in zip(before, sims(ch)):
                sim.stub = fresh.stub
            play(before, range(KILL_AFTER, ROUNDS), got)
    finally:
        proc.kill()
        proc.wait(30)
    assert got == expected
    assert len({str(r) for r in expected}) == len(expected)  # every call moved the search on
