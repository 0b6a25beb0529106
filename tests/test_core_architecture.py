"""Architectures: JSON form, validation reporting every problem with key, value and allowed."""
from __future__ import annotations

from pathlib import Path

import pytest

from supernas import Architecture, ArchitectureError, build_child, create_space, decisions, space_of, validate
from supernas.errors import RegistryError

DARTS_ARGS = {"cells": 3, "channels": 2, "nodes": 2}


@pytest.fixture(scope="module")
def darts_decisions() -> list:
    return decisions(create_space("darts", **DARTS_ARGS))


def _valid(ds: list) -> dict:
    return {d.key: (d.choices[-1] if d.kind == "layer" else list(range(d.n_chosen))) for d in ds}


@pytest.mark.parametrize(("text", "fragment"), [
    ("{not json", "architecture JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"space": "nb201"}', "choices: missing"),
    ('{"format": "other/2", "choices": {}}', "format: 'other/2' is not supported"),
    ('{"choices": [1]}', "choices: [1] is not an object"),
    ('{"choices": {}, "space_args": 5}', "space_args: 5 is not allowed"),
    ('{"choices": {}, "space": 3}', "space: 3 is not allowed"),
])
def test_bad_architecture_json(text: str, fragment: str) -> None:
    with pytest.raises(ArchitectureError) as err:
        Architecture.from_json(text)
    assert fragment in str(err.value)


def test_every_problem_is_reported_at_once(darts_decisions: list) -> None:
    choices = _valid(darts_decisions)
    del choices["normal/n3"]
    choices["normal/n2_p0"] = "conv_9x9"
    choices["reduce/n3"] = [2]
    choices["bogus"] = "x"
    with pytest.raises(ArchitectureError) as err:
        validate(choices, darts_decisions)
    problems = err.value.problems
    assert len(problems) == 4
    text = str(err.value)
    assert "bogus: unknown key (value 'x'); allowed keys: normal/n2" in text
    assert "normal/n3: missing; allowed: a list of exactly 2 distinct indices in 0..2" in text
    assert "normal/n2_p0: 'conv_9x9' is not allowed; allowed: one of 'none'" in text
    assert "reduce/n3: 1 inputs chosen ([2]); allowed: a list of exactly 2" in text


def test_non_integer_inputs_from_json_are_reported(darts_decisions: list) -> None:
    choices = _valid(darts_decisions)
    choices["normal/n3"] = ["a", 1]
    arch = Architecture.from_json(Architecture(choices).to_json())
    with pytest.raises(ArchitectureError, match=r"normal/n3: \['a', 1\] is not allowed"):
        validate(arch.choices, darts_decisions)


def test_input_choices_are_normalised_to_sorted_lists(darts_decisions: list) -> None:
    choices = _valid(darts_decisions)
    choices["normal/n3"] = (2, 0)
    assert validate(choices, darts_decisions)["normal/n3"] == [0, 2]
    text = Architecture(validate(choices, darts_decisions), "darts", DARTS_ARGS).to_json()
    assert '"normal/n3": [\n      0,\n      2\n    ]' in text  # readable, indented JSON


def test_file_round_trip_and_build(tmp_path: Path, darts_decisions: list) -> None:
    arch = Architecture(validate(_valid(darts_decisions), darts_decisions), "darts", DARTS_ARGS)
    arch.save(tmp_path / "arch.json")
    loaded = Architecture.load(tmp_path / "arch.json")
    assert loaded == arch
    assert decisions(space_of(loaded)) == darts_decisions
    assert build_child(loaded).supernas_architecture == arch.choices


def test_load_and_build_errors(tmp_path: Path) -> None:
    with pytest.raises(ArchitectureError, match="does not exist"):
        Architecture.load(tmp_path / "missing.json")
    with pytest.raises(ArchitectureError, match="space: missing"):
        build_child(Architecture({"e0": "none"}))
    with pytest.raises(RegistryError, match="unknown space 'nope'"):
        build_child(Architecture({"e0": "none"}, space="nope"))
