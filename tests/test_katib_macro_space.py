"""The ``katib-macro`` space: decisions match the suggestion's, the supernet under a fixed
architecture equals the frozen child, and a suggested assignment builds through the supernas CLI's
architecture reader."""
from __future__ import annotations

import torch
from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions import macro_space  # noqa: F401  (registers katib-macro)
from katib_suggestions.algorithms import ALGORITHMS
from katib_suggestions.experiment import experiment_message
from katib_suggestions.nas_config import parse_nas_config
from katib_suggestions.testing import MINIMAL_ENAS, with_algorithm
from supernas import FixedMutator, copy_weights, decisions, freeze
from supernas.architecture import Architecture
from supernas.spaces import create_space

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
        supernet = arch.build_space().eval()
        child = freeze(supernet, arch).eval()
        copy_weights(supernet, child)
        FixedMutator(arch).bind(supernet)
        assert torch.allclose(supernet(x), child(x), atol=1e-5)
        assert child(x).shape == (2, 10)
        assert isinstance(Architecture.from_dict(arch.to_dict()), Architecture)
