"""Per-call cost independent of the history: incremental duplicate-check keys, best result and
reward ranks in the strategies, cached/hex-encoded controller state, ENAS update reusing the
observe pass, and the Katib service skipping state writes when a call changed nothing. Each
incremental structure is checked against a recomputation from the full history."""
from __future__ import annotations

import json
import random
from pathlib import Path

import grpc
import pytest
import torch

from katib_suggestions.server import build_server
from katib_suggestions.state import StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm
from supernas.controller import EnasController, Reinforce
from supernas.controller.jsonstate import from_json, to_json
from supernas.space import Decision
from supernas.strategies import STRATEGIES
from supernas.strategies.dedupe import arch_key

SPACE = ([Decision(f"op{i}", "layer", choices=("a", "b", "c")) for i in range(3)]
         + [Decision("skip", "input", n_candidates=3, n_chosen=None),
            Decision("pick", "input", n_candidates=4, n_chosen=2)])
NAMES = STRATEGIES.names()


pytestmark = pytest.mark.usefixtures("one_thread")


def _drive(s, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    for _ in range(n):
        for arch in s.suggest(rng.choice([1, 2])):
            r = rng.random()
            s.observe(arch, None if r < 0.15 else round(r, 1))  # ties and failures


def _recomputed_keys(s) -> set[str]:
    return {arch_key(a) for a in s.suggested} | {arch_key(a) for a, _ in s.history}


def _recomputed_best(s):
    done = [(a, r) for a, r in s.history if r is not None]
    return max(done, key=lambda ar: ar[1]) if done else None


@pytest.mark.parametrize("name", NAMES)
def test_incremental_keys_and_best_match_the_history_live_and_after_load(name: str) -> None:
    s = STRATEGIES.create(name, space_decisions=SPACE, seed=1)
    assert s.best() is None and s.seen_keys == set()
    _drive(s, 25)
    s.observe({"op0": "a", "op1": "a", "op2": "a", "skip": [2], "pick": [0, 1]}, 0.3)  # foreign
    assert s.seen_keys == _recomputed_keys(s)
    assert s.best() == _recomputed_best(s)
    restored = STRATEGIES.create(name, space_decisions=SPACE, seed=7)
    restored.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert restored.seen_keys == s.seen_keys and restored.best() == s.best()
    assert restored.suggest(6) == s.suggest(6)
    assert restored.seen_keys == s.seen_keys == _recomputed_keys(s)


def test_enas_reward_log_matches_a_sorted_history() -> None:
    s = STRATEGIES.create("enas", space_decisions=SPACE, seed=3, batch_size=4)
    _drive(s, 30, seed=4)
    done = [r for _, r in s.history if r is not None]
    assert s.rewards.ordered == done and s.rewards.sorted == sorted(done)
    restored = STRATEGIES.create("enas", space_decisions=SPACE, seed=3, batch_size=4)
    restored.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert restored.rewards.ordered == done and restored.rewards.sorted == sorted(done)


@pytest.mark.parametrize("tensor", [torch.randn(3, 5), torch.randn(2, dtype=torch.float64),
                                    torch.tensor(7.0), torch.arange(4), torch.tensor([True, False]),
                                    torch.randn(3).bfloat16(), torch.zeros(0, 2)])
def test_tensor_json_round_trip_is_exact(tensor: torch.Tensor) -> None:
    back = from_json(json.loads(json.dumps(to_json(tensor))))
    assert back.dtype == tensor.dtype and back.shape == tensor.shape and torch.equal(back, tensor)


def test_tensor_json_reads_the_older_list_form() -> None:
    t = torch.randn(2, 3)
    old = {"__tensor__": t.reshape(-1).tolist(), "dtype": "float32", "shape": [2, 3]}
    assert torch.equal(from_json(old), t)


def test_update_with_the_callers_passes_equals_recomputed_passes() -> None:
    archs = [{"op0": c, "op1": "b", "op2": "a", "skip": [0], "pick": [1, 3]} for c in "abcab"]
    weights = []
    for reuse in (True, False):
        torch.manual_seed(0)
        ctrl = EnasController(SPACE, hidden_size=16)
        trainer = Reinforce(ctrl, lr=0.05, aggregate=5)
        for i, arch in enumerate(archs):
            sample = ctrl(fixed=arch)
            trainer.record(arch, i / 5, float(sample.entropy.detach()),
                           sample=sample if reuse else None)
        assert trainer.updates == 1
        weights.append([p.detach().clone() for p in ctrl.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights))


def test_trainer_state_follows_any_change_of_the_weights() -> None:
    ctrl = EnasController(SPACE, hidden_size=8)
    trainer = Reinforce(ctrl)
    first = trainer.state_dict()
    assert trainer.state_dict()["controller"] == first["controller"]  # unchanged: same encoding
    with torch.no_grad():
        next(ctrl.parameters()).add_(1.0)  # a change made outside the trainer
    changed = from_json(trainer.state_dict()["controller"])
    assert all(torch.equal(changed[k], v) for k, v in ctrl.state_dict().items())
    assert trainer.state_dict()["controller"] != first["controller"]


def test_choices_only_pass_draws_the_same_choices_and_random_numbers() -> None:
    torch.manual_seed(0)
    ctrl = EnasController(SPACE, hidden_size=16)
    full, fast = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    with torch.no_grad():
        for _ in range(20):
            assert ctrl(generator=full).choices == ctrl(generator=fast, score=False).choices
    assert torch.equal(full.get_state(), fast.get_state())


def test_service_writes_no_state_when_a_call_changes_nothing(tmp_path: Path) -> None:
    server, port = build_server(tmp_path, "127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            sim = KatibSim(ch, with_algorithm(MINIMAL_ENAS, "supernas-random"))
            sim.call(2)
            sim.finish(sim.running()[0], C.SUCCEEDED, "0.5")
            sim.call(0)  # observes the finished trial: a write
            store = StateStore(tmp_path)
            path = store.path(sim.experiment.name, "supernas-random")
            log = store.log_path(sim.experiment.name, "supernas-random")  # appended to per call
            before = (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes(), log.read_bytes())
            sim.call(0)  # nothing new
            assert (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes(), log.read_bytes()) == before
            sim.call(1)  # a suggestion: a write (one more log record)
            assert len(log.read_bytes()) > len(before[3])
    finally:
        server.stop(None)
    state = StateStore(tmp_path).load(sim.experiment.name, "supernas-random")
    assert len(state["strategy"]["suggested"]) == 3 and len(state["seen"]) == 1
