"""Requests the service must refuse or survive: names that would leave ``--state-dir``, bad
counts, an empty objective metric, architectures of the wrong JSON type, a port out of range.
Refusals are ``INVALID_ARGUMENT`` naming the field, and change nothing on disk."""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.formats import b64_json
from katib_suggestions.server import build_server
from katib_suggestions.state import StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm

ENAS_SHARING = {"suggestion_trial_dir": "/opt/t"}


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[grpc.Channel]:
    (tmp_path / "state").mkdir()
    server, port = build_server(tmp_path / "state", "127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(None)


def refused(fn, *texts: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    for text in texts:
        assert text in info.value.details(), (text, info.value.details())


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


BAD_NAMES = ["../x", "/abs", "..", "a/b", "Upper", "under_score", "dot.ted", "-lead", "trail-",
             "a" * 64, "a" * 300, "a\0b", ""]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_experiment_name_must_be_a_dns_label(channel: grpc.Channel, tmp_path: Path, name: str) -> None:
    crd = with_algorithm(MINIMAL_ENAS, "supernas-enas", ENAS_SHARING)
    crd["metadata"]["name"] = name
    sim = KatibSim(channel, crd)
    refused(sim.validate, "experiment.name", "DNS-1123")
    refused(lambda: sim.call(2), "experiment.name", "DNS-1123")
    assert files(tmp_path) == ["state"]  # nothing written, inside or outside the state directory


@pytest.mark.parametrize("name", ["../../outside", "/abs", "a" * 300, "x\0y", "Trial"], ids=repr)
def test_trial_name_must_be_a_dns_label(channel: grpc.Channel, tmp_path: Path, name: str) -> None:
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, "supernas-enas", ENAS_SHARING, exp_name="tn"))
    sim.call(1)
    good = sim.order[0]
    sim.trials[name] = sim.trials.pop(good)
    sim.trials[name].name = name
    sim.order = [name]
    sim.finish(name, C.SUCCEEDED, "0.5")
    before = files(tmp_path)
    refused(lambda: sim.call(1), "trials[0].name", "DNS-1123")
    assert files(tmp_path) == before
    assert not (tmp_path / "outside").exists()


def test_symlink_out_of_the_state_dir_is_refused(channel: grpc.Channel, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "state/linked").symlink_to(outside)
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, "supernas-random", exp_name="linked"))
    refused(lambda: sim.call(1), "experiment.name", "stays under")
    assert list(outside.iterdir()) == []
    # a trial directory that is a link to elsewhere: never written through
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, "supernas-enas", ENAS_SHARING, exp_name="tl"))
    sim.call(1)
    trial = sim.order[0]
    exp_dir = tmp_path / "state/tl"
    (exp_dir / trial / "supernet-out.pt").unlink(missing_ok=True)
    (exp_dir / trial).rmdir()
    (exp_dir / trial).symlink_to(outside)
    sim.finish(trial, C.SUCCEEDED, "0.5")
    refused(lambda: sim.call(1), "trial name", "stays under")
    assert list(outside.iterdir()) == []
    # the shared weights directory linked to elsewhere
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, "supernas-enas", ENAS_SHARING, exp_name="sl"))
    sim.call(1)
    (tmp_path / "state/sl/_shared").symlink_to(outside)
    refused(lambda: sim.call(1), "shared weights directory", "stays under")
    assert list(outside.iterdir()) == []


def test_negative_request_number_is_invalid_argument(channel: grpc.Channel) -> None:
    for algorithm in ("darts", "supernas-random", "enas"):
        crd = with_algorithm(MINIMAL_ENAS, algorithm, exp_name="neg")
        if algorithm == "darts":
            crd["spec"]["nasConfig"]["operations"] = [{"operationType": "skip_connection"}]
        refused(functools.partial(KatibSim(channel, crd).call, -1), "current_request_number=-1", ">= 0")


def test_empty_objective_metric_name_is_refused(channel: grpc.Channel) -> None:
    crd = with_algorithm(MINIMAL_ENAS, "supernas-evolution", exp_name="nometric")
    crd["spec"]["objective"]["objectiveMetricName"] = ""
    sim = KatibSim(channel, crd)
    refused(sim.validate, "objective.objectiveMetricName")
    refused(lambda: sim.call(1), "objective.objectiveMetricName")


@pytest.mark.parametrize("algorithm, value", [
    ("supernas-random", b64_json([1, 2])), ("supernas-random", b64_json("layer0")),
    ("supernas-random", b64_json(None)), ("supernas-enas", b64_json(3)), ("supernas-random", "b64:!!"),
    ("enas", "[[-1], [0, 1], [0, 0, 1]]"), ("enas", "'not json"), ("enas", "{'a': 1}"),
    ("enas", "[[0], [0, 2], [0, 0, 1]]"), ("enas", "[[0], [0], [0, 0, 1]]"),
])
def test_foreign_architecture_is_logged_and_not_credited(
        channel: grpc.Channel, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        algorithm: str, value: str) -> None:
    settings = ENAS_SHARING if algorithm == "supernas-enas" else {}
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, algorithm, settings, exp_name="foreign"))
    sim.call(2)
    bad, good = sim.order
    sim.trials[bad].spec.parameter_assignments.assignments[0].value = value
    sim.finish(bad, C.SUCCEEDED, "0.9")
    sim.finish(good, C.SUCCEEDED, "0.4")
    with caplog.at_level(logging.WARNING):
        assert len(sim.call(1).parameter_assignments) == 1
    assert f"trial {bad}: assignments not from this space, not credited" in caplog.text
    state = StateStore(tmp_path / "state").load("foreign", algorithm)
    assert sorted(state["seen"]) == sorted([bad, good])  # seen once, never retried
    assert [r for _, r in state["strategy"]["history"]] == [pytest.approx(0.4)]
    assert len(sim.call(1).parameter_assignments) == 1  # and the experiment goes on


def test_port_out_of_range_is_refused(capsys: pytest.CaptureFixture) -> None:
    from katib_suggestions.__main__ import parse_args
    from katib_suggestions.server import serve

    for port in ("99999", "0", "-1", "http"):
        with pytest.raises(SystemExit) as info:
            parse_args(["--port", port])
        assert info.value.code == 2
        assert "--port" in capsys.readouterr().err
    assert parse_args(["--port", "65535"]).port == 65535
    with pytest.raises(ValueError, match="1-65535"):
        serve("/nonexistent", 99999)


def test_refused_request_leaves_the_state_as_it_was(channel: grpc.Channel, tmp_path: Path) -> None:
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, "supernas-evolution", exp_name="keep"))
    sim.call(2)
    path = StateStore(tmp_path / "state").path("keep", "supernas-evolution")
    before = path.read_bytes()
    request = sim.request(1)
    request.trials.add(name="Bad_Name", status=pb.TrialStatus(condition=C.SUCCEEDED))
    refused(lambda: sim.stub.GetSuggestions(request, timeout=60), "trials[2].name")
    assert path.read_bytes() == before
    assert len(sim.call(1).parameter_assignments) == 1


def test_a_call_that_fails_half_way_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error is INTERNAL; the next call starts from the last saved state, so it
    answers as a service that never failed."""
    from katib_suggestions.algorithms.supernas import SupernasEvolution

    def play(state: Path, fail: bool) -> list:
        server, port = build_server(state, "127.0.0.1:0")
        server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                sim = KatibSim(ch, with_algorithm(MINIMAL_ENAS, "supernas-evolution", exp_name="half"))
                sim.call(3)
                for k, name in enumerate(sim.running()):
                    sim.finish(name, C.SUCCEEDED, f"0.{k + 1}")
                if fail:
                    original = SupernasEvolution.get_suggestions

                    def broken(self: SupernasEvolution, request: pb.GetSuggestionsRequest) -> list:
                        original(self, request)  # observes and suggests, then fails
                        raise RuntimeError("a bug")

                    monkeypatch.setattr(SupernasEvolution, "get_suggestions", broken)
                    with pytest.raises(grpc.RpcError) as info:
                        sim.call(2)
                    assert info.value.code() == grpc.StatusCode.INTERNAL
                    assert "RuntimeError" in info.value.details() and "service log" in info.value.details()
                    monkeypatch.undo()
                return [sim.call(2), sim.call(1)]
        finally:
            server.stop(None)

    assert play(tmp_path / "a", fail=True) == play(tmp_path / "b", fail=False)


def test_a_changed_experiment_spec_rebuilds_the_cached_algorithm(channel: grpc.Channel) -> None:
    """Same experiment name, narrower operation list: the next suggestions come from the new space."""
    import copy
    import json

    crd = with_algorithm(MINIMAL_ENAS, "enas", exp_name="respec")
    KatibSim(channel, crd).call(2)
    narrow = copy.deepcopy(crd)
    narrow["spec"]["nasConfig"]["operations"] = [{"operationType": "convolution", "parameters": [
        {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}},
        {"name": "num_filter", "parameterType": "categorical", "feasibleSpace": {"list": ["16"]}}]}]
    reply = KatibSim(channel, narrow).call(4)
    archs = [json.loads(next(a.value for a in pa.assignments if a.name == "architecture"))
             for pa in reply.parameter_assignments]
    assert len(archs) == 4 and all(layer[0] == 0 for arch in archs for layer in arch), archs
    more = copy.deepcopy(narrow)
    more["spec"]["maxTrialCount"] = 40  # a count Katib lets users edit: the algorithm is kept
    assert len(KatibSim(channel, more).call(1).parameter_assignments) == 1
