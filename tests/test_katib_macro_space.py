"""The ``katib-macro`` space: decisions match the suggestion's, the supernet under a fixed
architecture equals the frozen child, and a suggested assignment builds through the supernas CLI's
architecture reader."""
from __future__ import annotations

import pytest
import torch
from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms import ALGORITHMS
from katib_suggestions.experiment import experiment_message
from katib_suggestions.nas_config import parse_nas_config
from katib_suggestions.testing import MINIMAL_ENAS, with_algorithm
from supernas import FixedMutator, copy_weights, decisions, freeze
from supernas.architecture import Architecture
from supernas.errors import SpaceError
from supernas.ops.katib_macro import KATIB_OPS, build_katib_op
from supernas.spaces import create_space, space_of

SKIP_OP = {"operationType": "separable_convolution", "parameters": [
    {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}},
    {"name": "num_filter", "parameterType": "categorical", "feasibleSpace": {"list": ["8"]}},
    {"name": "stride", "parameterType": "categorical", "feasibleSpace": {"list": ["1", "2"]}},
    {"name": "depth_multiplier", "parameterType": "categorical", "feasibleSpace": {"list": ["2"]}}]}


def crd() -> dict:
    out = with_algorithm(MINIMAL_ENAS, "supernas-random", {"seed": "1"})
    out["spec"]["nasConfig"]["operations"] += [SKIP_OP, {"operationType": "skip_connection"}]
    return out


def test_space_decisions_match_the_suggestion_space() -> None:
    space = parse_nas_config(experiment_message(crd()).spec.nas_config)
    net = create_space("katib-macro", **space.space_args())
    assert decisions(net) == space.decisions()


def test_suggested_architectures_build_and_match_the_supernet(tmp_path) -> None:
    from trial_templates.archsource import find_architecture

    exp = experiment_message(crd())
    algo = ALGORITHMS.create("supernas-random", experiment=exp, state_dir=tmp_path)
    x = torch.randn(2, 3, 32, 32)  # [B, C, H, W] as inputSizes [32, 32, 3]
    for s in algo.get_suggestions(pb.GetSuggestionsRequest(experiment=exp, current_request_number=4)):
        arch = find_architecture(None, s.assignments["architecture"], None, env={})
        supernet = space_of(arch).eval()
        child = freeze(supernet, arch).eval()
        copy_weights(supernet, child)
        FixedMutator(arch).bind(supernet)
        assert torch.allclose(supernet(x), child(x), atol=1e-5)
        assert child(x).shape == (2, 10)
        assert isinstance(Architecture.from_dict(arch.to_dict()), Architecture)


@pytest.mark.parametrize("kind", KATIB_OPS.names())
def test_every_katib_operation_keeps_the_width(kind: str) -> None:
    op = build_katib_op(f"{kind}:filter_size=3,num_filter=4,stride=1,depth_multiplier=2", 8)
    y = op(torch.randn(2, 8, 8, 8))  # [B, C, H, W]
    assert y.shape == ((2, 8, 4, 4) if kind == "reduction" else (2, 8, 8, 8))


def test_unknown_katib_operation_names_the_allowed_types() -> None:
    with pytest.raises(SpaceError, match="'warp_drive' is not buildable; allowed: .*separable_convolution"):
        build_katib_op("warp_drive:stride=1", 8)
