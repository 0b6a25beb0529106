"""NNI search-space JSON <-> supernas decisions, both ways, and trial parameters."""
from __future__ import annotations

import itertools
import random

import pytest

from nni_plugins.search_space import from_nni, from_params, to_nni, to_params
from supernas.architecture import validate
from supernas.errors import ConfigError
from supernas.mutator import sample_uniform
from supernas.space import Decision, decisions
from supernas.spaces import SPACES, create_space

NESTED = {
    "lr": {"_type": "choice", "_value": [0.1, 0.01]},
    "layer": {"_type": "choice", "_value": [
        {"_name": "conv", "kernel": {"_type": "choice", "_value": [3, 5]}},
        {"_name": "pool"},
    ]},
    "op": {"_type": "layer_choice", "_value": ["sep_conv_3x3", "skip_connect"]},
    "skip": {"_type": "input_choice", "_value": {"candidates": ["x0", "x1", "x2"], "n_chosen": 2}},
}


def test_nested_space_flattens_to_keyed_decisions() -> None:
    space = from_nni(NESTED)
    by_key = {d.key: d for d in space.decisions}
    assert list(by_key) == ["lr", "layer", "layer/conv/kernel", "op", "skip"]
    assert by_key["lr"].choices == ("0.1", "0.01")
    assert by_key["layer"].choices == ("conv", "pool")
    assert by_key["layer/conv/kernel"].choices == ("3", "5")
    assert by_key["skip"] == Decision("skip", "input", n_candidates=3, n_chosen=2)


def test_params_are_nni_nested_form_and_round_trip_for_every_architecture() -> None:
    space = from_nni(NESTED)
    options = [list(d.options()) for d in space.decisions]
    seen = set()
    for combo in itertools.product(*options):
        choices = {d.key: v for d, v in zip(space.decisions, combo)}
        params = to_params(space, choices)
        assert isinstance(params["lr"], float) and params["op"] in ("sep_conv_3x3", "skip_connect")
        assert set(params["skip"]) <= {"x0", "x1", "x2"} and len(params["skip"]) == 2
        if params["layer"]["_name"] == "pool":
            assert params["layer"] == {"_name": "pool"}  # inactive sub-decision left out
        else:
            assert params["layer"]["kernel"] in (3, 5)
        assert to_params(space, from_params(space, params)) == params
        seen.add(repr(params))
    assert len(seen) == 2 * 3 * 2 * 3  # lr x (conv3, conv5, pool) x op x C(3, 2)


@pytest.mark.parametrize("entry, needle", [
    ({"_type": "uniform", "_value": [0, 1]}, "_type='uniform' is not supported"),
    ({"_type": "choice", "_value": []}, "a non-empty list"),
    ({"_type": "input_choice", "_value": {"candidates": ["a"], "n_chosen": 2}}, "n_chosen=2"),
    ({"_value": [1]}, "_type"),
])
def test_unsupported_entries_are_refused_with_key_and_allowed(entry: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match="searchSpace.bad") as info:
        from_nni({"ok": {"_type": "choice", "_value": [1]}, "bad": entry})
    assert needle in str(info.value)


def test_bad_trial_parameters_are_refused() -> None:
    space = from_nni(NESTED)
    good = to_params(space, sample_uniform(space.decisions, random.Random(0)))
    with pytest.raises(ConfigError, match="parameters.op"):
        from_params(space, {**good, "op": "conv_7x7"})
    with pytest.raises(ConfigError, match="parameters.skip"):
        from_params(space, {**good, "skip": ["x9"]})
    with pytest.raises(ConfigError, match="parameters.lr: missing"):
        from_params(space, {k: v for k, v in good.items() if k != "lr"})


def test_colliding_option_names_fall_back_to_indices() -> None:
    space = from_nni({"v": {"_type": "choice", "_value": ["3", 3, "a/b"]}})
    assert space.decisions[0].choices == ("0", "1", "2")
    assert to_params(space, {"v": "1"}) == {"v": 3}
    assert from_params(space, {"v": "3"}) == {"v": "0"}


@pytest.mark.parametrize("name", ["mlp", "nb201"])
def test_registered_space_exports_losslessly(name: str) -> None:
    if name not in SPACES:
        pytest.skip(f"space {name!r} not registered")
    space_decisions = decisions(create_space(name))
    exported = to_nni(space_decisions, "nas")
    assert from_nni(exported).decisions == space_decisions


def test_input_decisions_export_and_come_back() -> None:
    ds = [Decision("a", "layer", choices=("x", "y")),
          Decision("i", "input", n_candidates=4, n_chosen=None, allow_empty=True),
          Decision("j", "input", n_candidates=3, n_chosen=1)]
    assert from_nni(to_nni(ds, "nas")).decisions == ds


def test_choice_style_export_is_searchable_by_nni_builtin_tuners() -> None:
    """NNI's own RandomTuner searches the ``choice`` export; its parameters are valid choices."""
    from nni.algorithms.hpo.random_tuner import RandomTuner

    ds = [Decision("op", "layer", choices=("conv", "pool", "skip")),
          Decision("in", "input", n_candidates=3, n_chosen=2)]
    tuner = RandomTuner(seed=0)
    tuner.update_search_space(to_nni(ds, "choice"))
    seen = set()
    for i in range(9):  # NNI's random tuner deduplicates: 9 draws cover the 3 x 3 space
        params = validate(tuner.generate_parameters(i), ds)  # raises if outside the space
        seen.add(repr(params))
    assert len(seen) == 9


def test_export_style_is_checked() -> None:
    with pytest.raises(ConfigError, match="style='hpo'"):
        to_nni([Decision("a", "layer", choices=("x",))], "hpo")
