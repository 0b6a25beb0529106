"""supernas NNI tuners driven in-process through NNI's callback order (no nnictl): error paths,
failure counting, locking, persistence/resume, class-argument validation, the CLI check."""
from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import nni
import numpy as np
import pytest

from nni_plugins import SupernasEnas, SupernasEvolution, SupernasOneShot, SupernasRandom
from nni_plugins.cli import check_config, main
from nni_plugins.state import LEGACY_FILE, load_state, save_state
from supernas.errors import SupernasError

REPO = Path(__file__).resolve().parents[1]
JSON_SPACE = json.loads((REPO / "examples" / "nni" / "search_space.json").read_text())


def reward_of(params: dict[str, Any]) -> float:
    """A deterministic fake accuracy: wider and relu is better."""
    choices = params.get("choices", params)
    return int(choices["hidden"][1:]) / 30 - 0.2 * (choices["activation"] == "sigmoid")


def drive(tuner: Any, start: int, n: int) -> list[dict[str, Any]]:
    """``n`` sequential trials as NNI runs them with concurrency 1; returns NNI-style records."""
    records = []
    for pid in range(start, start + n):
        params = tuner.generate_parameters(pid)
        value = {"default": reward_of(params), "params": 10}
        tuner.receive_trial_result(pid, params, value)
        tuner.trial_end(pid, True)
        records.append({"parameter": params, "value": value})
    return records


@pytest.mark.parametrize("cls", [SupernasEnas, SupernasEvolution, SupernasRandom])
def test_registered_space_trials_get_architecture_json(cls: type) -> None:
    tuner = cls(space="mlp", seed=0)
    params = tuner.generate_parameters(0)
    assert params["format"] == "supernas.architecture/1" and params["space"] == "mlp"
    assert set(params["choices"]) == {"hidden", "activation"}


def test_json_space_trials_get_flat_params() -> None:
    tuner = SupernasEnas(seed=0)
    tuner.update_search_space(JSON_SPACE)
    params = tuner.generate_parameters(0)
    assert set(params) == {"hidden", "activation"} and params["hidden"] in ("h10", "h20", "h30")


@pytest.mark.parametrize("value", [
    "oops", {"acc": 0.9}, float("nan"), None,
    # issue 12 item 13: non-finite and boolean metrics are failures in the stats and the strategy
    float("inf"), float("-inf"), "1e309", {"default": float("inf")}, True, {"default": False},
    np.bool_(True), np.float64("inf")])
def test_unusable_final_result_counts_as_failure_without_raising(value: Any) -> None:
    tuner = SupernasRandom(space="mlp")
    params = tuner.generate_parameters(1)
    tuner.receive_trial_result(1, params, value)
    tuner.trial_end(1, True)
    assert tuner.state.stats["failed"] == 1 and tuner.state.stats["succeeded"] == 0
    assert tuner.state.strategy.history[-1][1] is None and tuner.state.strategy.best() is None


def test_failed_trial_counts_once_and_never_raises() -> None:
    tuner = SupernasEnas(space="mlp")
    tuner.generate_parameters(0)
    p1 = tuner.generate_parameters(1)
    tuner.trial_end(0, False)  # crashed before reporting
    tuner.receive_trial_result(1, p1, 0.5)
    tuner.trial_end(1, False)  # reported, then failed: already observed, not counted again
    tuner.trial_end(99, False)  # unknown id: ignored
    assert tuner.state.stats == {**tuner.state.stats, "failed": 1, "succeeded": 1}
    assert [r for _, r in tuner.state.strategy.history] == [None, 0.5]


def test_garbage_from_nni_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    tuner = SupernasRandom(space="mlp")
    tuner.receive_trial_result(7, {"choices": {"hidden": "h99"}}, 0.3)  # unknown id, bad params
    tuner.import_data([{"parameter": "not json", "value": 1}])
    assert tuner.state.stats["errors"] == 2
    assert "not recorded" in caplog.text and "not replayed" in caplog.text


def test_rejected_search_space_ends_the_experiment_deliberately() -> None:
    tuner = SupernasRandom()
    tuner.update_search_space({"lr": {"_type": "uniform", "_value": [0, 1]}})  # must not raise
    with pytest.raises(nni.NoMoreTrialError, match="_type='uniform' is not supported"):
        tuner.generate_parameters(0)


def test_strategy_errors_degrade_then_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    tuner = SupernasEnas(space="mlp")

    def broken(n: int = 1) -> list:
        raise RuntimeError("controller exploded")

    monkeypatch.setattr(tuner.state.strategy, "suggest", broken)
    for pid in range(3):  # uniform fallback keeps the experiment going ...
        assert set(tuner.generate_parameters(pid)["choices"]) == {"hidden", "activation"}
    with pytest.raises(nni.NoMoreTrialError, match="controller exploded"):
        tuner.generate_parameters(3)  # ... until the strategy failed 3 times in a row


def test_concurrent_trial_end_and_results_are_all_counted() -> None:
    tuner = SupernasEvolution(space="mlp", population_size=4, sample_size=2)
    params = {pid: tuner.generate_parameters(pid) for pid in range(40)}

    def finish(pids: range, ok: bool) -> None:
        for pid in pids:
            if ok:
                tuner.receive_trial_result(pid, params[pid], reward_of(params[pid]))
            tuner.trial_end(pid, ok)

    threads = [threading.Thread(target=finish, args=(range(i, 40, 4), i % 2 == 0)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tuner.state.stats["succeeded"] == 20 and tuner.state.stats["failed"] == 20
    assert len(tuner.state.strategy.history) == 40 and not tuner.state.pending


@pytest.mark.parametrize("space_kwargs", [{"space": "mlp"}, {}])
def test_resume_restores_the_controller_exactly(tmp_path: Path, space_kwargs: dict) -> None:
    """NNI resume order: new tuner, load_checkpoint, update_search_space, import_data."""
    first = SupernasEnas(seed=3, batch_size=2, state_dir=str(tmp_path), **space_kwargs)
    first.update_search_space(JSON_SPACE)
    records = drive(first, 0, 6)
    saved = load_state(tmp_path)

    resumed = SupernasEnas(seed=3, batch_size=2, state_dir=str(tmp_path), **space_kwargs)
    resumed.load_checkpoint()
    resumed.update_search_space(JSON_SPACE)
    resumed.import_data(records)  # NNI replays finished trials: already in the saved state
    assert resumed.state.stats["imported"] == 0
    assert json.loads(json.dumps(resumed.state.strategy.state_dict())) == saved["strategy"]  # JSON
    assert drive(resumed, 100, 4) == drive(first, 6, 4)  # continues exactly like the original


def test_import_without_saved_state_replays_history(tmp_path: Path) -> None:
    source = SupernasEvolution(space="mlp", seed=0, population_size=3, sample_size=2)
    records = drive(source, 0, 5)
    fresh = SupernasEvolution(space="mlp", seed=0, population_size=3, sample_size=2)
    fresh.import_data(records)
    assert fresh.state.stats["imported"] == 5
    assert fresh.state.strategy.best() == source.state.strategy.best()


def test_minimize_mode_prefers_small_metrics() -> None:
    tuner = SupernasRandom(space="mlp", optimize_mode="minimize", metric="loss")
    for pid, loss in enumerate([0.9, 0.1, 0.5]):
        params = tuner.generate_parameters(pid)
        tuner.receive_trial_result(pid, params, {"default": 0.0, "loss": loss})
    best = tuner.state.strategy.best()
    assert best is not None and math.isclose(best[1], -0.1)


@pytest.mark.parametrize("cls, kwargs, needle", [
    (SupernasEnas, {"space": "mlp", "optimize_mode": "max"}, "optimize_mode='max'"),
    (SupernasEnas, {"space": "mlp", "seed": "1"}, "seed='1'"),
    (SupernasEnas, {"space": "mlp", "lr": -1}, "lr=-1"),
    (SupernasEnas, {"space": "mlp", "hidden": 3}, "unknown argument(s) hidden"),
    (SupernasEvolution, {"space": "nope"}, "space='nope'"),
    (SupernasRandom, {"space_args": {"x": 1}}, "space_args="),
    (SupernasRandom, {"space": "mlp", "space_args": {"depth": 3}}, "depth"),
    (SupernasEnas, {"strategy": "random"}, "strategy='random'"),
    (SupernasOneShot, {"algorithm": "dartz", "space": "mlp"}, "algorithm='dartz'"),
    (SupernasOneShot, {"algorithm": "darts", "space": "mlp", "grid": {"temperature": [1, -1]}},
     "temperature=-1"),
    (SupernasOneShot, {"algorithm": "darts", "space": "mlp", "grid": {"seed": []}}, "grid.seed"),
    (SupernasOneShot, {"algorithm": "darts", "space": "mlp", "gird": {}}, "gird"),
])
def test_bad_class_arguments_fail_in_init_naming_the_argument(cls: type, kwargs: dict,
                                                              needle: str) -> None:
    with pytest.raises(SupernasError) as info:
        cls(**kwargs)
    assert needle in str(info.value)


def test_slow_validation_inside_the_dispatcher_fails_on_first_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In NNI's dispatcher ``__init__`` may return before validation ends (10 s connect
    deadline); a late failure then ends the experiment instead of hanging it."""
    import threading

    from nni_plugins import startup, tuner_state

    release = threading.Event()
    real_check = tuner_state.check_settings

    def slow_check(*args: object, **kwargs: object) -> None:
        release.wait(10)  # validation outlasts __init__ (deterministic, no race)
        real_check(*args, **kwargs)

    monkeypatch.setattr(tuner_state, "check_settings", slow_check)
    monkeypatch.setenv("SDK_PROCESS", "dispatcher")
    monkeypatch.delenv("NNI_TUNER_COMMAND_CHANNEL", raising=False)
    monkeypatch.setattr(startup, "STARTUP_WAIT", 0.0)
    tuner = SupernasEnas(space="mlp", lr=-1)  # returns: validation still running
    release.set()
    tuner.update_search_space({})
    tuner.trial_end(0, False)
    with pytest.raises(nni.NoMoreTrialError, match="bad classArgs: lr=-1"):
        tuner.generate_parameters(0)


def test_oneshot_grid_results_and_resume(tmp_path: Path) -> None:
    kwargs = {"algorithm": "darts", "space": "mlp", "settings": {"order": 1},
              "grid": {"temperature": [1.0, 0.5], "seed": [0, 1]}, "state_dir": str(tmp_path)}
    tuner = SupernasOneShot(**kwargs)
    p0, p1 = tuner.generate_parameters(10), tuner.generate_parameters(11)
    assert p0["settings"] == {"order": 1, "temperature": 1.0, "seed": 0}
    assert p1["settings"] == {"order": 1, "temperature": 1.0, "seed": 1}
    tuner.receive_trial_result(10, p0, {"default": 0.7})
    tuner.trial_end(11, False)
    assert tuner.best() == (0, 0.7) and tuner.results["1"] is None

    resumed = SupernasOneShot(**kwargs)
    resumed.load_checkpoint()
    resumed.import_data([{"parameter": p0, "value": {"default": 0.7}}])
    assert [resumed.generate_parameters(i)["index"] for i in (20, 21)] == [2, 3]
    with pytest.raises(nni.NoMoreTrialError):
        resumed.generate_parameters(22)


def test_every_example_config_passes_the_cli_check() -> None:
    configs = sorted((REPO / "examples" / "nni").rglob("*.yml"))
    assert len(configs) >= 12
    assert {c.name: check_config(c) for c in configs} == {c.name: None for c in configs}


def test_cli_check_and_export(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = yaml_config(tmp_path, {"space": "mlp", "population_size": 0})
    assert main(["nni", "check", "--config", str(config)]) == 2
    assert "population_size=0 is invalid" in capsys.readouterr().err
    out = tmp_path / "space.json"
    assert main(["nni", "export-space", "--space", "mlp", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["hidden"]["_type"] == "layer_choice"


def yaml_config(tmp_path: Path, class_args: dict) -> Path:
    import yaml

    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({
        "searchSpace": {}, "trialCommand": "true", "trialConcurrency": 1,
        "tuner": {"name": "SupernasEvolution", "classArgs": class_args},
        "trainingService": {"platform": "local"}}))
    return path


def test_unwritable_state_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    tuner = SupernasRandom(space="mlp", state_dir=str(blocker / "state"))
    drive(tuner, 0, 2)
    assert tuner.state.stats["succeeded"] == 2 and "state not written" in caplog.text


def test_resume_with_a_trial_in_flight_counts_its_rerun_once(tmp_path: Path) -> None:
    """NNI re-runs a trial killed by ``nnictl stop`` and sends its result as imported data."""
    first = SupernasEvolution(space="mlp", seed=0, population_size=3, sample_size=2,
                              state_dir=str(tmp_path))
    records = drive(first, 0, 2)
    in_flight = first.generate_parameters(2)  # stopped before it finished
    resumed = SupernasEvolution(space="mlp", seed=0, population_size=3, sample_size=2,
                                state_dir=str(tmp_path))
    resumed.load_checkpoint()
    resumed.update_search_space({})
    resumed.import_data(records)  # finished before the stop: already observed
    resumed.import_data([{"parameter": in_flight, "value": 0.9}])  # the re-run's result
    assert resumed.state.stats["imported"] == 1
    assert [r for _, r in resumed.state.strategy.history][-1] == 0.9
    assert len(resumed.state.strategy.history) == 3


def test_state_files_of_formats_3_2_and_1_load(tmp_path: Path) -> None:
    """Format 3 is JSON (snapshot + log); format 2 (class-free pickle: a tampered file cannot run
    code) and format 1 (JSON) from earlier releases are read when no newer file exists; a wrong
    format is named."""
    import pickle

    from nni_plugins.state import PICKLED_FILE

    (tmp_path / LEGACY_FILE).write_text(json.dumps({"format": "supernas.nni_tuner/1", "stats": {}}))
    assert load_state(tmp_path) == {"format": "supernas.nni_tuner/1", "stats": {}}
    (tmp_path / PICKLED_FILE).write_bytes(pickle.dumps({"format": "x", "f": Path("/")}))
    with pytest.raises(pickle.UnpicklingError, match="plain data only"):
        load_state(tmp_path)
    (tmp_path / PICKLED_FILE).write_bytes(pickle.dumps({"format": "supernas.nni_tuner/9"}))
    with pytest.raises(ValueError, match="format='supernas.nni_tuner/9'; allowed: 'supernas.nni_tuner/2'"):
        load_state(tmp_path)
    (tmp_path / PICKLED_FILE).write_bytes(pickle.dumps({"format": "supernas.nni_tuner/2", "n": 2}))
    assert load_state(tmp_path) == {"format": "supernas.nni_tuner/2", "n": 2}
    save_state(tmp_path, {"history": [({"a": "x"}, 1.5)]})
    assert load_state(tmp_path)["history"] == [[{"a": "x"}, 1.5]]  # the newest file wins; JSON
