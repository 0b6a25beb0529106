"""Kill-and-resume: a search killed with SIGTERM mid-run and started again with the same command
finishes with the same architecture and metrics as an uninterrupted run (CPU, same seed)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "trial_templates", "search", "--algorithm", "darts", "--space", "nb201",
            "--space-arg", "C=4", "--space-arg", "N=1", "--data", "synthetic", "--subset", "96",
            "--batch-size", "16", "--epochs", "5", "--output", str(out), "--report", "stdout",
            "--accelerator", "cpu", "--no-progress", "--no-plots", "--set", "order=2"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _run(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(out), env=_env(), capture_output=True, text=True, timeout=300, check=False)


def _kill_after_first_checkpoint(out: Path) -> int:
    proc = subprocess.Popen(_cmd(out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    while not (out / "checkpoints" / "last.ckpt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    return proc.returncode


@pytest.mark.slow
def test_sigterm_mid_run_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    ref = _run(tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr[-3000:]
    killed = tmp_path / "killed"
    code = _kill_after_first_checkpoint(killed)
    assert code == 143, "the run did not stop on SIGTERM (or finished before it arrived)"
    assert not (killed / "architecture.json").exists()
    done_epochs = len(list((killed / "architectures").glob("epoch_*.json")))
    assert 1 <= done_epochs < 5
    resumed = _run(killed)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stdout
    for name in ("architecture.json", "metrics.json"):
        assert json.loads((killed / name).read_text()) == json.loads((tmp_path / "ref" / name).read_text())
    for epoch in range(5):  # every per-epoch architecture matches too
        f = f"architectures/epoch_{epoch:03d}.json"
        assert (killed / f).read_text() == (tmp_path / "ref" / f).read_text()


class _Interrupt(Exception):
    pass


def _interrupting_reporters(*args: object, **kwargs: object) -> list:
    import pytorch_lightning as pl

    class Stop(pl.Callback):
        def on_train_batch_start(self, trainer: pl.Trainer, module: object, batch: object, i: int) -> None:
            if trainer.current_epoch == 1 and i == 1:
                raise _Interrupt

    return [Stop()]


@pytest.mark.parametrize("algorithm, settings", [("enas", {"num_select": 3}),
                                                 ("spos", {"population": 4, "iterations": 1})])
def test_interrupted_search_resumes_in_process(algorithm: str, settings: dict, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Same guarantee, in-process, for the sampling algorithms (controller / RNG state)."""
    from trial_templates import runner
    from trial_templates.config import SearchConfig

    def cfg(out: Path) -> SearchConfig:
        return SearchConfig(algorithm=algorithm, space="mlp", data="synthetic",
                            subset=64, batch_size=16, epochs=3, output=str(out), progress=False,
                            accelerator="cpu", report="none", plots=False, settings=dict(settings))

    ref = runner.run_search(cfg(tmp_path / "ref"))
    with monkeypatch.context() as m:
        m.setattr(runner, "choose_reporters", _interrupting_reporters)
        with pytest.raises(_Interrupt):
            runner.run_search(cfg(tmp_path / "cut"))
    assert not (tmp_path / "cut" / "architecture.json").exists()
    assert runner.run_search(cfg(tmp_path / "cut")) == ref


# --- what a resume accepts (trial_templates.resume): plain data, the recorded settings ----------

DIGITS = ["search", "--algorithm", "darts", "--space", "nb201", "--space-arg", "C=4", "--space-arg", "N=1",
          "--data", "digits", "--subset", "64", "--batch-size", "32", "--finetune-steps", "0",
          "--report", "none", "--accelerator", "cpu", "--no-progress", "--no-plots"]


def _digits(out: Path, *extra: str, epochs: int = 2) -> list[str]:
    return [*DIGITS, "--epochs", str(epochs), "--output", str(out), *extra]


def _stop_at_epoch(epoch: int) -> object:
    def reporters(*args: object, **kwargs: object) -> list:
        import pytorch_lightning as pl

        class Stop(pl.Callback):
            def on_train_epoch_start(self, trainer: pl.Trainer, module: object) -> None:
                if trainer.current_epoch == epoch:
                    raise _Interrupt

        return [Stop()]

    return reporters


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted two-epoch digits search; tests copy it."""
    from trial_templates.cli import main

    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(_digits(out)) == 0
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run, tmp_path / "run"))


def test_interrupted_cli_search_resumes_from_plain_data(finished_run: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    """Every ``torch.load`` of the resume passes ``weights_only=True``; the result is unchanged."""
    import torch

    from trial_templates import runner
    from trial_templates.cli import main

    out = tmp_path / "cut"
    with monkeypatch.context() as m:
        m.setattr(runner, "choose_reporters", _stop_at_epoch(1))
        with pytest.raises(_Interrupt):
            main(_digits(out))
    assert (out / "checkpoints" / "last.ckpt").is_file() and not (out / "architecture.json").exists()
    loads: list[object] = []
    real_load = torch.load

    def spy(*args: object, **kwargs: object) -> object:
        loads.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    capsys.readouterr()
    assert main(_digits(out)) == 0
    assert "resuming from" in capsys.readouterr().out
    assert loads and all(w is True for w in loads), loads
    for name in ("architecture.json", "metrics.json"):
        assert json.loads((out / name).read_text()) == json.loads((finished_run / name).read_text())


def _lightning_ckpt(run: Path) -> dict:
    import torch

    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.mark.parametrize("kind, needle", [
    ("code", "cannot be read safely: it holds more than tensors and plain data (Unsupported global: GLOBAL exec)"),
    ("raw-pickle", "cannot be read safely: it holds more than tensors and plain data"),
    ("empty", "cannot be read safely: it is empty, truncated or not a torch file"),
    ("truncated", "cannot be read safely: it is empty, truncated or not a torch file"),
    ("foreign", "is not a checkpoint of this run (it lacks epoch, global_step, loops, optimizer_states, supernas)"),
    ("other-model", "does not fit this run's model (missing: "),
])
def test_unusable_last_ckpt_is_refused_naming_the_file(kind: str, needle: str, finished_run: Path,
                                                       tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import pickle

    import torch
    from conftest import Poison

    from trial_templates.cli import main

    out = _copy(finished_run, tmp_path)
    ckpt, marker = out / "checkpoints" / "last.ckpt", tmp_path / "marker"
    good = ckpt.read_bytes()
    if kind == "code":
        torch.save({**_lightning_ckpt(out), "supernas": {"algorithm": Poison(marker)}}, ckpt)
    elif kind == "raw-pickle":
        ckpt.write_bytes(pickle.dumps({"state_dict": Poison(marker)}, protocol=2))
    elif kind in ("empty", "truncated"):
        ckpt.write_bytes(good[: len(good) // 2] if kind == "truncated" else b"")
    elif kind == "foreign":
        torch.save({"state_dict": {"w": torch.ones(1)}}, ckpt)
    else:
        saved = _lightning_ckpt(out)
        saved["state_dict"].pop(next(iter(saved["state_dict"])))
        torch.save(saved, ckpt)
    assert main(_digits(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"supernas: error: checkpoint='{ckpt}' ") and needle in err, err
    assert "delete it" in err and "new --output" in err and "Traceback" not in err
    assert not marker.exists()


@pytest.mark.parametrize("extra, needle", [
    (["--seed", "1"], "seed: 0 in the checkpoint, 1 now"),
    (["--epochs", "3"], "epochs: 2 in the checkpoint, 3 now"),
    (["--set", "temperature=0.5"], "settings.temperature: (not set) in the checkpoint, 0.5 now"),
    (["--algorithm", "spos"], "algorithm: darts in the checkpoint, spos now"),
    (["--space-arg", "C=8"], "space_args.C: 4 in the checkpoint, 8 now"),
])
def test_resume_with_other_settings_is_refused_before_config_is_rewritten(
        extra: list[str], needle: str, finished_run: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    from trial_templates.cli import main

    out = _copy(finished_run, tmp_path)
    config = (out / "config.yaml").read_text()
    assert main(_digits(out, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"supernas: error: checkpoint='{out / 'checkpoints' / 'last.ckpt'}' was written "
                          "with other settings (") and needle in err, err
    assert "new --output" in err and "Traceback" not in err
    assert (out / "config.yaml").read_text() == config  # the recorded config stays true


def test_resume_ignores_reporting_settings_and_refuses_unrecorded_checkpoints(
        finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from trial_templates.cli import main

    out = _copy(finished_run, tmp_path)
    assert main([*_digits(out), "--report", "stdout", "--num-workers", "0"]) == 0
    assert "resuming from" in capsys.readouterr().out
    (out / "checkpoints" / "config.yaml").unlink()
    assert main(_digits(out)) == 2
    assert "has no recorded settings beside it" in capsys.readouterr().err


def test_train_into_a_search_output_is_refused(finished_run: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    from trial_templates.cli import main

    out = _copy(finished_run, tmp_path)
    argv = ["train", "--architecture", str(out / "architecture.json"), "--data", "digits", "--epochs", "1",
            "--output", str(out), "--accelerator", "cpu", "--no-progress", "--report", "none"]
    assert main(argv) == 2
    assert "command: search in the checkpoint, train now" in capsys.readouterr().err
