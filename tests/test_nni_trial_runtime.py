"""NNI one-shot trials run the Lightning runtime: ``supernas search --params nni`` reads the
``SupernasOneShot`` tuner's parameters (``supernas.oneshot/1``), builds the typed config and
reports through ``NniReporter`` (``nni.get_next_parameter`` / ``nni.report_*`` monkeypatched;
a 2-rank DDP trial under a fake NNI channel; the real ``nnictl`` run is in ``test_nni_e2e.py``)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nni
import pytest
import yaml
from nni_fake_channel import read_log, trial_env

from nni_plugins import SupernasOneShot
from supernas.errors import ConfigError
from trial_templates.cli import main
from trial_templates.nni_params import ENV_VAR, ONESHOT_FORMAT, oneshot_fields

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--data", "digits", "--subset", "64", "--batch-size", "32", "--epochs", "1",
         "--finetune-steps", "2", "--accelerator", "cpu", "--no-progress", "--no-plots"]


@pytest.fixture(autouse=True)
def _parameters_not_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """``read_nni_parameters`` leaves them in the environment (for DDP ranks): undone after each test."""
    monkeypatch.setenv(ENV_VAR, "null")
    monkeypatch.delenv(ENV_VAR)


def tuner_params(**class_args: Any) -> dict[str, Any]:
    """The first trial parameters the real tuner hands out for ``class_args``."""
    tuner = SupernasOneShot(**class_args)
    return tuner.generate_parameters(0)


def sent_to_nni(monkeypatch: pytest.MonkeyPatch, params: Any) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []
    monkeypatch.setattr(nni, "get_next_parameter", lambda: params)
    monkeypatch.setattr(nni, "report_intermediate_result", lambda m: sent.append(("epoch", m)))
    monkeypatch.setattr(nni, "report_final_result", lambda m: sent.append(("final", m)))
    return sent


def test_tuner_parameters_become_search_fields() -> None:
    params = tuner_params(algorithm="darts", space="mlp", settings={"order": 1},
                          grid={"temperature": [0.5], "seed": [3]})
    assert params["format"] == ONESHOT_FORMAT
    fields = oneshot_fields(params)
    assert fields == {"algorithm": "darts", "space": "mlp", "space_args": params["space_args"],
                      "settings": {"order": 1, "temperature": 0.5, "seed": 3}, "seed": 3}


@pytest.mark.parametrize("params, field", [
    ({"format": "supernas.architecture/1", "space": "mlp", "choices": {}}, "params.format='supernas.architecture/1'"),
    ({"format": ONESHOT_FORMAT, "algorithm": 3, "space": "mlp"}, "params.algorithm=3"),
    ({"format": ONESHOT_FORMAT, "algorithm": "darts", "space": "mlp", "settings": [1]}, "params.settings=[1]"),
])
def test_other_parameters_are_refused_by_name(params: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")) as err:
        oneshot_fields(params)
    assert "allowed:" in str(err.value)


def test_search_params_nni_runs_the_tuners_search_and_reports(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    params = tuner_params(algorithm="darts", space="mlp", settings={"order": 1},
                          grid={"temperature": [0.5], "seed": [1]})
    sent = sent_to_nni(monkeypatch, params)
    out = tmp_path / "search"
    assert main(["search", "--params", "nni", "--report", "nni", "--output", str(out), *QUICK]) == 0
    assert [k for k, _ in sent] == ["epoch", "final"]
    final = sent[-1][1]
    assert 0.0 <= final["default"] <= 1.0
    assert json.loads(final["architecture"]) == json.loads((out / "architecture.json").read_text())
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert (recorded["algorithm"], recorded["space"], recorded["seed"]) == ("darts", "mlp", 1)
    assert recorded["settings"] == {"order": 1, "temperature": 0.5, "seed": 1}
    assert (out / "checkpoints" / "last.ckpt").is_file()


def test_a_bad_setting_in_the_parameters_fails_like_set(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    params = {"format": ONESHOT_FORMAT, "algorithm": "darts", "space": "mlp", "space_args": {},
              "settings": {"temperature": -1}, "index": 0}
    sent_to_nni(monkeypatch, params)
    assert main(["search", "--params", "nni", "--print-config", *QUICK]) == 2
    assert "supernas: error: temperature=-1.0 is invalid" in capsys.readouterr().err


def test_params_nni_outside_an_nni_trial_says_so(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    sent_to_nni(monkeypatch, {})  # NNI's standalone mode
    assert main(["search", "--params", "nni", "--print-config", *QUICK]) == 2
    err = capsys.readouterr().err
    assert "params='nni' is invalid" in err and "inside an NNI trial" in err


def test_explicit_flags_override_the_parameters(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    params = tuner_params(algorithm="darts", space="mlp", settings={"order": 1},
                          grid={"temperature": [0.5]})
    sent_to_nni(monkeypatch, params)
    assert main(["search", "--params", "nni", "--set", "temperature=0.2", "--print-config", *QUICK]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["settings"] == {"order": 1, "temperature": 0.2}


def test_ddp_ranks_ask_nni_once_and_rank_zero_reports(tmp_path: Path) -> None:
    """2 gloo ranks under a fake NNI trial channel (``nni_fake_channel``): the rank Lightning
    starts reads the parameters the first rank got (NNI hands every request a parameter), and
    only rank zero reports."""
    params = tuner_params(algorithm="darts", space="mlp", settings={"order": 1},
                          grid={"temperature": [0.5]})
    channel = tmp_path / "nni"
    cmd = [sys.executable, "-m", "trial_templates", "search", "--params", "nni", *QUICK,
           "--devices", "2", "--strategy", "ddp", "--limit-batches", "1", "--output", str(tmp_path / "run")]
    proc = subprocess.run(cmd, check=False, cwd=REPO, env=trial_env(channel, params, REPO),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    log = read_log(channel)
    assert [r["type"] for r in log] == ["request_parameter", "PERIODICAL", "FINAL"], log
    assert len({r["pid"] for r in log}) == 1  # the first rank asked and reported
    assert 0.0 <= log[-1]["value"]["default"] <= 1.0
    assert "temperature: 0.5" in (tmp_path / "run" / "config.yaml").read_text()


@pytest.mark.parametrize("kind", ["architecture", "oneshot"])
def test_old_trial_command_runs_the_same_runtime(kind: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m nni_plugins.trial``: the parameters pick ``run_train`` or ``run_search``."""
    from nni_plugins.trial import main as trial_main
    from supernas.architecture import Architecture

    params = (Architecture({"hidden": "h20", "activation": "relu"}, "mlp", {}).to_dict()
              if kind == "architecture" else
              tuner_params(algorithm="random", space="mlp", settings={"num_samples": 2}))
    sent = sent_to_nni(monkeypatch, params)
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path))
    flags = [f for f in QUICK if f not in ("--finetune-steps", "2")]  # also a `supernas train`'s
    assert trial_main([*flags, "--report", "nni"]) == 0
    assert [k for k, _ in sent] == ["epoch", "final"]
    out = tmp_path / ("train" if kind == "architecture" else "search")
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert recorded["command"] == ("train" if kind == "architecture" else "search")
    assert json.loads(sent[-1][1]["architecture"])["choices"].keys() == {"hidden", "activation"}
