"""The append-only state (``katib_suggestions/state.py``): compaction changes nothing, and a
service killed at any point of a state write, restarted on the same directory and sent the
request again (as Katib does), continues exactly like one that never stopped.

A kill during a write leaves one of a few states on disk, because every write is one ``write``
of a framed record (``record_log.py``) or a snapshot written to a temporary file and renamed
before the log is emptied: the log holding a prefix of the record being appended, or, during a
compaction, a partly written temporary file, or the new snapshot beside the old log. Each test
run picks calls and cut points at random (seeded, ids ``seed0``...), builds that state on disk,
restarts a real gRPC server on it and compares every later reply and the final state with an
uninterrupted run's, bit for bit (the pickled ``state_dict``).
"""
from __future__ import annotations

import copy
import hashlib
import random
import shutil
from pathlib import Path

import grpc
import pytest

from katib_suggestions.server import build_server
from katib_suggestions.state import StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm

ROUNDS = 8
DARTS_NAS = {"graphConfig": {"numLayers": 3}, "operations": [
    {"operationType": "separable_convolution", "parameters": [
        {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}}]},
    {"operationType": "skip_connection"}]}
SETTINGS = {"supernas-enas": {"suggestion_trial_dir": "/opt/t", "batch_size": "2"},
            "supernas-evolution": {"population_size": "3", "sample_size": "2"}}
ALGOS = ["enas", "supernas-enas", "supernas-evolution", "supernas-random", "supernas-darts"]


def crd_for(algorithm: str) -> dict:
    crd = with_algorithm(MINIMAL_ENAS, algorithm, SETTINGS.get(algorithm), exp_name="log-exp")
    if "darts" in algorithm:
        crd["spec"]["nasConfig"] = copy.deepcopy(DARTS_NAS)
    return crd


def outcome(sim: KatibSim, name: str) -> None:
    """A result that follows from the trial's assignments (one in four fails)."""
    digest = hashlib.sha256(str(sim.trials[name].spec.parameter_assignments).encode()).digest()
    if digest[0] % 4 == 0:
        sim.finish(name, C.FAILED)
    else:
        sim.finish(name, C.SUCCEEDED, f"{digest[1] / 255:.4f}")


class Run:
    """One experiment against a server on ``state`` that can be restarted between calls."""

    def __init__(self, state: Path, algorithm: str, compact_every: int) -> None:
        self.state, self.algorithm, self.compact_every = state, algorithm, compact_every
        self.server: grpc.Server | None = None
        self.channel: grpc.Channel | None = None
        self.sim = KatibSim(self.restart(), crd_for(algorithm))

    def restart(self) -> grpc.Channel:
        self.stop()
        self.server, port = build_server(self.state, "127.0.0.1:0", compact_every=self.compact_every)
        self.server.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        if hasattr(self, "sim"):
            self.sim.stub = KatibSim(self.channel, crd_for(self.algorithm)).stub
        return self.channel

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.server is not None:
            self.server.stop(None)

    def round(self) -> list[tuple[str, ...]]:
        """Ask for two trials, then finish the oldest running one; the reply as plain tuples."""
        reply = self.sim.call(2)
        running = self.sim.running()
        outcome(self.sim, running[0])
        return [(pa.trial_name, *(f"{a.name}={a.value}" for a in pa.assignments))
                for pa in reply.parameter_assignments]

    def state_bytes(self) -> str:
        """The restored ``state_dict`` as text: ``repr`` writes every float exactly (shortest
        round-trip form) and keeps dict order, so equal text is the same state bit for bit
        (pickled bytes would also depend on which objects happen to be shared)."""
        return repr(StateStore(self.state).load("log-exp", self.algorithm))


def uninterrupted(tmp: Path, algorithm: str, compact_every: int) -> tuple[list, str]:
    run = Run(tmp, algorithm, compact_every)
    try:
        replies = [run.round() for _ in range(ROUNDS)]
        return replies, run.state_bytes()
    finally:
        run.stop()


@pytest.mark.parametrize("algorithm", ALGOS)
def test_compaction_preserves_behaviour_bit_for_bit(tmp_path: Path, algorithm: str) -> None:
    """Compacting after every call, every third call, or never gives the same replies and the
    same state; so does restarting before every call (the state replayed from the log)."""
    never, state_never = uninterrupted(tmp_path / "never", algorithm, 10**9)
    for every in (1, 3):
        replies, state = uninterrupted(tmp_path / f"every{every}", algorithm, every)
        assert replies == never and state == state_never
    run = Run(tmp_path / "restarts", algorithm, 3)
    try:
        replies = []
        for _ in range(ROUNDS):
            run.restart()
            replies.append(run.round())
        assert replies == never and run.state_bytes() == state_never
    finally:
        run.stop()
    log = StateStore(tmp_path / "never").log_path("log-exp", algorithm)
    assert log.stat().st_size > 0  # the never-compacting run did keep its calls in the log


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def killed_during_write(before: dict[str, bytes], after: dict[str, bytes], directory: Path,
                        rng: random.Random) -> str:
    """Put on disk a state that a kill during the write from ``before`` to ``after`` leaves."""
    snap = next(n for n in after if n.endswith(".state"))
    log = snap.removesuffix(".state") + ".log"
    for name in files(directory):
        (directory / name).unlink()
    compacted = before.get(snap) != after[snap]
    if not compacted:  # an append: the log holds a prefix of the new record
        old, new = before.get(log, b""), after[log]
        cut = rng.randrange(len(old), len(new))
        chosen, how = {**after, log: new[:cut]}, f"append cut at byte {cut - len(old)} of {len(new) - len(old)}"
    elif rng.random() < 0.5 and snap in before:  # snapshot half-written to its temporary file
        tmp = f".{snap}.killed.tmp"
        chosen = {**before, tmp: after[snap][: rng.randrange(len(after[snap]))]}
        how = "compaction killed while writing the snapshot"
    else:  # snapshot renamed in place, log not emptied yet
        chosen = {**{k: v for k, v in before.items() if k != snap}, snap: after[snap]}
        how = "compaction killed between the snapshot and emptying the log"
    for name, data in chosen.items():
        (directory / name).write_bytes(data)
    return how


@pytest.mark.parametrize("seed", range(3), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("algorithm", ["enas", "supernas-enas", "supernas-darts"])
def test_kill_during_a_state_write_then_retry_continues_identically(
        tmp_path: Path, algorithm: str, seed: int) -> None:
    expected, state = uninterrupted(tmp_path / "ref", algorithm, 3)
    rng = random.Random(seed)
    kills = sorted(rng.sample(range(ROUNDS), 3))
    run = Run(tmp_path / "run", algorithm, 3)
    exp_dir = tmp_path / "run" / "log-exp"
    try:
        replies, hows = [], []
        for i in range(ROUNDS):
            if i in kills:
                before = files(exp_dir) if exp_dir.is_dir() else {}
                run.sim.call(2, create=False)  # the write happens; the reply is lost in the kill
                run.stop()
                hows.append(killed_during_write(before, files(exp_dir), exp_dir, rng))
                run.restart()
            replies.append(run.round())  # Katib sends the request again
        assert replies == expected, hows
        assert run.state_bytes() == state, hows
    finally:
        run.stop()


def test_a_torn_log_tail_is_cut_and_the_next_append_follows_the_last_whole_record(
        tmp_path: Path) -> None:
    run = Run(tmp_path, "supernas-random", 100)
    try:
        for _ in range(3):
            run.round()
        log = StateStore(tmp_path).log_path("log-exp", "supernas-random")
        whole = log.read_bytes()
        run.stop()
        log.write_bytes(whole + b"\x00\x00\x01\x00garbage")  # a record torn after its header
        run.restart()
        run.round()
        assert log.read_bytes().startswith(whole) and b"garbage" not in log.read_bytes()
        doc = StateStore(tmp_path).read("log-exp", "supernas-random")
        assert doc is not None and [r["seq"] for r in doc["log"]] == [0, 1, 2]
    finally:
        run.stop()
    shutil.rmtree(tmp_path / "log-exp")
