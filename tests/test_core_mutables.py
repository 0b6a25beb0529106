"""Mutables and the flattened space: keys, decisions, options, errors."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from supernas.errors import SpaceError
from supernas.mutables import InputChoice, LayerChoice, reduce_inputs
from supernas.space import Decision, decisions, space_size


def _layer(key: str, shared: bool = False, names: tuple[str, ...] = ("a", "b")) -> LayerChoice:
    return LayerChoice({n: nn.Identity() for n in names}, key=key, shared=shared)


def test_duplicate_keys_are_refused_naming_both_places() -> None:
    model = nn.Module()
    model.first = _layer("op")
    model.block = nn.Sequential(nn.ReLU(), _layer("op"))
    with pytest.raises(SpaceError) as err:
        decisions(model)
    msg = str(err.value)
    assert "'op'" in msg and "'first'" in msg and "'block.1'" in msg and "shared=True" in msg


def test_shared_keys_must_offer_the_same_choices() -> None:
    model = nn.Sequential(_layer("op", True), _layer("op", True, ("a", "c")))
    with pytest.raises(SpaceError) as err:
        decisions(model)
    assert "'0'" in str(err.value) and "'1'" in str(err.value) and "'c'" in str(err.value)


def test_shared_keys_make_one_decision() -> None:
    model = nn.Sequential(_layer("op", True), _layer("op", True), _layer("other"))
    assert [d.key for d in decisions(model)] == ["op", "other"]
    assert space_size(model) == 4


def test_decisions_follow_registration_order() -> None:
    model = nn.Sequential(_layer("z"), InputChoice(3, 2, "m"), _layer("a"))
    ds = decisions(model)
    assert [d.key for d in ds] == ["z", "m", "a"]
    assert ds[1] == Decision("m", "input", n_candidates=3, n_chosen=2)


@pytest.mark.parametrize(("n", "k", "empty"), [(1, 1, False), (4, 2, False), (4, None, False),
                                               (4, None, True), (5, 5, False)])
def test_input_options_match_size(n: int, k: int | None, empty: bool) -> None:
    d = Decision("x", "input", n_candidates=n, n_chosen=k, allow_empty=empty)
    options = list(d.options())
    assert len(options) == len({tuple(o) for o in options}) == d.size()
    assert all(d.problem(o) is None for o in options)
    expected = math.comb(n, k) if k else 2**n - (0 if empty else 1)
    assert d.size() == expected


def test_decision_problems_name_value_and_allowed() -> None:
    layer = Decision("op", "layer", choices=("a", "b"))
    assert layer.problem("c") == "op: 'c' is not allowed; allowed: one of 'a', 'b'"
    two = Decision("in", "input", n_candidates=3, n_chosen=2)
    assert "1 inputs chosen ([0])" in two.problem([0]) and "exactly 2" in two.problem([0])
    assert "not allowed" in two.problem([0, 3]) and "0..2" in two.problem([0, 3])
    assert two.problem([1, 1]) is not None and two.problem([True, 0]) is not None
    anyk = Decision("in", "input", n_candidates=3, n_chosen=None)
    assert "at least one" in anyk.problem([])


def test_mutable_construction_errors() -> None:
    with pytest.raises(SpaceError, match="key=''"):
        _layer("")
    with pytest.raises(SpaceError, match="no candidates"):
        LayerChoice({}, key="op")
    with pytest.raises(SpaceError, match="n_chosen=4; allowed: 1..3"):
        InputChoice(3, 4, "in")
    with pytest.raises(SpaceError, match="n_candidates=0"):
        InputChoice(0, None, "in")
    with pytest.raises(SpaceError, match="reduction='max'; allowed"):
        InputChoice(2, 1, "in", reduction="max")


def test_sequence_candidates_are_named_by_index() -> None:
    choice = LayerChoice([nn.ReLU(), nn.Tanh()], key="act")
    assert choice.names == ["0", "1"]


def test_unbound_mutable_explains_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="'op' has no mutator bound"):
        _layer("op")(torch.ones(1))


def test_input_choice_checks_the_number_of_inputs() -> None:
    with pytest.raises(ValueError, match="expects 3 inputs, got 2"):
        InputChoice(3, 1, "in")([torch.ones(1), torch.ones(1)])


def test_reductions() -> None:
    a, b = torch.ones(1, 2, 3, 3), 3 * torch.ones(1, 1, 3, 3)
    assert torch.equal(reduce_inputs([a, a], "sum"), 2 * a)
    assert torch.equal(reduce_inputs([a, 3 * a], "mean"), 2 * a)
    assert reduce_inputs([a, b], "concat").shape == (1, 3, 3, 3)
    assert reduce_inputs([], "sum") is None
