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
