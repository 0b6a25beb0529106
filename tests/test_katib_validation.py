"""``ValidateAlgorithmSettings``: INVALID_ARGUMENT naming the field, the value and what is allowed."""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from katib_suggestions.server import build_server
from katib_suggestions.testing import MINIMAL_ENAS, KatibSim, with_algorithm


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    server, port = build_server(tmp_path_factory.mktemp("state"), "127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(None)


def ops(crd: dict) -> list:
    return crd["spec"]["nasConfig"]["operations"]


def first_param(crd: dict) -> dict:
    return ops(crd)[0]["parameters"][0]


def edit(fn: Callable[[dict], Any], algorithm: str = "enas", settings: dict | None = None) -> dict:
    crd = with_algorithm(MINIMAL_ENAS, algorithm, settings)
    fn(crd)
    return crd


def nothing(crd: dict) -> None:
    return None


CASES = [
    # (id, experiment, texts the message must contain)
    ("unknown setting", edit(nothing, settings={"controller_hiden_size": "3"}),
     ["controller_hiden_size", "controller_hidden_size"]),
    ("wrong type", edit(nothing, settings={"controller_hidden_size": "big"}),
     ["controller_hidden_size='big'", "an integer"]),
    ("out of range", edit(nothing, settings={"controller_baseline_decay": "1.5"}),
     ["controller_baseline_decay=1.5", "[0, 1)"]),
    ("darts out of range", edit(nothing, "darts", {"num_epochs": "0"}),
     ["num_epochs=0", "an integer >= 1"]),
    ("strategy setting type", edit(nothing, "supernas-evolution", {"population_size": "1.5"}),
     ["population_size=1.5", "an integer"]),
    ("strategy setting range", edit(nothing, "supernas-evolution", {"population_size": "0"}),
     ["population_size", "0"]),
    ("missing graph config", edit(lambda c: c["spec"]["nasConfig"].pop("graphConfig")),
     ["nasConfig.graphConfig.numLayers", "0"]),
    ("missing input sizes", edit(lambda c: c["spec"]["nasConfig"]["graphConfig"].pop("inputSizes")),
     ["nasConfig.graphConfig.inputSizes", "[]"]),
    ("no operations", edit(lambda c: c["spec"]["nasConfig"].pop("operations")),
     ["nasConfig.operations", "at least one"]),
    ("missing operation type", edit(lambda c: ops(c)[1].pop("operationType")),
     ["nasConfig.operations[1].operationType"]),
    ("unknown op for supernas-darts", edit(lambda c: c["spec"]["nasConfig"].update(
        operations=[{"operationType": "warp_drive"}]), "supernas-darts"),
     ["nasConfig.operations", "warp_drive", "sep_conv_3x3"]),
    ("unbuildable op for supernas-random", edit(lambda c: ops(c)[0].update(operationType="warp_drive"),
                                                "supernas-random"),
     ["nasConfig.operations[].operationType", "warp_drive", "separable_convolution"]),
    ("unsafe op type", edit(lambda c: ops(c)[0].update(operationType='conv"$x')),
     ["nasConfig.operations[0].operationType", "letters, digits"]),
    ("categorical without list", edit(lambda c: first_param(c)["feasibleSpace"].pop("list")),
     ["nasConfig.operations[0].parameters[0].feasibleSpace.list", "non-empty"]),
    ("unknown parameter type", edit(lambda c: first_param(c).update(parameterType="fuzzy")),
     ["nasConfig.operations[0].parameters[0].parameterType", "UNKNOWN_TYPE", "categorical"]),
    ("int min above max", edit(lambda c: ops(c)[1]["parameters"][1]["feasibleSpace"].update(min="5")),
     ["nasConfig.operations[1].parameters[1].feasibleSpace.max", "'3'", ">= min"]),
    ("int not a number", edit(lambda c: ops(c)[1]["parameters"][1]["feasibleSpace"].update(step="x")),
     ["nasConfig.operations[1].parameters[1].feasibleSpace.step", "'x'", "an integer"]),
    ("parameter without name", edit(lambda c: first_param(c).pop("name")),
     ["nasConfig.operations[0].parameters[0].name"]),
    ("darts extra parameter", edit(nothing, "darts"),
     ["nasConfig.operations[0].parameters", "filter_size"]),
    ("unknown algorithm", edit(nothing, "enas-v2"), ["algorithm.algorithmName", "enas-v2", "supernas-enas"]),
    ("relative trial dir", edit(nothing, "supernas-enas", {"suggestion_trial_dir": "weights"}),
     ["suggestion_trial_dir='weights'", "absolute path"]),
]


@pytest.mark.parametrize("crd,texts", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_experiment_is_refused(channel: grpc.Channel, crd: dict, texts: list[str]) -> None:
    sim = KatibSim(channel, crd)
    with pytest.raises(grpc.RpcError) as info:
        sim.validate()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for text in texts:
        assert text in info.value.details(), (text, info.value.details())


def test_parameterless_operation_is_valid(channel: grpc.Channel) -> None:
    crd = copy.deepcopy(MINIMAL_ENAS)
    ops(crd).append({"operationType": "skip_connection"})
    KatibSim(channel, crd).validate()
    KatibSim(channel, with_algorithm(crd, "supernas-random")).validate()


def test_get_suggestions_on_invalid_experiment_is_invalid_argument(channel: grpc.Channel) -> None:
    sim = KatibSim(channel, edit(nothing, settings={"controller_hidden_size": "0"}))
    with pytest.raises(grpc.RpcError) as info:
        sim.call(1)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "controller_hidden_size" in info.value.details()
