"""2-process CPU (gloo) DDP ``supernas search`` through the CLI (issue 14).

Each run is a real subprocess with a timeout that kills its whole process group, so a hang (the
first-epoch all-reduce that only rank zero joined, fixed in d1a8dc1) fails the test instead of the
CI run. ``SUPERNAS_RANK_STATE_DIR`` makes every rank write a fingerprint of its state after each
step (``trial_templates.ddp_sync.trace_state``): the ranks must agree bit for bit on the
algorithm's state (alphas, controller), the supernet weights and the sampled child.
"""
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
# generous for a loaded 2-core machine (a run takes a few tens of seconds when idle)
TIMEOUT_S = int(os.environ.get("SUPERNAS_DDP_TEST_TIMEOUT", "900"))
TINY = ["--data", "digits", "--subset", "128", "--batch-size", "16", "--limit-batches", "2",
        "--space-arg", "C=4", "--finetune-steps", "2", "--no-plots", "--no-progress",
        "--report", "stdout", "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp"]

pytestmark = pytest.mark.timeout(TIMEOUT_S + 60)


def run_search(out: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``supernas search`` with 2 gloo ranks; the process group is killed on timeout."""
    done = finish(start_search(out, args), "still running (hang)")
    assert done.returncode == 0, done.stdout[-4000:]
    return done


def start_search(out: Path, args: list[str]) -> subprocess.Popen[str]:
    """Start ``supernas search`` with 2 gloo ranks in its own process group."""
    env = {**os.environ, "SUPERNAS_RANK_STATE_DIR": str(out / "trace"), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "trial_templates", "search", *TINY, "--output", str(out / "run"), *args]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def finish(proc: subprocess.Popen[str], failure: str) -> subprocess.CompletedProcess[str]:
    """Wait for the run; after ``TIMEOUT_S`` kill its process group and fail with ``failure``."""
    try:
        stdout, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, _ = proc.communicate()
        pytest.fail(f"2-process DDP search {failure} after {TIMEOUT_S}s:\n{stdout[-4000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, "")


def traces(out: Path) -> list[list[dict]]:
    """Per rank, its state records (one per training step, then the final selection)."""
    files = sorted((out / "trace").glob("rank*.jsonl"))
    assert [f.name for f in files] == ["rank0.jsonl", "rank1.jsonl"]
    return [[json.loads(line) for line in f.read_text().splitlines()] for f in files]


def assert_ranks_agree(out: Path, epochs: int) -> None:
    """Both ranks recorded the same steps (2 per epoch: 32 training examples per rank, batches of
    16) with identical state, and selected the same architecture."""
    rank0, rank1 = traces(out)
    assert [r["kind"] for r in rank0] == ["step"] * 2 * epochs + ["final"]
    for a, b in zip(rank0, rank1, strict=True):
        assert a == b, f"ranks differ at {a['kind']} epoch {a.get('epoch')} batch {a.get('batch')}"


def test_ddp_darts_search_finishes_and_writes_once(tmp_path: Path) -> None:
    proc = run_search(tmp_path, ["--algorithm", "darts", "--epochs", "2"])
    run = tmp_path / "run"
    for name in ("architecture.json", "arch_probabilities.json", "metrics.json"):
        assert (run / name).is_file(), name
    assert proc.stdout.count("saved ") == 1 and proc.stdout.count("final:\n") == 1  # rank zero only
    epochs = json.loads((run / "arch_probabilities.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs if e.get("stage") != "selection"] == [0, 1]
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["val_acc"] <= 1.0
    assert_ranks_agree(tmp_path, epochs=2)


@pytest.mark.parametrize("algorithm, settings", [
    ("darts", ["order=2"]),  # arch gradients from torch.autograd.grad, outside DDP's backward
    ("random", ["num_samples=2"]),  # uniform single path
])
def test_ddp_ranks_train_the_same_architecture(tmp_path: Path, algorithm: str, settings: list[str]) -> None:
    run_search(tmp_path, ["--algorithm", algorithm, "--epochs", "1",
                          *[a for s in settings for a in ("--set", s)]])
    assert_ranks_agree(tmp_path, epochs=1)


def test_ddp_enas_controller_learns_from_both_ranks(tmp_path: Path) -> None:
    """Each reward round gathers one child per rank: 2 rounds x 2 ranks = 4 rewarded children per
    step, i.e. 2 controller updates per step at ``aggregate=2`` (one process would make 1)."""
    run_search(tmp_path, ["--algorithm", "enas", "--epochs", "1", "--set", "warmup=0",
                          "--set", "aggregate=2", "--set", "arch_samples=2", "--set", "num_select=2"])
    assert_ranks_agree(tmp_path, epochs=1)
    steps = [r for r in traces(tmp_path)[0] if r["kind"] == "step"]
    assert [r["updates"] for r in steps] == [2, 4]


def test_ddp_stopped_or_killed_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    """A pod's SIGTERM reaches the launching process (rank 0) only: Lightning forwards it, every
    rank stops at the next step with exit 143. A SIGKILL of every rank (OOM kill, node loss)
    leaves the last atomic checkpoint. Either way the same command resumes to the architecture
    and metrics of an uninterrupted run."""
    args = ["--algorithm", "enas", "--epochs", "4", "--subset", "256", "--set", "warmup=0",
            "--set", "num_select=2"]
    run_search(tmp_path / "ref", args)
    stopped = run_until_signal(tmp_path / "term", args, signal.SIGTERM)
    assert stopped.returncode == 143, stopped.stdout[-4000:]
    assert stopped.stdout.count("stopped by SIGTERM") == 2  # both ranks
    killed = run_until_signal(tmp_path / "kill", args, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    for cut in (tmp_path / "term", tmp_path / "kill"):
        assert not (cut / "run" / "architecture.json").exists()
        resumed = run_search(cut, args)
        assert "resuming from" in resumed.stdout
        for name in ("architecture.json", "metrics.json"):
            ours, ref = (json.loads((d / "run" / name).read_text()) for d in (cut, tmp_path / "ref"))
            assert ours == ref, (cut.name, name)


def run_until_signal(out: Path, args: list[str], sig: signal.Signals) -> subprocess.CompletedProcess[str]:
    """Start the 2-rank search; once the first checkpoint exists, SIGTERM the launching process
    (what Kubernetes does) or SIGKILL every rank."""
    proc = start_search(out, args)
    ckpt = out / "run" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + TIMEOUT_S
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    return finish(proc, f"did not stop on {sig.name}")
