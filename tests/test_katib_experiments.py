"""Whole experiments, driven like Katib's controller: keep ``parallelTrialCount`` trials running
until ``maxTrialCount``, trials finish out of order, some fail or report no metric, and some calls
are repeated (a lost reply). Built from Katib's NAS examples and from the supernas manifests."""
from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from katib_suggestions.experiment import trial_references
from katib_suggestions.server import build_server
from katib_suggestions.state import StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim

REPO = Path(__file__).resolve().parents[1]
SUPERNAS = sorted((REPO / "manifests/experiments").glob("supernas-*.yaml"))
KATIB = ["enas-cpu", "enas-gpu", "darts-cpu", "darts-gpu"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[grpc.Channel, Path]]:
    state = tmp_path_factory.mktemp("state")
    server, port = build_server(state, "127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch, state
    server.stop(None)


def finish_some(sim: KatibSim, rng: random.Random) -> None:
    running = sim.running()
    rng.shuffle(running)  # out of order
    for name in running[: max(1, len(running) // 2)]:
        roll = rng.random()
        if roll < 0.15:
            sim.finish(name, C.FAILED)
        elif roll < 0.25:
            sim.finish(name, C.METRICSUNAVAILABLE)
        elif roll < 0.3:
            sim.finish(name, C.EARLYSTOPPED, f"{rng.random():.3f}")
        else:
            sim.finish(name, C.SUCCEEDED, f"{rng.random():.3f}")


def run_experiment(channel: grpc.Channel, crd: dict, seed: int) -> KatibSim:
    rng = random.Random(seed)
    spec = crd["spec"]
    parallel, total = spec.get("parallelTrialCount", 1), spec.get("maxTrialCount", 4)
    sim = KatibSim(channel, crd)
    sim.validate()
    refs = sorted(trial_references(crd))
    while len(sim.trials) < total:
        n = min(parallel - len(sim.running()), total - len(sim.trials))
        if n > 0:
            if rng.random() < 0.3:
                sim.call(n, create=False)  # the reply was lost; Katib asks again
            reply = sim.call(n)
            assert len(reply.parameter_assignments) == n
            for pa in reply.parameter_assignments:
                assert sorted(a.name for a in pa.assignments) == refs
                assert not any(re.search(r"[\"\\$`]", a.value) for a in pa.assignments)
        finish_some(sim, rng)
    while sim.running():
        finish_some(sim, rng)
    sim.call(0)  # the last results are observed
    return sim


def check_state(state_dir: Path, sim: KatibSim, algorithm: str) -> None:
    state = StateStore(state_dir).load(sim.experiment.name, algorithm)
    if "seen" in state:  # multi-trial: every finished trial observed exactly once
        assert sorted(state["seen"]) == sorted(sim.trials)
        assert len(state["strategy"]["history"]) == len(sim.trials)


@pytest.mark.parametrize("name", KATIB)
def test_katib_example_experiment(served: tuple, shared_dir: Path, name: str) -> None:
    channel, state = served
    crd = yaml.safe_load((shared_dir / "anchors/katib/examples" / f"{name}.yaml").read_text())
    sim = run_experiment(channel, crd, seed=len(name))
    check_state(state, sim, crd["spec"]["algorithm"]["algorithmName"])


@pytest.mark.parametrize("path", SUPERNAS, ids=[p.stem for p in SUPERNAS])
def test_supernas_example_experiment(served: tuple, path: Path) -> None:
    channel, state = served
    crd = yaml.safe_load(path.read_text())
    crd["spec"]["maxTrialCount"] = min(crd["spec"]["maxTrialCount"], 12)
    sim = run_experiment(channel, crd, seed=len(path.stem))
    check_state(state, sim, crd["spec"]["algorithm"]["algorithmName"])


def test_bundled_minimal_experiment(served: tuple) -> None:
    channel, state = served
    sim = run_experiment(channel, MINIMAL_ENAS, seed=7)
    check_state(state, sim, "enas")
