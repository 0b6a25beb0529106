"""Parameter and MAC counts (``supernas.cost``) against hand counts and formulas."""
from __future__ import annotations

import pytest
from torch import nn

from supernas import Architecture, FixedMutator, UniformMutator, build_child, create_space, freeze
from supernas.cost import architecture_cost, count_macs, count_parameters
from supernas.errors import ConfigError


def _conv_bn(c_in: int, c_out: int, k: int) -> int:  # conv without bias + affine BN
    return c_in * c_out * k * k + 2 * c_out


def test_frozen_nb201_params_equal_hand_count() -> None:
    C, classes = 2, 3
    ops = ["nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none", "avg_pool_3x3", "nor_conv_3x3"]
    arch = Architecture({f"e{k}": op for k, op in enumerate(ops)}, space="nb201",
                        space_args={"C": C, "N": 1, "num_classes": classes, "in_channels": 1})
    stem = 1 * C * 9 + 2 * C
    cells = sum(2 * _conv_bn(w, w, 3) + _conv_bn(w, w, 1) for w in (C, 2 * C, 4 * C))
    reductions = sum(_conv_bn(w, 2 * w, 3) + _conv_bn(2 * w, 2 * w, 3) + w * 2 * w
                     for w in (C, 2 * C))  # conv_a, conv_b, 1x1 shortcut (no BN)
    head = 2 * 4 * C + 4 * C * classes + classes  # BN, linear with bias
    child = build_child(arch)
    assert count_parameters(child) == stem + cells + reductions + head
    assert architecture_cost(arch, (1, 8, 8))["params"] == stem + cells + reductions + head


@pytest.mark.parametrize(("c_in", "c_out", "k", "stride", "groups", "size"),
                         [(3, 8, 3, 2, 1, 9), (8, 8, 3, 1, 4, 6), (4, 6, 1, 1, 1, 5)])
def test_macs_of_one_conv_equal_the_formula(c_in: int, c_out: int, k: int, stride: int,
                                            groups: int, size: int) -> None:
    conv = nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, groups=groups)
    out = (size + 2 * (k // 2) - k) // stride + 1
    assert count_macs(conv, (c_in, size, size)) == c_out * out * out * (c_in // groups) * k * k


def test_macs_of_linear_and_sequence() -> None:
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 5))
    assert count_macs(model, (2, 4, 4)) == 3 * 16 * 2 * 9 + 48 * 5
    model.train()
    count_macs(model, [2, 4, 4])
    assert model.training  # mode restored


def test_macs_count_only_what_runs() -> None:
    space = create_space("nb201", C=2, N=1)
    choices = UniformMutator(seed=5).bind(space).current
    FixedMutator(choices).bind(space)
    child = freeze(space, choices)
    assert count_macs(space, (3, 8, 8)) == count_macs(child, (3, 8, 8))
    convs = {f"e{k}": "nor_conv_3x3" for k in range(6)}
    skips = {f"e{k}": "skip_connect" for k in range(6)}
    assert count_macs(freeze(space, convs), (3, 8, 8)) > count_macs(freeze(space, skips), (3, 8, 8))


def test_frozen_darts_child_is_smaller_than_the_supernet() -> None:
    space = create_space("darts", cells=3, channels=4, nodes=2)
    choices = UniformMutator(seed=2).bind(space).current
    cost = architecture_cost(choices, (3, 8, 8), space=space)
    assert 0 < cost["params"] < count_parameters(space)
    assert cost["macs"] > 0


def test_cost_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"input_size=\[\] is invalid; allowed: the shape"):
        count_macs(nn.Linear(2, 2), [])
    with pytest.raises(ConfigError, match=r"input_size=\(3, 0\) is invalid"):
        count_macs(nn.Linear(2, 2), (3, 0))
    with pytest.raises(ConfigError, match=r"space=None is invalid; allowed: a space module"):
        architecture_cost({"hidden": "h10", "activation": "relu"}, (64,))


def test_count_parameters_counts_shared_once_and_trainable() -> None:
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert count_parameters(model) == 3 * 3 + 3
    lin.bias.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 3 * 3
    assert count_macs(model, (3,)) == 2 * 3 * 3  # a shared module that runs twice counts twice
