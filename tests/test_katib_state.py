"""Unusable or foreign state files: moved aside with a warning naming the file, the experiment
starts afresh (Katib re-sends every trial, so the finished ones are replayed), and the new state
is written where the old one was. Never ``UNKNOWN``, never silently used."""
from __future__ import annotations

import copy
import logging
import pickle
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from katib_suggestions.formats import decode
from katib_suggestions.server import build_server
from katib_suggestions.state import FORMAT, StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm

ALGORITHM = "supernas-evolution"
CRD = with_algorithm(MINIMAL_ENAS, ALGORITHM, {"population_size": "4", "sample_size": "2"},
                     exp_name="same-name")


def play(state: Path, crd: dict, rounds: int, sim: KatibSim | None = None) -> KatibSim:
    """``rounds`` calls against a fresh service on ``state`` (a restart each time it is called)."""
    server, port = build_server(state, "127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            if sim is None:
                sim = KatibSim(ch, crd)
            else:
                sim.stub = KatibSim(ch, crd).stub
            for i in range(rounds):
                assert len(sim.call(2).parameter_assignments) == 2
                for k, name in enumerate(sim.running()):
                    sim.finish(name, C.SUCCEEDED, f"{0.1 + 0.05 * (i + k):.2f}")
    finally:
        server.stop(None)
    return sim


def state_file(state: Path) -> Path:
    return StateStore(state).path("same-name", ALGORITHM)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "random bytes": lambda _: bytes(range(256)) * 4,
    "truncated": truncated,
    "empty": lambda _: b"",
    "a list": lambda _: pickle.dumps([1, 2, 3]),
    "bare v0.1 state": lambda _: pickle.dumps({"seen": {}, "issued": 0, "strategy": {}}),
    "wrong fields": lambda _: pickle.dumps({"format": FORMAT, "identity": {}, "state": []}),
    "a class reference": lambda _: pickle.dumps(Path("/etc")),
}


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_state_is_moved_aside_and_the_experiment_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str) -> None:
    sim = play(tmp_path, CRD, 2)
    path = state_file(tmp_path)
    path.write_bytes(CORRUPTIONS[how](path.read_bytes()))
    bad = path.read_bytes()
    with caplog.at_level(logging.WARNING):
        play(tmp_path, CRD, 1, sim)
    assert f"state file {path} not used" in caplog.text and "moved to" in caplog.text
    aside = list(path.parent.glob(path.name + ".corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bad
    state = StateStore(tmp_path).load("same-name", ALGORITHM)
    finished = [t for t in sim.order if sim.trials[t].status.condition == C.SUCCEEDED]
    assert sorted(state["seen"]) == sorted(finished[:4])  # replayed from the request
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        play(tmp_path, CRD, 1, sim)  # the new state is used on the next restart
    assert "not used" not in caplog.text


def test_state_that_does_not_fit_the_algorithm_is_corrupt(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    sim = play(tmp_path, CRD, 1)
    store = StateStore(tmp_path)
    doc = store.read("same-name", ALGORITHM)
    doc["state"] = {"seen": "not a dict", "strategy": {"history": 3}}
    store.save("same-name", ALGORITHM, doc)
    with caplog.at_level(logging.WARNING):
        play(tmp_path, CRD, 1, sim)
    assert "does not fit" in caplog.text
    assert len(list(tmp_path.glob("same-name/*.state.corrupt-*"))) == 1


def test_directory_in_place_of_the_state_file_keeps_the_history(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sim = play(tmp_path, CRD, 1)
    path = state_file(tmp_path)
    path.unlink()
    path.mkdir()
    (path / "something").write_text("kept")
    with caplog.at_level(logging.WARNING):
        play(tmp_path, CRD, 2, sim)
    assert f"state file {path} not used" in caplog.text and "a directory or other non-file" in caplog.text
    aside, = path.parent.glob(path.name + ".corrupt-*")
    assert (aside / "something").read_text() == "kept"
    assert path.is_file()  # state is saved again, so a restart keeps the history
    state = StateStore(tmp_path).load("same-name", ALGORITHM)
    assert len(state["seen"]) == 4
    assert "in memory only" not in caplog.text


def test_state_of_another_experiment_with_the_same_name_is_not_used(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    play(tmp_path, CRD, 3)
    other = copy.deepcopy(CRD)
    other["spec"]["nasConfig"]["operations"] = [
        {"operationType": "convolution", "parameters": [
            {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["7"]}},
            {"name": "num_filter", "parameterType": "categorical", "feasibleSpace": {"list": ["8"]}}]},
        {"operationType": "separable_convolution", "parameters": [
            {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}},
            {"name": "num_filter", "parameterType": "categorical", "feasibleSpace": {"list": ["8"]}}]}]
    with caplog.at_level(logging.WARNING):
        sim = play(tmp_path, other, 3)
    assert "saved for another experiment of this name (different nasConfig)" in caplog.text
    assert len(list(tmp_path.glob("same-name/*.state.foreign-*"))) == 1
    allowed = {"convolution:filter_size=7,num_filter=8", "separable_convolution:filter_size=3,num_filter=8"}
    for name in sim.order:
        arch = decode(sim.trials[name].spec.parameter_assignments.assignments[0].value)
        assert {v for k, v in arch["choices"].items() if k.startswith("layer")} <= allowed
    state = StateStore(tmp_path).load("same-name", ALGORITHM)
    assert sorted(state["seen"]) == sorted(sim.order[:4])  # only this experiment's trials


@pytest.mark.parametrize("change", ["settings", "objective", "algorithm"])
def test_other_settings_objective_or_algorithm_is_foreign(tmp_path: Path, change: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    play(tmp_path, CRD, 1)
    other = copy.deepcopy(CRD)
    if change == "settings":
        other["spec"]["algorithm"]["algorithmSettings"][0]["value"] = "5"
    elif change == "objective":
        other["spec"]["objective"]["type"] = "minimize"
    else:  # same file name, another algorithm's layout: a hand-copied state file
        sharing = with_algorithm(CRD, "supernas-random", exp_name="same-name")
        StateStore(tmp_path).path("same-name", "supernas-random").write_bytes(state_file(tmp_path).read_bytes())
        other = sharing
    with caplog.at_level(logging.WARNING):
        play(tmp_path, other, 1)
    assert f"different {change}" in caplog.text
