"""Katib re-sends a ``GetSuggestions`` request whose reply it could not record (a failed status
update, a killed service): the retry gets the reply the first attempt produced, so a killed and
restarted service goes on exactly like one that never stopped, for every algorithm.

The SIGKILL test runs the service as its own process (``python -m katib_suggestions`` behind a
small wrapper that can kill it right after a given state write). One run plays every algorithm's
experiment for ``ROUNDS`` rounds against one process and kills it once per algorithm right after
the state write of one of its calls (before the reply leaves) and at ``RANDOM_KILLS`` random
moments; after each kill the service is restarted on the same state directory and the request is
sent again. The run must give the same replies, trial names, state files and trial directories as
an uninterrupted run. By default one run (1-2 minutes on a busy 2-core machine, ~35 s of CPU);
the full check is 20 runs with different kill points (about 40 s of CPU each; select some with
``-k run07``):

    SUPERNAS_KILL_RUNS=20 .venv/bin/python -m pytest -q tests/test_katib_retry.py -k sigkill
"""
from __future__ import annotations

import copy
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_suggestions.algorithms import ALGORITHMS
from katib_suggestions.server import HEALTH_SERVICE, build_server
from katib_suggestions.state import StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm
from katib_suggestions.weights import OUT_FILE

REPO = Path(__file__).resolve().parents[1]
ROUNDS, RANDOM_KILLS, MAX_DELAY = 5, 3, 0.05
RUNS = int(os.environ.get("SUPERNAS_KILL_RUNS", "1"))
DARTS_NAS = {"graphConfig": {"numLayers": 3}, "operations": [
    {"operationType": t, "parameters": [{"name": "filter_size", "parameterType": "categorical",
                                         "feasibleSpace": {"list": ["3"]}}]}
    for t in ("separable_convolution", "max_pooling")] + [{"operationType": "skip_connection"}]}
SETTINGS = {"supernas-enas": {"suggestion_trial_dir": "/opt/t", "batch_size": "2"},
            "enas": {"controller_train_steps": "2"}, "supernas-evolution": {"population_size": "3", "sample_size": "2"}}

#: The service, killed with SIGKILL right after it saved the state during the request of
#: experiment $KILL_EXPERIMENT with total_request_number $KILL_TOTAL (works with any state format).
WRAPPER = """
import os, signal, sys, threading
from katib_suggestions.light_stubs import preload
preload()
from katib_suggestions import service, state
target = (os.environ.get("KILL_EXPERIMENT"), int(os.environ.get("KILL_TOTAL", "-1")))
local = threading.local()
get, save = service.SuggestionService.GetSuggestions, state.StateStore.commit
def patched_get(self, request, context):
    local.request = (request.experiment.name, request.total_request_number)
    return get(self, request, context)
def patched_save(self, *args, **kwargs):
    save(self, *args, **kwargs)
    if getattr(local, "request", None) == target:
        os.kill(os.getpid(), signal.SIGKILL)
service.SuggestionService.GetSuggestions = patched_get
state.StateStore.commit = patched_save
from katib_suggestions.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def crds() -> list[dict[str, Any]]:
    out = []
    for i, name in enumerate(ALGORITHMS.names()):
        crd = with_algorithm(MINIMAL_ENAS, name, SETTINGS.get(name), exp_name=f"retry-{i}")
        if "darts" in name or "bats" in name:
            crd["spec"]["nasConfig"] = copy.deepcopy(DARTS_NAS)
        out.append(crd)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """``python -m katib_suggestions`` (through ``WRAPPER``) on a fixed port and state directory."""

    def __init__(self, state: Path) -> None:
        self.state, self.port = state, free_port()
        self.proc: subprocess.Popen | None = None
        self.channel: grpc.Channel | None = None

    def start(self, kill_at: tuple[str, int] | None = None) -> grpc.Channel:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if kill_at:
            env.update(KILL_EXPERIMENT=kill_at[0], KILL_TOTAL=str(kill_at[1]))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, "--port", str(self.port), "--state-dir", str(self.state)],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        stub = health_pb2_grpc.HealthStub(self.channel)
        for _ in range(1200):
            try:
                stub.Check(health_pb2.HealthCheckRequest(service=HEALTH_SERVICE), timeout=1)
                return self.channel
            except grpc.RpcError:
                assert self.proc.poll() is None, "service exited"
                time.sleep(0.1)
        raise TimeoutError("service did not become healthy")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(60)
        if self.channel is not None:
            self.channel.close()
        self.proc = self.channel = None


def finish(sim: KatibSim, trial_root: Path) -> None:
    """Finish every running trial, last first; results follow from the trial's assignments, and
    a supernas-enas trial publishes weights (its name) as ``supernet-out.pt``."""
    for name in sim.running()[::-1]:
        digest = hashlib.sha256(str(sim.trials[name].spec.parameter_assignments).encode()).digest()
        trial_dir = trial_root / sim.experiment.name / name
        if trial_dir.is_dir():
            (trial_dir / OUT_FILE).write_text(name)
        if digest[0] % 4 == 0:
            sim.finish(name, C.FAILED)
        else:
            sim.finish(name, C.SUCCEEDED, f"{digest[1] / 255:.4f}")


def log_reply(log: list, reply: Any) -> None:
    log.append([(pa.trial_name, [(a.name, a.value) for a in pa.assignments])
                for pa in reply.parameter_assignments])


def calls() -> Iterator[tuple[int, int, int]]:
    """(call index, round, experiment index) in playing order; n alternates 2, 1."""
    count = len(ALGORITHMS.names())
    for r in range(ROUNDS):
        for e in range(count):
            yield r * count + e, r, e


def n_of(round_: int) -> int:
    return 2 - round_ % 2


def uninterrupted(state: Path) -> tuple[list, list[KatibSim]]:
    server, port = build_server(state, "127.0.0.1:0")
    server.start()
    log: list = []
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            sims = [KatibSim(ch, crd) for crd in crds()]
            for _, r, e in calls():
                log_reply(log, sims[e].call(n_of(r)))
                finish(sims[e], state)
            for sim in sims:
                sim.call(0)
    finally:
        server.stop(None)
    return log, sims


def kill_plan(seed: int) -> dict[int, tuple[str, float]]:
    """call index -> ("save", 0) (kill right after that call's state write) or ("random", delay)."""
    rng = random.Random(seed)
    count = len(ALGORITHMS.names())
    plan: dict[int, tuple[str, float]] = {}
    for e in range(count):
        plan[rng.randrange(ROUNDS) * count + e] = ("save", 0.0)
    free = [i for i in range(ROUNDS * count) if i not in plan]
    for i in rng.sample(free, RANDOM_KILLS):
        plan[i] = ("random", rng.uniform(0, MAX_DELAY))
    return plan


def save_kill_target(plan: dict, after: int) -> tuple[str, int] | None:
    """(experiment, total_request_number) of the next planned after-save kill at or after ``after``."""
    names = [crd["metadata"]["name"] for crd in crds()]
    for i in sorted(k for k, (kind, _) in plan.items() if kind == "save" and k >= after):
        r, e = divmod(i, len(names))
        earlier = sum(n_of(q) for q in range(r))  # the experiment's trials when that call is made
        return names[e], earlier + n_of(r)
    return None


def interrupted(state: Path, seed: int) -> tuple[list, list[KatibSim], int]:
    plan = kill_plan(seed)
    service = Service(state)
    log: list = []
    kills = 0
    try:
        channel = service.start(save_kill_target(plan, 0))
        sims = [KatibSim(channel, crd) for crd in crds()]
        for i, r, e in calls():
            sim, n = sims[e], n_of(r)
            reply = None
            kind, delay = plan.get(i, ("", 0.0))
            if kind == "save":
                with pytest.raises(grpc.RpcError):
                    sim.call(n, create=False, timeout=120)
                service.proc.wait(60)  # died right after the state write, before the reply
            elif kind == "random":
                future = sim.stub.GetSuggestions.future(sim.request(n), timeout=120)
                time.sleep(delay)
                service.kill()
                try:
                    reply = future.result()  # the reply left before the kill
                except grpc.RpcError:
                    reply = None
            if kind:
                kills += 1
                service.kill()
                channel = service.start(save_kill_target(plan, i + 1))
                for other in sims:
                    other.stub = KatibSim(channel, sim_crd(other)).stub
            if reply is None:
                reply = sim.call(n, create=False, timeout=120)  # Katib's retry
            for pa in reply.parameter_assignments:
                sim._create(pa)
            log_reply(log, reply)
            finish(sim, state)
        for sim in sims:
            sim.call(0)  # the last results are observed
    finally:
        service.kill()
    return log, sims, kills


def sim_crd(sim: KatibSim) -> dict[str, Any]:
    return next(c for c in crds() if c["metadata"]["name"] == sim.experiment.name)


def snapshot(state: Path, sims: list[KatibSim]) -> dict[str, Any]:
    """State documents, shared weights and trial directories of every experiment."""
    out: dict[str, Any] = {}
    for sim in sims:
        name = sim.experiment.name
        algorithm = sim.experiment.spec.algorithm.algorithm_name
        out[name] = StateStore(state).read(name, algorithm)
        exp_dir = state / name
        out[name + "/dirs"] = sorted(p.name for p in exp_dir.iterdir() if p.is_dir())
        shared = exp_dir / "_shared/supernet.pt"
        out[name + "/shared"] = shared.read_text() if shared.is_file() else None
    return out


@pytest.mark.slow
@pytest.mark.parametrize("run", range(RUNS), ids=lambda r: f"run{r:02d}")
def test_sigkill_at_any_point_then_retry_matches_an_uninterrupted_run(
        tmp_path: Path, one_thread: None, run: int) -> None:
    expected, ref_sims = uninterrupted(tmp_path / "a")
    got, sims, kills = interrupted(tmp_path / "b", seed=run)
    assert kills == len(ALGORITHMS.names()) + RANDOM_KILLS
    assert got == expected
    assert [s.order for s in sims] == [s.order for s in ref_sims]
    assert snapshot(tmp_path / "b", sims) == snapshot(tmp_path / "a", ref_sims)
    enas = next(s for s in sims if s.experiment.spec.algorithm.algorithm_name == "supernas-enas")
    dirs = sorted(p.name for p in (tmp_path / "b" / enas.experiment.name).iterdir() if p.is_dir())
    assert dirs == ["_shared"]  # every trial finished: no directory left behind


@pytest.mark.parametrize("crd", crds(), ids=lambda c: c["spec"]["algorithm"]["algorithmName"])
def test_repeated_identical_request_gets_the_identical_reply(channel: grpc.Channel, tmp_path: Path,
                                                             crd: dict) -> None:
    sim = KatibSim(channel, crd)
    store = StateStore(tmp_path / "state")
    algorithm = crd["spec"]["algorithm"]["algorithmName"]
    for _ in range(3):
        first = sim.call(2, create=False)  # the reply is lost: Katib sends the request again
        path, log = store.path(sim.experiment.name, algorithm), store.log_path(sim.experiment.name, algorithm)
        written = path.stat().st_mtime_ns, path.stat().st_ino, log.read_bytes()
        second = sim.call(2)
        assert second == first
        assert (path.stat().st_mtime_ns, path.stat().st_ino, log.read_bytes()) == written  # a retry writes nothing
        finish(sim, tmp_path / "state")
    if algorithm in ("supernas-darts", "supernas-bats"):
        seeds = [a.value for t in sim.order for a in sim.trials[t].spec.parameter_assignments.assignments
                 if a.name == "seed"]
        assert seeds == [str(i) for i in range(6)]  # no seed skipped by the lost replies
    state = store.load(sim.experiment.name, algorithm)
    if "strategy" in state:  # dedupe holds only architectures some trial ran
        assert len(state["strategy"]["suggested"]) == len(sim.order)
