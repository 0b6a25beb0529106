"""The NNI ENAS tuner's append-only state (format 3, ``nni_plugins.state``): a process killed at
random points (in appends and in compactions) restarts from exactly the state of its last
complete event and then does exactly what an uninterrupted tuner does; a log cut anywhere loads
a state the uninterrupted run went through; compacting at every event or never makes no
difference to any saved state or to what the tuner suggests.

The events are a fixed script (``tests/nni_persistence_driver.py``); the reference is the same
script run uninterrupted in this process, with the saved state read back after every event."""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nni_plugins import state as nni_state
from nni_plugins.state import load_state
from supernas import statelog

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nni_persistence_driver import FREQUENT_COMPACTION, events, make_tuner, run_event

DRIVER = Path(__file__).resolve().parent / "nni_persistence_driver.py"
TRIALS = 40
NEVER = {"min_log_bytes": 1 << 40}  # one snapshot, then appends only


def saved_text(directory: Path) -> str | None:
    """The saved state as JSON text (key order, number types and NaN all show), or None."""
    saved = load_state(directory)
    return None if saved is None else json.dumps(saved)


def reference(directory: Path, trials: int = TRIALS) -> tuple[list[str | None], dict[int, Any]]:
    """The script run uninterrupted: the saved text after each event, the parameters per event."""
    (tuner, params_of), texts, params = make_tuner(str(directory)), [], {}
    for index, event in enumerate(events(trials)):
        p = run_event(tuner, event, params_of)
        if p is not None:
            params[index] = p
        texts.append(saved_text(directory))
    return texts, params


def continue_from(directory: Path, texts: list[str | None], params: dict[int, Any]) -> None:
    """Resume a tuner from ``directory`` in process and run the rest of the script: every
    parameter and the final state must be the reference's."""
    start = texts.index(saved_text(directory)) + 1
    tuner, params_of = make_tuner(str(directory))
    for index, event in enumerate(events(TRIALS)[start:], start):
        assert run_event(tuner, event, params_of) == params.get(index), f"event {index} differs"
    assert saved_text(directory) == texts[-1]


@pytest.fixture(scope="module")
def often(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str | None], dict[int, Any]]:
    with pytest.MonkeyPatch.context() as mp:
        for key, val in FREQUENT_COMPACTION.items():
            mp.setitem(nni_state.LOG_OPTIONS, key, val)
        return reference(tmp_path_factory.mktemp("often"))


def test_compaction_preserves_every_state_and_suggestion(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        often: tuple[list[str | None], dict[int, Any]]) -> None:
    """Compacting at every event, often, or never: the same saved state after every event (bit
    for bit, as JSON text) and the same parameters."""
    for key, val in {"compact_ratio": 0.0, "min_log_bytes": 0}.items():
        monkeypatch.setitem(nni_state.LOG_OPTIONS, key, val)
    every = reference(tmp_path / "every")
    monkeypatch.setitem(nni_state.LOG_OPTIONS, "min_log_bytes", NEVER["min_log_bytes"])
    never = reference(tmp_path / "never")
    assert every == never == often
    assert statelog.log_path(tmp_path / "never", "supernas_tuner").stat().st_size > 0


def test_a_log_cut_anywhere_resumes_identically(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        often: tuple[list[str | None], dict[int, Any]]) -> None:
    """A process killed mid-append leaves a torn last record: it is dropped, the state is one the
    uninterrupted run saved, and the resumed tuner continues exactly as that run did."""
    monkeypatch.setitem(nni_state.LOG_OPTIONS, "min_log_bytes", NEVER["min_log_bytes"])
    texts, params = reference(tmp_path / "full")
    assert (texts, params) == often
    log = statelog.log_path(tmp_path / "full", "supernas_tuner").read_bytes()
    rng, last = random.Random(0), -1
    cuts = sorted(rng.sample(range(len(log)), 12))
    for n, cut in enumerate(cuts):
        cut_dir = tmp_path / f"cut{n}"
        shutil.copytree(tmp_path / "full", cut_dir)
        statelog.log_path(cut_dir, "supernas_tuner").write_bytes(log[:cut])
        index = texts.index(saved_text(cut_dir))  # a state of the uninterrupted run...
        assert index >= last  # ...no older than that of a shorter log
        last = index
        if n % 4 == 0:
            continue_from(cut_dir, texts, params)


def test_killed_at_random_points_restarts_and_continues_identically(
        tmp_path: Path, often: tuple[list[str | None], dict[int, Any]]) -> None:
    """Real kills (SIGKILL) of a tuner process at random points, each followed by a restart from
    the saved state, until the script is done: every restart resumes from the state of an event
    the uninterrupted run reached (the last complete one: the kill may tear the record of the
    event in progress, which is then done again), and every parameter and the final state are
    the uninterrupted run's."""
    texts, params = often
    rng, start, kills = random.Random(13), 0, 0
    while True:
        proc = subprocess.Popen([sys.executable, str(DRIVER), str(tmp_path), str(start),
                                 str(TRIALS)], stdout=subprocess.PIPE, text=True)
        done = start + rng.randrange(8, 40) if kills < 3 else None
        last_done = start - 1
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "ready":
                continue
            index, _, p = line.strip().partition(" ")
            last_done = int(index)
            assert (json.loads(p) if p else None) == params.get(last_done), f"event {index}"
            if done is not None and last_done >= done:
                break
        if done is not None:  # kill somewhere in the events after the one just printed
            subprocess.run(["sleep", f"{rng.uniform(0, 0.03):.3f}"], check=True)
            proc.kill()
        assert proc.wait(timeout=120) in (0, -9)
        text = saved_text(tmp_path)
        index = -1 if text is None else texts.index(text)
        assert index >= last_done or texts[last_done] == text  # nothing completed is lost
        if done is None:
            assert text == texts[-1]
            break
        kills, start = kills + 1, index + 1
    assert saved_text(tmp_path) == texts[-1]
