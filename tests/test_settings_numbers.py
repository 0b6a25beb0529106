"""``3e-4``, ``5e-05``, ``1E3`` are numbers on every path a setting takes: ``--set``,
``--space-arg`` and ``--stage-set``, the Katib trial's arguments (written by the suggestion
service), NNI ``classArgs`` (nnictl reads the YAML with PyYAML, i.e. YAML 1.1, which leaves them
strings) and ``supernas nni check`` on a config file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from supernas.yamlnum import load, numbers

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text, value", [
    ("3e-4", 3e-4), ("5e-05", 5e-5), ("1E3", 1000.0), ("-2E-2", -0.02), (".5e-3", 5e-4), ("1.5e3", 1500.0),
    ("[0.5,3e-4]", [0.5, 3e-4]), ("{a: 1e-3}", {"a": 1e-3}),
    ("'3e-4'", "3e-4"), ("10", 10), ("0.1", 0.1), ("e5", "e5"), ("1e3x", "1e3x"), ("relu", "relu"),
])
def test_yaml_scientific_floats_are_numbers(text: str, value: Any) -> None:
    assert yaml.safe_load("3e-4") == "3e-4"  # what YAML 1.1 does
    assert load(text) == value and type(load(text)) is type(value)


def test_numbers_converts_loaded_strings_only_when_scientific() -> None:
    assert numbers({"a": "3e-4", "b": ["1E3", "x"], "c": ("5e-05",), "seed": "1"}) == \
        {"a": 3e-4, "b": [1000.0, "x"], "c": (5e-5,), "seed": "1"}


def _captured(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> list:
    import importlib

    seen: list = []
    monkeypatch.setattr(importlib.import_module(module), name, lambda cfg, *_: seen.append(cfg) or {})
    return seen


def test_cli_set_space_arg_and_stage_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from trial_templates.cli import main

    searches = _captured(monkeypatch, "trial_templates.runner", "run_search")
    trains = _captured(monkeypatch, "trial_templates.train_runner", "run_train")
    assert main(["search", "--set", "arch_lr=3e-4", "--set", "arch_betas=[0.5,1E-3]", "--space-arg",
                 "x=5e-05", "--output", str(tmp_path)]) == 0
    assert searches[0].settings == {"arch_lr": 3e-4, "arch_betas": [0.5, 1e-3]}
    assert searches[0].space_args == {"x": 5e-5}
    assert main(["train", "--architecture-json", "hidden=h10,activation=relu", "--space", "mlp",
                 "--bats-stages", "--stage-set", "stage1_lr=3e-4", "--stage-set", "stage2_lr=2E-4",
                 "--output", str(tmp_path)]) == 0
    assert trains[0].stage_settings == {"stage1_lr": 3e-4, "stage2_lr": 2e-4}


def test_katib_darts_trial_gets_small_learning_rates_as_numbers(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """The suggestion service writes ``5e-05`` (Python's spelling) into the trial's arguments."""
    from kubeflow.katib import katib_api_pb2 as pb

    from katib_suggestions.algorithms import ALGORITHMS
    from katib_suggestions.experiment import experiment_message, trial_references
    from katib_suggestions.trial_entry import main

    crd = yaml.safe_load((REPO / "manifests/experiments/supernas-darts-cpu.yaml").read_text())
    crd["spec"]["algorithm"]["algorithmSettings"] += [{"name": "arch_lr", "value": "5e-05"},
                                                      {"name": "weight_decay", "value": 3e-4}]
    algo = ALGORITHMS.create("supernas-darts", experiment=experiment_message(crd), state_dir=tmp_path)
    (suggestion,) = algo.get_suggestions(pb.GetSuggestionsRequest(current_request_number=1,
                                                                  total_request_number=1))
    names = {p["reference"]: p["name"] for p in crd["spec"]["trialTemplate"]["trialParameters"]}
    assert sorted(names) == sorted(trial_references(crd))
    command = crd["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"]
    argv = command[3:]  # python -m katib_suggestions.trial_entry
    for ref, value in suggestion.assignments.items():
        argv = [a.replace(f"${{trialParameters.{names[ref]}}}", value) for a in argv]
    assert any("arch_lr=5e-05" in a for a in argv)
    searches = _captured(monkeypatch, "trial_templates.runner", "run_search")
    assert main([*argv, f"--output={tmp_path / 'out'}"]) == 0
    assert searches[0].settings["arch_lr"] == 5e-5 and searches[0].settings["weight_decay"] == 3e-4


def test_nni_class_args_from_yaml_are_numbers(tmp_path: Path) -> None:
    from nni_plugins import SupernasEnas, SupernasOneShot
    from nni_plugins.cli import check_config

    config = tmp_path / "config.yml"
    config.write_text("searchSpace: {}\ntrialCommand: 'true'\ntrialConcurrency: 1\n"
                      "trainingService: {platform: local}\n"
                      "tuner: {name: SupernasEnas, classArgs: {space: mlp, lr: 3e-4, entropy_weight: 1E-4}}\n")
    class_args = yaml.safe_load(config.read_text())["tuner"]["classArgs"]  # as nnictl reads them
    assert class_args["lr"] == "3e-4"
    assert check_config(config) is None
    assert SupernasEnas(**class_args).state.settings == {"lr": 3e-4, "entropy_weight": 1e-4}
    oneshot = SupernasOneShot(algorithm="darts", space="mlp", settings={"arch_lr": "3e-4"},
                              grid={"temperature": ["1E-1", 0.5]})
    params = oneshot.generate_parameters(0)
    assert params["settings"] == {"arch_lr": 3e-4, "temperature": 0.1}
