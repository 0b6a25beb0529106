"""End-to-end: real ``nnictl create`` experiments with the registered supernas tuners.

The example configs run as shipped (their trials run the Lightning runtime, ``supernas train
--architecture nni`` / ``supernas search --params nni``), made quick: 1-epoch trials, fewer
trials. Local training service, CPU, ``trialConcurrency: 1``, digits data. Each test stops its
experiments in a finaliser (``runner`` fixture).
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from test_nni_support import (
    REPO,
    NniRunner,
    final_metric,
    intermediate_count,
    read_state,
    trials,
    wait_status,
)

pytestmark = pytest.mark.slow
EXAMPLES = REPO / "examples" / "nni"
FAIL_IF = REPO / "tests" / "nni_fail_if.py"


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NniRunner]:
    r = NniRunner(tmp_path_factory.mktemp("nni"))
    # `supernas nni register` (wraps `nnictl algo register --meta nni_plugins/meta.yml`)
    subprocess.run([sys.executable, "-m", "nni_plugins.cli", "nni", "register"], env=r.env, check=True,
                   capture_output=True)
    yield r
    r.stop_all()


@pytest.fixture(autouse=True)
def _stop_after_each_test(runner: NniRunner) -> Iterator[None]:
    """Stop (and free the port of) every experiment a test started, pass or fail."""
    yield
    runner.stop_all()


def test_register_adds_every_tuner_to_nnictl(runner: NniRunner) -> None:
    for name in ("SupernasEnas", "SupernasEvolution", "SupernasRandom", "SupernasBo", "SupernasPnas",
                 "SupernasOneShot"):
        shown = json.loads(runner.nnictl("algo", "show", name).stdout)
        assert shown["builtinName"] == name and shown["className"].startswith("nni_plugins.")


def example(name: str, max_trials: int, **changes: Any) -> dict[str, Any]:
    """An example config made quick: 1-epoch trials, ``max_trials`` trials, absolute paths."""
    config = yaml.safe_load((EXAMPLES / f"{name}.yml").read_text())
    assert "--epochs 3" in config["trialCommand"], config["trialCommand"]
    config["trialCommand"] = config["trialCommand"].replace("--epochs 3", "--epochs 1")
    config["trialCodeDirectory"] = str(EXAMPLES)
    config["maxTrialNumber"] = max_trials
    if "searchSpaceFile" in config:
        config["searchSpaceFile"] = str(EXAMPLES / config["searchSpaceFile"])
    if "codeDirectory" in config["tuner"]:
        config["tuner"]["codeDirectory"] = str(EXAMPLES)
    config.update(changes)
    return config


def run_to_end(runner: NniRunner, name: str, config: dict[str, Any]) -> tuple[str, int]:
    exp_id, port = runner.create(runner.write_config(name, config))
    status = wait_status(port)
    assert status in ("DONE", "TUNER_NO_MORE_TRIAL"), f"{name}: {status}\n{runner.log(exp_id)[-3000:]}"
    return exp_id, port


def best_architecture(port: int) -> dict[str, Any]:
    done = [m for m in (final_metric(t) for t in trials(port)) if m is not None]
    return json.loads(max(done, key=lambda m: m["default"])["architecture"])["choices"]


#: surrogate strategies fit after 2 results, so the third trial comes from the fitted surrogate
SURROGATE_ARGS = {"bo": {"initial": 2}, "pnas": {"initial": 2}}


@pytest.mark.parametrize("name", ["enas", "evolution", "random", "bo", "pnas"])
def test_registered_strategy_tuner_runs_to_done(runner: NniRunner, name: str) -> None:
    config = example(name, max_trials=3)
    config["tuner"]["classArgs"].update(SURROGATE_ARGS.get(name, {}))
    exp_id, port = run_to_end(runner, name, config)
    jobs = trials(port)
    assert len(jobs) == 3 and all(t["status"] == "SUCCEEDED" for t in jobs)
    assert all(0.0 <= final_metric(t)["default"] <= 1.0 for t in jobs)
    assert all(intermediate_count(port, t["trialJobId"]) == 1 for t in jobs)  # one per epoch
    assert set(best_architecture(port)) == {"hidden", "activation"}
    state = read_state(runner, exp_id)
    assert state["stats"]["succeeded"] == 3 and state["stats"]["failed"] == 0
    assert len(state["strategy"]["history"]) == 3
    assert state["best"]["params"]["choices"] == best_architecture(port)


def test_oneshot_launcher_runs_one_search_per_grid_point(runner: NniRunner) -> None:
    """``oneshot_darts.yml``: each trial runs ``supernas search --params nni`` on its grid point
    and reports every epoch and a final result with the architecture to NNI."""
    config = example("oneshot_darts", max_trials=10)
    assert config["trialCommand"].startswith("supernas search --params nni ")
    config["tuner"]["classArgs"]["grid"] = {"temperature": [1.0, 0.5]}
    exp_id, port = run_to_end(runner, "oneshot", config)
    jobs = trials(port)
    assert len(jobs) == 2 and all(t["status"] == "SUCCEEDED" for t in jobs)  # grid size, not 10
    temps = sorted(json.loads(t["hyperParameters"][0])["parameters"]["settings"]["temperature"]
                   for t in jobs)
    assert temps == [0.5, 1.0]
    assert all(intermediate_count(port, t["trialJobId"]) == 1 for t in jobs)  # one per epoch
    assert all(0.0 <= final_metric(t)["default"] <= 1.0 for t in jobs)
    assert set(best_architecture(port)) == {"hidden", "activation"}
    for job in jobs:  # the search ran the grid point's settings (its recorded config.yaml)
        # $NNI_OUTPUT_DIR of NNI 3.0's local training service: environments/<env>/trials/<trial>
        [run] = runner.exp_dir(exp_id).glob(f"environments/*/trials/{job['trialJobId']}/search")
        recorded = yaml.safe_load((run / "config.yaml").read_text())
        sent = json.loads(job["hyperParameters"][0])["parameters"]["settings"]
        assert recorded["algorithm"] == "darts" and recorded["settings"] == sent
        assert (run / "architecture.json").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    state = read_state(runner, exp_id)
    assert state["next_index"] == 2 and all(v is not None for v in state["results"].values())


def test_unregistered_class_form_with_json_space_and_failing_trials(runner: NniRunner) -> None:
    """codeDirectory/className form over an NNI search-space file; sigmoid trials fail on
    purpose (the shipped command under ``tests/nni_fail_if.py``): the experiment still finishes
    and the tuner counted each failure."""
    config = example("json_space", max_trials=5)
    config["trialCommand"] = f"{sys.executable} {FAIL_IF} activation=sigmoid {config['trialCommand']}"
    exp_id, port = run_to_end(runner, "json_space", config)
    jobs = trials(port)
    failed = [t for t in jobs if t["status"] == "FAILED"]
    ok = [t for t in jobs if t["status"] == "SUCCEEDED"]
    assert len(jobs) == 5 and len(failed) + len(ok) == 5
    params = [json.loads(t["hyperParameters"][0])["parameters"] for t in jobs]
    assert all(set(p) == {"hidden", "activation"} for p in params)  # NNI flat parameters
    assert len(failed) == sum(p["activation"] == "sigmoid" for p in params)
    state = read_state(runner, exp_id)
    assert state["stats"]["failed"] == len(failed) and state["stats"]["succeeded"] == len(ok)
    assert sum(r is None for _, r in state["strategy"]["history"]) == len(failed)


def test_stop_and_resume_continues_the_enas_controller(runner: NniRunner) -> None:
    exp_id, port = runner.create(runner.write_config("resume", example("enas", max_trials=4)))
    wait_status(port, states=("RUNNING", "NO_MORE_TRIAL", "DONE"), min_trials=2)
    runner.stop(exp_id)
    saved = read_state(runner, exp_id)
    seen = len(saved["strategy"]["history"])
    assert seen >= 2 and "trainer" in saved["strategy"]
    port = runner.resume(exp_id)
    assert wait_status(port) in ("DONE", "TUNER_NO_MORE_TRIAL"), runner.log(exp_id)[-3000:]
    final = read_state(runner, exp_id)
    assert f"enas state restored with {seen} observed" in runner.log(exp_id)
    assert final["strategy"]["history"][:seen] == saved["strategy"]["history"]
    assert len(final["strategy"]["history"]) > seen
    # NNI replays every finished trial on resume: none may be counted twice (a trial killed by
    # the stop is re-run by NNI and arrives as imported data, once)
    ended = [t for t in trials(port) if t["status"] in ("SUCCEEDED", "FAILED")]
    assert len(final["strategy"]["history"]) == len(ended)


def test_bad_class_argument_fails_at_creation(runner: NniRunner) -> None:
    config = example("evolution", max_trials=2)
    config["tuner"]["classArgs"]["population_size"] = 0
    path = runner.write_config("bad", config)
    from nni_plugins.cli import main

    assert main(["nni", "check", "--config", str(path)]) == 2  # `supernas nni create` stops here
    exp_id, port = runner.create(path, tuner_starts=False)
    assert wait_status(port, states=("ERROR",), timeout=180) == "ERROR"
    assert "population_size=0 is invalid" in runner.log(exp_id)
    assert "population_size=0 is invalid" in runner.log(exp_id, "nnimanager.log")
    assert trials(port) == []
