"""supernas.statelog / statediff: a JSON state saved as snapshot + append-only log loads back
exactly (values, key order, number types) after any sequence of changes, whether or how often it
was compacted; a torn, corrupt or stale record ends the log there; non-string keys are refused."""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from supernas import statelog
from supernas.statediff import LONG


def evolve(state: dict[str, Any], rng: random.Random) -> None:
    """One random change of the kinds a search state sees (in place, like a live tuner)."""
    kind = rng.randrange(9)
    history, stats = state["history"], state["stats"]
    if kind <= 2:  # a new result (the common event)
        history.append(({"e0": rng.choice("abc"), "e1": rng.randrange(3)}, rng.random()))
    elif kind == 3 and history:  # a provisional failure replaced by its result (a new object;
        i = rng.randrange(len(history))  # items of long lists compare with ==: see statediff)
        history[i] = (history[i][0], None if history[i][1] is not None else rng.random())
    elif kind == 4:  # a new weights string (tensor hex), or the same object kept
        state["weights"] = "hex:" + "".join(rng.choice("0123456789abcdef") for _ in range(40))
    elif kind == 5:  # keys added and removed (pending trials)
        pending = state["pending"]
        if pending and rng.random() < 0.5:
            pending.pop(rng.choice(list(pending)))
        else:
            pending[str(rng.randrange(1000))] = {"e0": "a\n\"quoted\"", "n": float("nan")}
    elif kind == 6:  # a key re-inserted: it moves to the end
        stats["failed"] = stats.pop("failed") + 1
    elif kind == 7:  # a long list rewritten in part (an rng state)
        state["rng"] = [v if rng.random() < 0.9 else rng.randrange(2**32) for v in state["rng"]]
    else:
        stats["succeeded"] = stats["succeeded"] + 1
        state["best"] = rng.choice([-0.0, 0.0, 1, 1.0, True, float("nan"), float("inf"), None])
        state["trimmed"] = state["rng"][: rng.choice([LONG - 1, LONG, 3 * LONG])]


def initial(rng: random.Random) -> dict[str, Any]:
    return {"format": "t/1", "stats": {"failed": 0, "succeeded": 0}, "pending": {},
            "history": [({"e0": "a", "e1": 0}, 0.5)] * 3, "weights": "hex:00",
            "rng": [rng.randrange(2**32) for _ in range(2 * LONG)], "best": None}


def as_text(state: Any) -> str:
    """What a save must reproduce: JSON text (order, int vs float, -0.0, NaN all show)."""
    return json.dumps(state)


def run(directory: Path, steps: int, seed: int, **options: Any) -> list[str]:
    """Evolve and save ``steps`` times; the expected text after each save."""
    rng, log = random.Random(seed), statelog.StateLog(directory, "s", **options)
    state, texts = initial(rng), []
    for _ in range(steps):
        evolve(state, rng)
        log.save(state)
        texts.append(as_text(state))
    log.close()
    return texts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_save_loads_back_exactly(tmp_path: Path, seed: int) -> None:
    rng, log = random.Random(seed), statelog.StateLog(tmp_path, "s")
    state = initial(rng)
    for step in range(200):
        evolve(state, rng)
        log.save(state)
        if step % 9 == 0 or step == 199:  # loading replays the whole log: not after every save
            assert as_text(statelog.load(tmp_path, "s")) == as_text(state)
    assert log.compactions == 1  # only the first save wrote a snapshot: the rest appended


@pytest.mark.parametrize("options", [{"compact_ratio": 0.0, "min_log_bytes": 0},
                                     {"compact_ratio": 0.3, "min_log_bytes": 0}])
def test_compaction_changes_nothing_loaded(tmp_path: Path, options: dict[str, Any]) -> None:
    """Compacting at every save, or now and then, loads the same as never compacting."""
    never, often = tmp_path / "never", tmp_path / "often"
    rng_a, rng_b = random.Random(5), random.Random(5)
    log_a = statelog.StateLog(never, "s", min_log_bytes=1 << 40)
    log_b = statelog.StateLog(often, "s", **options)
    state_a, state_b = initial(rng_a), initial(rng_b)
    for step in range(150):
        evolve(state_a, rng_a)
        evolve(state_b, rng_b)
        log_a.save(state_a)
        log_b.save(state_b)
        if step % 7 == 0 or step == 149:
            assert as_text(statelog.load(never, "s")) == as_text(statelog.load(often, "s"))
    assert log_a.compactions == 1 and log_b.compactions > 10


def test_a_torn_or_corrupt_record_ends_the_log_there(tmp_path: Path) -> None:
    """Truncated anywhere (a process killed mid-write), the log loads the last complete save."""
    texts = run(tmp_path / "full", 60, seed=3)
    log_bytes = statelog.log_path(tmp_path / "full", "s").read_bytes()
    ends = [i + 1 for i, b in enumerate(log_bytes) if b == ord("\n")]
    cut_dir = tmp_path / "cut"
    for cut in sorted({*range(0, len(log_bytes), 97), *ends, *(e - 1 for e in ends)}):
        shutil.copytree(tmp_path / "full", cut_dir, dirs_exist_ok=True)
        statelog.log_path(cut_dir, "s").write_bytes(log_bytes[:cut])
        complete = sum(e <= cut for e in ends)  # records fully written
        assert as_text(statelog.load(cut_dir, "s")) == texts[complete]  # texts[0]: the snapshot
    flipped = bytearray(log_bytes)
    flipped[ends[9] + 20] ^= 0x01  # a corrupt 11th record: the checksum fails
    statelog.log_path(cut_dir, "s").write_bytes(bytes(flipped))
    assert as_text(statelog.load(cut_dir, "s")) == texts[10]


def test_records_of_an_older_snapshot_are_ignored(tmp_path: Path) -> None:
    """Killed after a compaction's rename but before the log was emptied: the old log's records
    name the old snapshot and are not replayed onto the new one."""
    texts = run(tmp_path, 20, seed=4)
    old_log = statelog.log_path(tmp_path, "s").read_bytes()
    log = statelog.StateLog(tmp_path, "s")
    log.compact({"fresh": True})
    log.close()
    statelog.log_path(tmp_path, "s").write_bytes(old_log)
    assert statelog.load(tmp_path, "s") == {"fresh": True} and texts


def test_a_new_log_continues_a_loaded_state(tmp_path: Path) -> None:
    """A restarted writer compacts first (it has no shadow), then appends again."""
    texts = run(tmp_path, 30, seed=6)
    state = statelog.load(tmp_path, "s")
    log = statelog.StateLog(tmp_path, "s")
    log.save(state)
    state["stats"]["succeeded"] += 1
    log.save(state)
    assert as_text(statelog.load(tmp_path, "s")) == as_text(state) != texts[-1]
    assert log.compactions == 1


def test_non_string_keys_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    log = statelog.StateLog(tmp_path, "s")
    log.save({"a": {"b": 1}})
    with pytest.raises(TypeError, match="keys must be strings"):
        log.save({"a": {1: 1}})
    assert statelog.load(tmp_path, "s") == {"a": {"b": 1}}


def test_a_snapshot_of_another_format_is_named(tmp_path: Path) -> None:
    statelog.snapshot_path(tmp_path, "s").write_text(json.dumps({"format": "other/9"}))
    with pytest.raises(ValueError, match="format='other/9'; allowed: 'supernas.statelog/1'"):
        statelog.load(tmp_path, "s")
