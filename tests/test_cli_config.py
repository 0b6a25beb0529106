"""``--config FILE`` and ``--print-config`` (trial_templates.config_file): a run's ``config.yaml``
re-runs it, flags override the file (flag > file > default), bad files are one-line errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trial_templates.cli import main

#: A tiny real search: the mlp space on 64 digits, one epoch of two batches, no fine-tune.
TINY = ["search", "--algorithm", "darts", "--space", "mlp", "--subset", "64", "--epochs", "1",
        "--limit-batches", "2", "--finetune-steps", "0", "--set", "temperature=0.5",
        "--no-progress", "--no-plots", "--accelerator", "cpu", "--report", "none"]
ARCH = ["--architecture-json", "hidden=h20,activation=relu", "--space", "mlp"]


def _printed(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    assert main([*argv, "--print-config"]) == 0
    return capsys.readouterr().out


def _write(path: Path, data: object) -> str:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(path)


def test_config_round_trip_reproduces_a_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    first = tmp_path / "first"
    printed = _printed(capsys, [*TINY, "--output", str(first)])
    assert main([*TINY, "--output", str(first)]) == 0
    capsys.readouterr()  # the run's own output
    recorded = (first / "config.yaml").read_text()
    assert printed == recorded  # --print-config shows what the run records
    assert _printed(capsys, ["search", "--config", str(first / "config.yaml")]) == recorded
    again = tmp_path / "again"
    assert main(["search", "--config", str(first / "config.yaml"), "--output", str(again)]) == 0
    rerun = yaml.safe_load((again / "config.yaml").read_text())
    assert rerun.pop("output") == str(again)  # the one field that differs: given on purpose
    assert rerun == {k: v for k, v in yaml.safe_load(recorded).items() if k != "output"}


def test_flags_override_the_file_and_mappings_merge(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = _write(tmp_path / "c.yaml", {"epochs": 4, "seed": 3, "subset": 64, "finetune_lr": "3e-4",
                                       "settings": {"temperature": 0.5, "order": 2}})
    out = yaml.safe_load(_printed(capsys, ["search", "--config", cfg, "--epochs", "10", "--set", "order=1",
                                           "--no-progress", "--output", str(tmp_path / "o")]))
    assert out["epochs"] == 10  # given, though equal to the built-in default
    assert out["seed"] == 3 and out["finetune_lr"] == 3e-4  # file over default, typed as --finetune-lr
    assert out["settings"] == {"temperature": 0.5, "order": 1} and out["progress"] is False
    assert out["batch_size"] == 64 and out["algorithm"] == "darts"  # built-in defaults


def test_train_config_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    printed = _printed(capsys, ["train", *ARCH, "--epochs", "2", "--output", str(tmp_path / "o")])
    cfg = _write(tmp_path / "train.yaml", printed)
    assert _printed(capsys, ["train", "--config", cfg]) == printed
    other = yaml.safe_load(_printed(capsys, ["train", "--config", cfg, "--architecture-json",
                                             "hidden=h10,activation=relu", "--space", "mlp"]))
    assert other["architecture"]["choices"]["hidden"] == "h10" and other["epochs"] == 2


@pytest.mark.parametrize("content, expected", [
    ({"epochz": 5}, "unknown key(s) epochz; allowed: data, data_dir,"),
    ({"epochs": "five"}, "epochs='five' is invalid (argument --epochs: invalid int value: 'five')"),
    ({"report": "nope"}, "report='nope' is invalid (argument --report: invalid choice"),
    ({"progress": "yes"}, "progress='yes' is invalid; allowed: true or false"),
    ({"space_args": [1, 2]}, "space_args=[1, 2] is invalid; allowed: a mapping"),
    ({"settings": {"temperature": -1}}, "temperature=-1.0 is invalid; allowed: a finite number > 0"),
    ({"metric_names": {"val_acc": "a b"}}, "metric-name='val_acc=a b' is invalid"),
    ({"command": "train"}, "command='train' is invalid; allowed: 'search'"),
    ("- a list", "a YAML mapping of settings"),
    ("epochs: [1\n", "cannot be read as YAML"),
    ("!!python/object/apply:os.system ['touch HACKED']\n", "cannot be read as YAML"),  # data, never code
])
def test_bad_config_files_are_one_line_errors(content: object, expected: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    cfg = _write(tmp_path / "bad.yaml", content)
    assert main(["search", "--config", cfg, "--output", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("supernas: error: ") and err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "o").exists() and not Path("HACKED").exists()


def test_a_missing_config_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "config='" in capsys.readouterr().err


def test_print_config_does_not_train(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "o"
    resolved = yaml.safe_load(_printed(capsys, [*TINY, "--output", str(out)]))
    assert resolved["command"] == "search" and resolved["space_args"] == {"in_features": 64, "num_classes": 10}
    assert not out.exists()  # no config.yaml, no checkpoint
