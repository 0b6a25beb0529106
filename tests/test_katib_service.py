"""The suggestion service as a real gRPC server, driven with the Katib SDK's own stubs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_suggestions.experiment import trial_references
from katib_suggestions.formats import decode, parse_flat_settings
from katib_suggestions.server import HEALTH_SERVICE, build_server
from katib_suggestions.state import StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm

EXAMPLES = ["enas-cpu", "enas-gpu", "darts-cpu", "darts-gpu"]
UNSAFE = re.compile(r"[\"\\$`]")


def example(shared_dir: Path, name: str) -> dict:
    return yaml.safe_load((shared_dir / "anchors/katib/examples" / f"{name}.yaml").read_text())


def check_reply(reply, n: int, references: list[str]) -> None:
    assert len(reply.parameter_assignments) == n
    for pa in reply.parameter_assignments:
        assert sorted(a.name for a in pa.assignments) == sorted(references)
        for a in pa.assignments:
            assert not UNSAFE.search(a.value), a.value


def test_health_serving(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in (HEALTH_SERVICE, ""):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("name", EXAMPLES)
def test_katib_examples_validate_and_suggest(channel: grpc.Channel, shared_dir: Path, name: str) -> None:
    crd = example(shared_dir, name)
    sim = KatibSim(channel, crd)
    sim.validate()
    refs = trial_references(crd)
    for n in (crd["spec"]["parallelTrialCount"], 1, 0):
        check_reply(sim.call(n), n, refs)


def test_darts_answers_any_number_of_calls(channel: grpc.Channel, shared_dir: Path) -> None:
    crd = example(shared_dir, "darts-gpu")
    sim = KatibSim(channel, crd)
    replies = [sim.call(n) for n in (1, 3, 2)]
    values = {tuple((a.name, a.value) for a in pa.assignments) for r in replies for pa in r.parameter_assignments}
    assert len(values) == 1  # the same search configuration each time
    got = dict(next(iter(values)))
    assert decode(got["search-space"]) == ["separable_convolution_3x3", "dilated_convolution_3x3",
                                           "dilated_convolution_5x5", "avg_pooling_3x3",
                                           "max_pooling_3x3", "skip_connection"]
    settings = decode(got["algorithm-settings"])
    assert settings["num_epochs"] == 3 and settings["w_lr"] == 0.025 and got["num-layers"] == "3"


def enas_architecture(value: str, layers: int) -> list[list[int]]:
    arc = json.loads(value.replace("'", '"'))
    assert [len(layer) for layer in arc] == [i + 1 for i in range(layers)]
    return arc


def test_enas_experiment_with_failures_and_repeats(channel: grpc.Channel, tmp_path: Path) -> None:
    sim = KatibSim(channel, MINIMAL_ENAS)
    sim.validate()
    refs = ["architecture", "nn_config"]
    check_reply(sim.call(3), 3, refs)
    first, second, third = sim.running()
    sim.finish(third, C.SUCCEEDED, "0.61")       # out of order
    sim.finish(first, C.FAILED)
    check_reply(sim.call(2), 2, refs)
    check_reply(sim.call(2, create=False), 2, refs)   # a repeated call (lost reply)
    sim.finish(second, C.METRICSUNAVAILABLE)
    sim.finish(sim.running()[0], C.EARLYSTOPPED, "0.4")
    sim.finish(sim.running()[0], C.SUCCEEDED, "unavailable")
    for _ in range(3):
        check_reply(sim.call(1), 1, refs)
    state = StateStore(tmp_path / "state").load("mini-enas", "enas")
    finished = [t for t in sim.order if sim.trials[t].status.condition != C.RUNNING]
    assert sorted(state["seen"]) == sorted(finished)
    assert len(state["strategy"]["history"]) == len(finished)  # each trial observed once
    rewards = {name: r for name, r in state["seen"].items()}
    assert rewards[third] == pytest.approx(0.61) and rewards[first] is None
    assert rewards[second] is None


def test_enas_reward_goes_to_the_architecture_the_trial_ran(channel: grpc.Channel, tmp_path: Path) -> None:
    sim = KatibSim(channel, MINIMAL_ENAS)
    reply = sim.call(2)
    names = sim.running()
    arcs = [enas_architecture(pa.assignments[0].value, 3) for pa in reply.parameter_assignments]
    cfg = json.loads(reply.parameter_assignments[1].assignments[1].value.replace("'", '"'))
    assert cfg["num_layers"] == 3 and cfg["output_sizes"] == [10]
    assert set(cfg["embedding"]) == {str(layer[0]) for layer in arcs[1]}
    sim.finish(names[1], C.SUCCEEDED, "0.75")
    sim.call(1)
    state = StateStore(tmp_path / "state").load("mini-enas", "enas")
    (choices, reward), = state["strategy"]["history"]
    ops = [f"convolution:filter_size={k},num_filter=16" for k in (3, 5)] + [
        f"reduction:reduction_type={t},pool_size={p}" for t in ("max_pooling", "avg_pooling") for p in (2, 3)]
    assert [choices[f"layer{i}"] for i in range(3)] == [ops[layer[0]] for layer in arcs[1]]
    assert choices["skip2"] == [j for j in range(2) if arcs[1][2][1 + j]]
    assert reward == pytest.approx(0.75)


def test_minimize_objective_negates_reward(channel: grpc.Channel, tmp_path: Path) -> None:
    crd = with_algorithm(MINIMAL_ENAS, "supernas-random", exp_name="mini-min")
    crd["spec"]["objective"]["type"] = "minimize"
    sim = KatibSim(channel, crd)
    sim.call(1)
    sim.finish(sim.order[0], C.SUCCEEDED, "0.25")
    sim.call(1)
    state = StateStore(tmp_path / "state").load("mini-min", "supernas-random")
    assert state["seen"][sim.order[0]] == pytest.approx(-0.25)


@pytest.mark.parametrize("algorithm", ["supernas-enas", "supernas-evolution", "supernas-random"])
def test_supernas_multitrial_format(channel: grpc.Channel, algorithm: str) -> None:
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, algorithm, {"seed": "3"}))
    sim.validate()
    for n in (3, 2):
        reply = sim.call(n)
        check_reply(reply, n, ["architecture"])
        for pa in reply.parameter_assignments:
            value = pa.assignments[0].value
            assert value.startswith("b64:") and re.fullmatch(r"b64:[A-Za-z0-9_-]+", value)
            arch = decode(value)
            assert arch["space"] == "katib-macro" and set(arch["choices"]) == {
                "layer0", "layer1", "layer2", "skip1", "skip2"}
        for i, name in enumerate(sim.running()):
            sim.finish(name, C.SUCCEEDED if i else C.FAILED, str(0.1 * (i + 1)))


def test_supernas_darts_seeds_and_repeated_calls(channel: grpc.Channel, shared_dir: Path) -> None:
    crd = with_algorithm(example(shared_dir, "darts-gpu"), "supernas-darts", {"num_epochs": "2"})
    sim = KatibSim(channel, crd)
    sim.validate()
    seeds = []
    for n in (2, 1, 3):
        reply = sim.call(n)
        check_reply(reply, n, ["algorithm-settings", "search-space", "num-layers", "seed"])
        seeds += [{a.name: a.value for a in pa.assignments}["seed"] for pa in reply.parameter_assignments]
    assert seeds == [str(i) for i in range(6)]
    got = {a.name: a.value for a in reply.parameter_assignments[0].assignments}
    assert got["search-space"] == "sep_conv_3x3,dil_conv_3x3,dil_conv_5x5,avg_pool_3x3,max_pool_3x3,skip_connect"
    settings = parse_flat_settings(got["algorithm-settings"])
    assert settings["num_epochs"] == "2" and settings["temperature"] == "1.0"
    assert "'" not in "".join(got.values())


def test_supernas_enas_shares_weights_through_trial_dirs(channel: grpc.Channel, tmp_path: Path) -> None:
    crd = with_algorithm(MINIMAL_ENAS, "supernas-enas", {"suggestion_trial_dir": "/opt/supernas/trial"},
                         exp_name="share")
    sim = KatibSim(channel, crd)
    reply = sim.call(2)
    names = [pa.trial_name for pa in reply.parameter_assignments]
    assert names == ["share-00000", "share-00001"]
    exp_dir = tmp_path / "state/share"
    assert all((exp_dir / n).is_dir() and not (exp_dir / n / "supernet.pt").exists() for n in names)
    (exp_dir / names[1] / "supernet-out.pt").write_bytes(b"weights after trial 1")
    sim.finish(names[1], C.SUCCEEDED, "0.5")
    sim.finish(names[0], C.FAILED)
    new = sim.call(1).parameter_assignments[0].trial_name
    assert new == "share-00002"
    assert (exp_dir / "_shared/supernet.pt").read_bytes() == b"weights after trial 1"
    assert (exp_dir / new / "supernet.pt").read_bytes() == b"weights after trial 1"


def test_unwritable_state_dir_keeps_serving(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    server, port = build_server(blocker, "127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            sim = KatibSim(ch, with_algorithm(MINIMAL_ENAS, "supernas-random"))
            for n in (2, 1):
                check_reply(sim.call(n), n, ["architecture"])
    finally:
        server.stop(None)
    assert "state is in memory only" in caplog.text


def test_service_entry_point_loads_only_the_generated_stubs() -> None:
    import subprocess
    import sys

    code = ("from katib_suggestions.light_stubs import preload; assert preload(); "
            "import katib_suggestions.server, sys; "
            "from kubeflow.katib import katib_api_pb2_grpc as g; assert g.SuggestionStub; "
            "assert 'kubernetes' not in sys.modules and 'kubeflow.katib.api_client' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr


def test_offline_validation_cli(tmp_path: Path) -> None:
    from katib_suggestions.experiment import main

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(MINIMAL_ENAS))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_algorithm(MINIMAL_ENAS, "enas", {"controller_hidden_size": "-1"})))
    assert main([str(good)]) == 0
    assert main([str(good), str(bad)]) == 1


def test_requests_larger_than_grpc_default_limit(channel: grpc.Channel, shared_dir: Path) -> None:
    """Katib sends every trial each time: 1,000 trials of 5 KB assignments (5 MB > gRPC's 4 MiB)."""
    sim = KatibSim(channel, with_algorithm(example(shared_dir, "darts-gpu"), "supernas-darts"))
    sim.call(1000)
    for name in sim.order:
        sim.trials[name].spec.parameter_assignments.assignments[0].value += "x" * 5000
        sim.finish(name, C.SUCCEEDED, "0.5")
    assert sim.request(1).ByteSize() > 4 * 2**20
    check_reply(sim.call(1), 1, ["algorithm-settings", "search-space", "num-layers", "seed"])
