"""supernas-enas shares the supernet with bounded disk: trials get a hard link to the shared file
(no copy), a finished trial's directory is removed once the service has seen it, and a full
volume degrades with a warning instead of failing the call."""
from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from katib_suggestions import weights
from katib_suggestions.server import build_server
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm

CRD = with_algorithm(MINIMAL_ENAS, "supernas-enas", {"suggestion_trial_dir": "/opt/t"}, exp_name="disk")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[grpc.Channel, Path]]:
    server, port = build_server(tmp_path / "state", "127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch, tmp_path / "state/disk"
    server.stop(None)


def run_trials(sim: KatibSim, exp_dir: Path, weights_size: int = 4096) -> None:
    """Every running trial publishes weights (its name, padded) and succeeds, or fails."""
    for i, name in enumerate(sim.running()):
        if i % 3 == 2:
            sim.finish(name, C.FAILED)
            continue
        (exp_dir / name / weights.OUT_FILE).write_bytes(name.encode().ljust(weights_size, b"."))
        sim.finish(name, C.SUCCEEDED, "0.5")


def test_trial_directories_are_pruned_and_weights_are_linked(served: tuple) -> None:
    channel, exp_dir = served
    sim = KatibSim(channel, CRD)
    for _ in range(12):
        reply = sim.call(3)
        new = [pa.trial_name for pa in reply.parameter_assignments]
        dirs = sorted(p.name for p in exp_dir.iterdir() if p.is_dir() and p.name != weights.SHARED)
        assert dirs == sorted(new)  # only the running trials have a directory
        shared = exp_dir / weights.SHARED / weights.IN_FILE
        if shared.is_file():
            for name in new:  # the same file, not a copy
                assert os.path.samefile(exp_dir / name / weights.IN_FILE, shared)
        run_trials(sim, exp_dir)
    sim.call(0)
    assert [p.name for p in exp_dir.iterdir() if p.is_dir()] == [weights.SHARED]
    last_success = [n for n in sim.order if sim.trials[n].status.condition == C.SUCCEEDED][-1]
    assert (exp_dir / weights.SHARED / weights.IN_FILE).read_bytes().startswith(last_success.encode())
    used = sum(f.stat().st_size for f in exp_dir.rglob("*.pt"))
    assert used <= 4096  # one supernet on disk, not one per trial


def test_without_hard_links_trials_get_a_copy(served: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    channel, exp_dir = served

    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    sim = KatibSim(channel, CRD)
    sim.call(1)
    run_trials(sim, exp_dir)
    new = sim.call(1).parameter_assignments[0].trial_name
    assert (exp_dir / new / weights.IN_FILE).read_bytes().startswith(sim.order[0].encode())
    assert not os.path.samefile(exp_dir / new / weights.IN_FILE, exp_dir / weights.SHARED / weights.IN_FILE)


def test_full_volume_degrades_with_a_warning(served: tuple, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    channel, exp_dir = served
    sim = KatibSim(channel, CRD)
    sim.call(2)
    run_trials(sim, exp_dir)  # two trials to adopt and prune, on a volume that is now full

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    for target, name in [(os, "link"), (shutil, "copyfile"), (shutil, "rmtree"), (Path, "mkdir")]:
        monkeypatch.setattr(target, name, full)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert len(sim.call(2).parameter_assignments) == 2  # never UNKNOWN
            for name in sim.running():
                sim.finish(name, C.FAILED)
    assert "the volume is full" in caplog.text and "the search goes on" in caplog.text
    for consequence in ("update is not adopted", "starts from fresh weights", "is left on the volume"):
        assert caplog.text.count(consequence) == 1, consequence  # once, not on every call
    monkeypatch.undo()
    new = sim.call(1).parameter_assignments[0].trial_name  # space again: back to normal
    assert (exp_dir / new).is_dir()
