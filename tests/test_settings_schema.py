"""One settings schema: the same setting is accepted or refused, with the same message, by the
CLI's ``--set``, NNI's ``classArgs`` and Katib's ``ValidateAlgorithmSettings`` (real gRPC)."""
from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from katib_suggestions.testing import MINIMAL_ENAS, KatibSim, with_algorithm
from supernas.errors import ConfigError, SupernasError
from supernas.oneshot.darts import DartsSettings
from supernas.settings import parse_value

BATS_SPACE = {"channels": 4, "layers": 3, "nodes": 2, "num_classes": 3}
ONESHOT_SPACE = {"darts": ("mlp", {}), "bats": ("bats", BATS_SPACE)}
KATIB_ONESHOT = {"darts": "supernas-darts", "bats": "supernas-bats"}
NNI_STRATEGY = {"enas": "SupernasEnas", "evolution": "SupernasEvolution", "random": "SupernasRandom",
                "bo": "SupernasBo", "pnas": "SupernasPnas"}
ALL, NO_KATIB = ("cli", "nni", "katib"), ("cli", "nni")

# (algorithm, setting, value as written, accepted, adapters); one-shot algorithms go through all
# three adapters, strategies through NNI and Katib (the CLI runs one-shot searches only).
ONESHOT_ROWS = [
    ("darts", "temperature", "-1", False, ALL),
    ("darts", "temperature", "0.5", True, ALL),
    ("darts", "temperature", "nan", False, ALL),
    ("darts", "order", "3", False, ALL),
    ("darts", "order", "second", True, ALL),
    ("darts", "order", "2", True, ALL),
    ("darts", "order", "first", True, ALL),
    ("darts", "order", "true", False, ALL),
    ("darts", "order", "[1,2]", False, NO_KATIB),  # Katib cannot carry brackets at all
    ("darts", "weight_lr", "0", False, ALL),
    ("darts", "weight_lr", "fast", False, ALL),
    ("darts", "temperature_schedule", "bogus", False, ALL),
    ("darts", "temperature_schedule", "linear", True, ALL),
    ("darts", "arch_lr", "3e-4", True, ALL),
    ("darts", "arch_lr", "true", False, ALL),
    ("darts", "unrolled_lr", "None", True, ALL),
    ("darts", "warmup_epochs", "1.5", False, ALL),
    ("darts", "mixing", "dirichlet", True, ALL),
    ("darts", "seed", "4294967296", False, ALL),  # the trial's --seed takes 0 .. 2**32 - 1
    ("darts", "seed", "7", True, ALL),
    ("bats", "temperature", "-1", False, ALL),
    ("bats", "order", "second", True, ALL),
    ("bats", "order", "3", False, ALL),
    ("bats", "weight_lr", "0", False, ALL),
    ("bats", "temperature_schedule", "bogus", False, ALL),
    ("bats", "distill_weight", "1.5", False, ALL),
    ("bats", "distill_weight", "0.25", True, ALL),
]
STRATEGY_ROWS = [
    ("enas", "hidden_size", "20000", False),
    ("enas", "hidden_size", "32", True),
    ("enas", "failure_reward", "nan", False),
    ("enas", "failure_reward", "inf", False),
    ("enas", "failure_reward", "-1", True),
    ("enas", "failure_reward", "worst", True),
    ("enas", "failure_reward", "None", True),
    ("enas", "lr", "fast", False),
    ("enas", "lr", "3e-4", True),
    ("enas", "dedupe", "maybe", False),
    ("enas", "exploit_after", "true", False),
    ("evolution", "population_size", "0", False),
    ("evolution", "seed", "-1", False),
    ("evolution", "sample_size", "30", False),
    ("random", "dedupe", "false", True),
    ("bo", "acquisition", "ucb", False),
    ("bo", "acquisition", "ei", True),
    ("bo", "encoding", "path", False),  # the mlp space is not a cell
    ("bo", "ensemble_size", "0", False),
    ("bo", "surrogate_lr", "3e-3", True),
    ("pnas", "beam_size", "0", False),
    ("pnas", "completions", "8", True),
    ("pnas", "initial", "-1", False),
]


def darts_experiment(algorithm: str, settings: dict[str, str], num_layers: int = 3) -> dict:
    """A minimal DARTS-style Katib Experiment (ops with ``filter_size`` only, as DARTS wants)."""
    crd = with_algorithm(MINIMAL_ENAS, algorithm, settings)
    size = {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}}
    crd["spec"]["nasConfig"] = {
        "graphConfig": {"numLayers": num_layers, "inputSizes": [32, 32, 3], "outputSizes": [10]},
        "operations": [{"operationType": "separable_convolution", "parameters": [copy.deepcopy(size)]},
                       {"operationType": "max_pooling", "parameters": [copy.deepcopy(size)]},
                       {"operationType": "skip_connection"}]}
    return crd


def katib_outcome(channel: grpc.Channel, crd: dict) -> str | None:
    """None when ``ValidateAlgorithmSettings`` accepts, else its INVALID_ARGUMENT message."""
    try:
        KatibSim(channel, crd).validate()
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
        return exc.details()
    return None


def cli_outcome(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path,
                algorithm: str, setting: str) -> str | None:
    """None when ``supernas search --set`` accepts (the search itself is not run)."""
    from trial_templates import runner
    from trial_templates.cli import main

    monkeypatch.setattr(runner, "run_search", lambda cfg: {})
    capsys.readouterr()
    code = main(["search", "--algorithm", algorithm, "--set", setting, "--output", str(tmp_path)])
    err = capsys.readouterr().err
    if code == 0:
        return None
    assert code == 2 and err.startswith("supernas: error: "), err
    return err[len("supernas: error: "):].strip()


def nni_outcome(build: Any) -> str | None:
    """None when the tuner accepts its classArgs (as nnictl's YAML 1.1 reader gives them)."""
    try:
        build()
    except SupernasError as exc:
        return str(exc)
    return None


def nni_value(text: str) -> Any:
    return yaml.safe_load(text)  # what nnictl hands the tuner


@pytest.mark.parametrize("algorithm,name,value,accepted,adapters", ONESHOT_ROWS,
                         ids=[f"{r[0]}-{r[1]}={r[2]}" for r in ONESHOT_ROWS])
def test_oneshot_settings_agree_across_adapters(
        channel: grpc.Channel, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        tmp_path: Path, algorithm: str, name: str, value: str, accepted: bool,
        adapters: tuple[str, ...]) -> None:
    from nni_plugins.oneshot_tuner import SupernasOneShot

    space, space_args = ONESHOT_SPACE[algorithm]
    outcomes = {"cli": cli_outcome(monkeypatch, capsys, tmp_path, algorithm, f"{name}={value}"),
                "nni": nni_outcome(lambda: SupernasOneShot(
                    algorithm=algorithm, space=space, space_args=space_args,
                    settings={name: nni_value(value)}))}
    if "katib" in adapters:
        crd = darts_experiment(KATIB_ONESHOT[algorithm], {name: value})
        outcomes["katib"] = katib_outcome(channel, crd)
    messages = set(outcomes.values())
    assert len(messages) == 1, outcomes  # identical acceptance and identical messages
    message = messages.pop()
    if accepted:
        assert message is None
    else:
        assert message is not None and message.startswith(f"{name}=") and "allowed: " in message


@pytest.mark.parametrize("strategy,name,value,accepted", STRATEGY_ROWS,
                         ids=[f"{r[0]}-{r[1]}={r[2]}" for r in STRATEGY_ROWS])
def test_strategy_settings_agree_across_adapters(channel: grpc.Channel, strategy: str, name: str,
                                                 value: str, accepted: bool) -> None:
    import nni_plugins.tuner as tuners

    cls = getattr(tuners, NNI_STRATEGY[strategy])
    nni = nni_outcome(lambda: cls(space="mlp", **{name: nni_value(value)}))
    katib = katib_outcome(channel, with_algorithm(MINIMAL_ENAS, f"supernas-{strategy}", {name: value}))
    assert nni == katib
    assert (nni is None) == accepted, nni


@pytest.mark.parametrize("text,value", [("3e-4", 3e-4), ("5e-05", 5e-5), ("1E3", 1000.0), ("2", 2.0)])
def test_scientific_numbers_parse_as_floats(text: str, value: float) -> None:
    parsed = DartsSettings.parse({"arch_lr": text}).arch_lr
    assert parsed == value and type(parsed) is float


@pytest.mark.parametrize("value,hint,expected", [
    ("true", bool, True), ("None", float | None, None), ("null", int | None, None),
    ("[0.5, 0.9]", tuple[float, float], [0.5, 0.9]), ("second", int | str, "second"),
    ("2", int | str, 2), ("bogus", float, "bogus"),
])
def test_parse_value_reads_text_by_the_field_type(value: str, hint: Any, expected: Any) -> None:
    assert parse_value(value, hint) == expected


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(value: bool) -> None:
    for name in ("temperature", "weight_lr", "order", "seed"):
        with pytest.raises(ConfigError, match=f"{name}={value!r} is invalid"):
            DartsSettings(**{name: value})


def test_bats_settings_extend_darts_settings() -> None:
    from supernas.oneshot.bats import BatsSettings

    darts, bats = set(DartsSettings.names()), set(BatsSettings.names())
    assert darts < bats and bats - darts == {"distill_weight", "distill_temperature"}


@pytest.mark.parametrize("algorithm", ["darts", "supernas-darts", "supernas-bats"])
def test_huge_num_layers_is_refused_at_creation(channel: grpc.Channel, algorithm: str) -> None:
    crd = darts_experiment(algorithm, {}, num_layers=1_000_000)
    if algorithm == "darts":  # Katib's own DARTS example ops: filter sizes only, same graph
        crd["spec"]["algorithm"]["algorithmSettings"] = []
    message = katib_outcome(channel, crd)
    low = 3 if algorithm == "supernas-bats" else 1  # the bats space needs at least 3 cells
    assert message is not None and "numLayers=1000000 is invalid" in message and f"{low}..32" in message


def test_katib_enas_controller_hidden_size_is_bounded(channel: grpc.Channel) -> None:
    message = katib_outcome(channel, with_algorithm(MINIMAL_ENAS, "enas",
                                                    {"controller_hidden_size": "20000"}))
    assert message == "controller_hidden_size=20000 is invalid; allowed: an integer in 1..512"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_failure_reward_must_be_finite(value: str) -> None:
    from supernas.strategies.enas import EnasSettings

    with pytest.raises(ConfigError, match="failure_reward="):
        EnasSettings.parse({"failure_reward": value})
    assert not math.isfinite(float(value))


def test_experiment_file_check_gives_the_trial_message(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    from katib_suggestions.experiment import main

    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(darts_experiment("supernas-darts", {"temperature": "-1"})))
    assert main([str(path)]) == 1
    assert "temperature=-1.0 is invalid; allowed: a finite number > 0" in capsys.readouterr().err


def test_nni_check_reports_a_bad_setting_without_a_traceback(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    from nni_plugins.cli import check_config

    config = tmp_path / "config.yml"
    config.write_text("tuner:\n  name: SupernasEnas\n  classArgs: {space: mlp, lr: fast}\n")
    problem = check_config(config)
    assert problem is not None and "lr='fast' is invalid; allowed: a finite number > 0" in problem
    assert "Traceback" not in capsys.readouterr().err


def test_nni_class_args_validator_uses_the_schema() -> None:
    from nni.utils import ClassArgsValidator

    from nni_plugins.validators import EnasValidator, OneShotValidator

    assert isinstance(EnasValidator(), ClassArgsValidator)
    with pytest.raises(ConfigError, match="hidden_size=20000 is invalid"):
        EnasValidator().validate_class_args(space="mlp", hidden_size=20000)
    OneShotValidator().validate_class_args(algorithm="darts", space="mlp", settings={"order": "second"})


def _registered() -> list[Any]:
    from supernas.oneshot import ALGORITHMS
    from supernas.strategies import STRATEGIES

    return [pytest.param(registry, name, id=f"{kind}-{name}")
            for kind, registry in (("oneshot", ALGORITHMS), ("strategy", STRATEGIES))
            for name in registry.names()]


@pytest.mark.parametrize("registry,name", _registered())
def test_every_registered_algorithm_has_a_settings_dataclass(registry: Any, name: str) -> None:
    """Every one-shot algorithm and strategy (registry-wide, so later ones are covered too): one
    frozen ``Settings`` dataclass whose defaults validate and whose fields are the keyword
    arguments of the registered factory (what the CLI, NNI and Katib parse against)."""
    import dataclasses

    from supernas.settings import Settings

    schema = registry.get(name).settings_class
    assert issubclass(schema, Settings) and dataclasses.is_dataclass(schema)
    assert schema.__dataclass_params__.frozen
    defaults = schema()  # every field has a default and the defaults pass validate()
    assert set(defaults.as_dict()) == set(schema.names())
    assert set(schema.names()) <= set(registry.parameters(name))
