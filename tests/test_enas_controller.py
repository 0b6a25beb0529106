"""ENAS LSTM controller: sampling vs scoring, exact distributions, REINFORCE, settings."""
from __future__ import annotations

import itertools
import json
import math

import pytest
import torch

from supernas.architecture import validate
from supernas.controller import EnasController, Reinforce
from supernas.controller import distributions as D
from supernas.controller.batched import sample_batch
from supernas.controller.jsonstate import from_json, optimizer_state_from_json, to_json
from supernas.errors import ConfigError
from supernas.space import Decision

pytestmark = pytest.mark.usefixtures("one_thread")


MIXED = [
    Decision("op0", "layer", choices=("a", "b", "c")),
    Decision("skip", "input", n_candidates=3, n_chosen=None),
    Decision("pick2", "input", n_candidates=4, n_chosen=2),
    Decision("op1", "layer", choices=("a", "b", "c")),
    Decision("op2", "layer", choices=("x", "y")),
]


def _all_archs(decisions: list[Decision]) -> list[dict]:
    keys = [d.key for d in decisions]
    return [dict(zip(keys, combo)) for combo in itertools.product(*(d.options() for d in decisions))]


def test_sampled_log_prob_equals_scored_log_prob() -> None:
    ctrl = EnasController(MIXED)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        drawn = ctrl(generator=gen)
        scored = ctrl(fixed=drawn.choices)
        assert torch.allclose(drawn.log_prob, scored.log_prob, atol=1e-6)
        assert torch.allclose(drawn.entropy, scored.entropy, atol=1e-6)


def test_probabilities_of_every_architecture_sum_to_one() -> None:
    space = [MIXED[0], Decision("s", "input", n_candidates=3, n_chosen=None, allow_empty=True),
             Decision("k", "input", n_candidates=3, n_chosen=2)]
    ctrl = EnasController(space, tanh_constant=None)
    with torch.no_grad():
        total = sum(math.exp(float(ctrl(fixed=a).log_prob)) for a in _all_archs(space))
    assert total == pytest.approx(1.0, abs=1e-5)


def test_set_log_prob_sums_to_one_over_subsets() -> None:
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5, 0.0])
    for k in (1, 2, 3):
        total = sum(math.exp(float(D.set_log_prob(logits, list(c))))
                    for c in itertools.combinations(range(5), k))
        assert total == pytest.approx(1.0, abs=1e-5)


def test_sampling_frequencies_match_probabilities() -> None:
    """Empirical frequencies of 1500 samples vs exp(log_prob); a 5-sigma band per architecture
    (false-failure rate far below 1e-4)."""
    space = [Decision("o", "layer", choices=("a", "b", "c")),
             Decision("i", "input", n_candidates=3, n_chosen=2)]
    ctrl = EnasController(space, tanh_constant=None)
    gen, n = torch.Generator().manual_seed(0), 1500
    counts: dict[str, int] = {}
    with torch.no_grad():
        for _ in range(n):
            key = json.dumps(ctrl(generator=gen).choices, sort_keys=True)
            counts[key] = counts.get(key, 0) + 1
        for arch in _all_archs(space):
            p = math.exp(float(ctrl(fixed=arch).log_prob))
            freq = counts.get(json.dumps(arch, sort_keys=True), 0) / n
            assert abs(freq - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_skip_decision_never_empty_unless_allowed() -> None:
    space = [Decision("s", "input", n_candidates=2, n_chosen=None)]
    ctrl = EnasController(space)
    with torch.no_grad():
        ctrl.attn_v.weight.fill_(-10.0)  # every sigmoid close to 0: empty draws
        ctrl.index_emb.weight.fill_(1.0)
        gen = torch.Generator().manual_seed(0)
        assert all(ctrl(generator=gen).choices["s"] for _ in range(20))


def test_reinforce_raises_probability_of_rewarded_architecture() -> None:
    ctrl = EnasController(MIXED)
    trainer = Reinforce(ctrl, lr=0.05, aggregate=5)
    target = {"op0": "c", "skip": [0, 2], "pick2": [1, 3], "op1": "a", "op2": "y"}
    with torch.no_grad():
        before = float(ctrl(fixed=target).log_prob)
    gen = torch.Generator().manual_seed(0)
    for _ in range(60):
        with torch.no_grad():
            drawn = ctrl(generator=gen)
        reward = sum(drawn.choices[k] == v for k, v in target.items()) / len(target)
        trainer.record(drawn.choices, reward, float(drawn.entropy))
    with torch.no_grad():
        after = float(ctrl(fixed=target).log_prob)
    assert trainer.updates == 12
    assert after > before + 1.0


def test_skip_penalty_pulls_skip_probability_towards_target() -> None:
    space = [Decision("s", "input", n_candidates=4, n_chosen=None, allow_empty=True)]
    ctrl = EnasController(space, skip_target=0.1)
    trainer = Reinforce(ctrl, lr=0.03, aggregate=1, skip_weight=1.0)
    with torch.no_grad():
        before = ctrl(greedy=True, record_probs=True).probs["s"]
    for _ in range(40):  # zero advantage: only the KL term moves the controller
        trainer.update([trainer.loss(ctrl(fixed={"s": []}), 0.0)])
    after = ctrl(greedy=True, record_probs=True).probs["s"]
    assert sum(after) / 4 < sum(before) / 4 - 0.1


def test_greedy_is_deterministic_and_takes_the_argmax() -> None:
    ctrl = EnasController(MIXED)
    with torch.no_grad():
        first = ctrl(greedy=True, record_probs=True)
        second = ctrl(greedy=True)
    assert first.choices == second.choices
    probs = first.probs["op0"]
    assert first.choices["op0"] == "abc"[probs.index(max(probs))]


def test_decisions_with_the_same_ops_share_one_head() -> None:
    ctrl = EnasController(MIXED)
    assert len(ctrl.heads) == 2


def test_json_state_round_trip_is_exact() -> None:
    ctrl = EnasController(MIXED)
    trainer = Reinforce(ctrl, aggregate=1)
    trainer.record({"op0": "a", "skip": [1], "pick2": [0, 1], "op1": "b", "op2": "x"}, 1.0, 0.0)
    state = json.loads(json.dumps(trainer.state_dict()))
    other = Reinforce(EnasController(MIXED), aggregate=1)
    other.load_state_dict(state)
    for a, b in zip(ctrl.parameters(), other.controller.parameters()):
        assert torch.equal(a, b)
    opt = optimizer_state_from_json(to_json(trainer.optimizer.state_dict()))
    assert torch.equal(opt["state"][0]["exp_avg_sq"], trainer.optimizer.state[ctrl.g_emb]["exp_avg_sq"])
    assert torch.equal(from_json(to_json(torch.tensor([1.1], dtype=torch.float64))),
                       torch.tensor([1.1], dtype=torch.float64))


@pytest.mark.parametrize("field, kwargs", [
    ("hidden_size", {"hidden_size": 0}), ("temperature", {"temperature": -1.0}),
    ("tanh_constant", {"tanh_constant": 0.0}), ("skip_target", {"skip_target": 1.5}),
    ("num_layers", {"num_layers": 0}),
])
def test_bad_controller_settings(field: str, kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=field):
        EnasController(MIXED, **kwargs)


@pytest.mark.parametrize("field, kwargs", [
    ("lr", {"lr": 0.0}), ("baseline_decay", {"baseline_decay": 1.0}),
    ("entropy_weight", {"entropy_weight": -1.0}), ("aggregate", {"aggregate": 0}),
    ("grad_clip", {"grad_clip": -5.0}), ("skip_weight", {"skip_weight": -0.1}),
])
def test_bad_reinforce_settings(field: str, kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=field):
        Reinforce(EnasController(MIXED), **kwargs)


def test_batched_sampling_follows_the_same_distribution() -> None:
    """3000 rows of one batched pass vs exp(log_prob) of the unbatched controller; 5-sigma band
    per architecture (false-failure rate far below 1e-4)."""
    space = [Decision("o", "layer", choices=("a", "b", "c")),
             Decision("i", "input", n_candidates=3, n_chosen=2),
             Decision("s", "input", n_candidates=2, n_chosen=None, allow_empty=True),
             Decision("o2", "layer", choices=("a", "b", "c"))]
    ctrl = EnasController(space, tanh_constant=None)
    with torch.no_grad():  # make the policy far from uniform and context dependent
        for p in ctrl.parameters():
            p.mul_(8.0)
    n = 3000
    rows = sample_batch(ctrl, n, torch.Generator().manual_seed(0))
    counts: dict[str, int] = {}
    for arch in rows:
        key = json.dumps(arch, sort_keys=True)
        counts[key] = counts.get(key, 0) + 1
    with torch.no_grad():
        for arch in _all_archs(space):
            p = math.exp(float(ctrl(fixed=arch).log_prob))
            freq = counts.get(json.dumps(arch, sort_keys=True), 0) / n
            assert abs(freq - p) < 5 * math.sqrt(p * (1 - p) / n) + 1e-9


def test_batched_sampling_gives_valid_architectures() -> None:
    ctrl = EnasController(MIXED)
    with torch.no_grad():
        ctrl.attn_v.weight.fill_(-10.0)  # skip sigmoids near 0: empty draws must be fixed
        ctrl.index_emb.weight.fill_(1.0)
    for arch in sample_batch(ctrl, 50, torch.Generator().manual_seed(0)):
        validate(arch, MIXED)
        assert arch["skip"]
