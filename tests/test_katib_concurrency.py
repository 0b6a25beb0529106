"""Calls are serialised per experiment, not globally: while one experiment's call is busy (a long
replay), another experiment's call is answered at once, and a second call of the busy
experiment waits for the first."""
from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms import Suggestion
from katib_suggestions.algorithms.supernas import SupernasRandom
from katib_suggestions.server import build_server
from katib_suggestions.testing import MINIMAL_ENAS, KatibSim, with_algorithm


def test_a_busy_experiment_does_not_hold_up_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    original = SupernasRandom.get_suggestions
    active, seen = [0], []  # "busy" calls inside the algorithm now / at each entry

    def slow(self: SupernasRandom, request: pb.GetSuggestionsRequest) -> list[Suggestion]:
        if self.experiment_name != "busy":
            return original(self, request)
        active[0] += 1
        seen.append(active[0])
        try:
            if not entered.is_set():  # the first call stays inside until released
                entered.set()
                assert release.wait(60), "never released"
            return original(self, request)
        finally:
            active[0] -= 1

    monkeypatch.setattr(SupernasRandom, "get_suggestions", slow)
    server, port = build_server(tmp_path, "127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            busy = KatibSim(ch, with_algorithm(MINIMAL_ENAS, "supernas-random", exp_name="busy"))
            other = KatibSim(ch, with_algorithm(MINIMAL_ENAS, "supernas-random", exp_name="other"))
            first = busy.stub.GetSuggestions.future(busy.request(1), timeout=120)
            assert entered.wait(60)
            for n in (1, 2, 3):  # answered while "busy" is inside its call
                assert len(other.call(n, timeout=20).parameter_assignments) == n
            second = busy.stub.GetSuggestions.future(busy.request(2), timeout=120)
            with pytest.raises(grpc.FutureTimeoutError):
                second.result(timeout=1)  # waits for the first call of its experiment
            release.set()
            assert len(first.result().parameter_assignments) == 1
            assert len(second.result().parameter_assignments) == 2
            assert seen == [1, 1]  # never two calls of one experiment at once
    finally:
        release.set()
        server.stop(None)
