"""An Experiment's op list (``nasConfig.operations``) for ``supernas-darts``/``-bats``: one the space
can search is handed to the trial as given; one it cannot is refused when the Experiment is created
(``ValidateAlgorithmSettings``, over real gRPC with the Katib SDK's stubs) with INVALID_ARGUMENT
naming the field, the value and what is allowed; so is a ``numLayers`` the space cannot build."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from katib_suggestions.server import build_server
from katib_suggestions.testing import KatibSim

REPO = Path(__file__).resolve().parents[1]
FILTER_3 = [{"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}}]


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    server, port = build_server(tmp_path_factory.mktemp("state"), "127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(None)


def experiment(algorithm: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """The shipped CPU example of ``algorithm`` with ``operations`` as its op list."""
    name = algorithm.removeprefix("supernas-")
    crd = yaml.safe_load((REPO / f"manifests/experiments/supernas-{name}-cpu.yaml").read_text())
    crd["spec"]["nasConfig"]["operations"] = operations
    return crd


def test_an_op_subset_is_accepted_and_handed_out_as_given(channel: grpc.Channel) -> None:
    ops = [{"operationType": "separable_convolution", "parameters": FILTER_3},
           {"operationType": "max_pooling", "parameters": FILTER_3}, {"operationType": "skip_connection"}]
    sim = KatibSim(channel, experiment("supernas-darts", ops))
    sim.validate()
    (pa,) = sim.call(1).parameter_assignments
    values = {a.name: a.value for a in pa.assignments}
    assert values["search-space"] == "sep_conv_3x3,max_pool_3x3,skip_connect"


REFUSED = [
    ("supernas-darts", ["bin_group_conv_3x3", "skip_connect"], "the DARTS ops none, max_pool_3x3"),
    ("supernas-darts", ["none"], "at least one besides 'none'"),
    ("supernas-bats", ["none"], "at least one besides 'none'"),
]


@pytest.mark.parametrize(("algorithm", "names", "allowed"), REFUSED)
def test_an_op_list_the_space_cannot_search_is_refused(channel: grpc.Channel, algorithm: str,
                                                       names: list[str], allowed: str) -> None:
    sim = KatibSim(channel, experiment(algorithm, [{"operationType": n} for n in names]))
    with pytest.raises(grpc.RpcError) as info:
        sim.validate()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = info.value.details()
    assert details.startswith(f"nasConfig.operations={names!r} is invalid; allowed: "), details
    assert allowed in details and "'ops' argument" in details and "separable_convolution" in details


def test_a_depth_the_space_cannot_build_is_refused(channel: grpc.Channel) -> None:
    crd = experiment("supernas-bats", [{"operationType": "skip_connect"}, {"operationType": "max_pool_3x3"}])
    crd["spec"]["nasConfig"]["graphConfig"]["numLayers"] = 2  # the bats space builds >= 3 cells
    with pytest.raises(grpc.RpcError) as info:
        KatibSim(channel, crd).validate()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith("nasConfig.graphConfig.numLayers=2 is invalid; allowed: "
                                           "an integer in 3..32"), info.value.details()
