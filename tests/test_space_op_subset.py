"""The cell spaces search only the ops they are given (``ops``), and refuse lists they cannot
search with a message naming ``ops``, the list and what is allowed."""
from __future__ import annotations

import pytest
import torch

from supernas.architecture import Architecture
from supernas.errors import ConfigError
from supernas.space import decisions
from supernas.spaces import build_child, create_space

SMALL = {"darts": {"cells": 3, "channels": 4, "nodes": 2},
         "bats": {"layers": 3, "channels": 12, "nodes": 2}}
THREE = {"darts": ["sep_conv_3x3", "skip_connect", "max_pool_3x3"],
         "bats": ["bin_group_conv_3x3", "skip_connect", "avg_pool_3x3"]}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_edge_searches_exactly_the_given_ops(name: str) -> None:
    space = create_space(name, **SMALL[name], ops=THREE[name])
    layers = [d for d in decisions(space) if d.kind == "layer"]
    assert layers and all(d.choices == tuple(THREE[name]) for d in layers)
    assert space.space_args["ops"] == THREE[name]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_child_of_the_subset_space_rebuilds_from_its_architecture(name: str) -> None:
    space = create_space(name, **SMALL[name], in_channels=1, ops=THREE[name])
    choices = {d.key: (d.choices[-1] if d.kind == "layer" else [0, 1]) for d in decisions(space)}
    arch = Architecture(choices, name, dict(space.space_args))
    child = build_child(Architecture.from_json(arch.to_json()))
    assert child(torch.randn(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize("ops", [[], ["none"], ["skip_connect", "skip_connect"], ["bin_group_conv_3x3"]])
def test_darts_refuses_op_lists_it_cannot_search(ops: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        create_space("darts", **SMALL["darts"], ops=ops)
    assert info.value.field == "ops" and info.value.value == ops
    assert str(info.value).startswith(f"ops={ops!r} is invalid; allowed: ")
    assert "sep_conv_3x3" in str(info.value) and "besides 'none'" in str(info.value)


def test_the_default_is_every_darts_op() -> None:
    from supernas.ops.darts import DARTS_OPS

    space = create_space("darts", **SMALL["darts"])
    assert space.space_args["ops"] is None
    assert all(d.choices == tuple(DARTS_OPS) for d in decisions(space) if d.kind == "layer")
