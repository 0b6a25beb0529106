"""SPOS and random one-shot: uniform single-path training, constrained evolution, BN recalibration."""
from __future__ import annotations

import random

import pytest
import torch
from spos_helpers import TinySpace, synthetic_batches
from torch import nn

from supernas.architecture import validate
from supernas.cost import count_macs, count_parameters
from supernas.errors import ConfigError, RegistryError
from supernas.freeze import freeze
from supernas.mutator import sample_uniform
from supernas.oneshot import ALGORITHMS
from supernas.oneshot.constraints import CostLimit
from supernas.oneshot.supernet_eval import evaluate_path, recalibrate_bn
from supernas.space import Decision, decisions
from supernas.spaces import SPACES, create_space
from supernas.strategies import run_strategy
from supernas.strategies.constrained_evolution import ConstrainedEvolution

SMALL_EVOLUTION = {"population": 6, "iterations": 3, "top_k": 3, "mutations": 3, "crossovers": 3}


def train(algo, batches, epochs: int = 2) -> dict[str, float]:
    opts = algo.configure_optimizers()
    metrics: dict[str, float] = {}
    for epoch in range(epochs):
        algo.on_epoch_start(epoch, epochs)
        for batch in batches:
            metrics = algo.weight_step(batch, opts)
    return metrics


def params_of(space: nn.Module, choices: dict) -> int:
    return count_parameters(freeze(space, choices))


@pytest.mark.parametrize("name,settings", [("spos", SMALL_EVOLUTION), ("random", {"num_samples": 8})])
def test_end_to_end_gives_valid_best_candidate(name: str, settings: dict) -> None:
    space = TinySpace()
    algo = ALGORITHMS.create(name, space=space, seed=1, lr_schedule="constant", **settings)
    metrics = train(algo, synthetic_batches(8))
    assert set(metrics) == {"loss", "accuracy"} and metrics["loss"] == metrics["loss"]
    best = algo.select(synthetic_batches(2, seed=7))
    assert validate(best, decisions(space)) == best
    assert algo.derive() == best
    scored = {str(sorted(r["choices"].items())): r["accuracy"] for r in algo.history}
    assert len(scored) == len(algo.history) >= 2  # every candidate scored once
    assert scored[str(sorted(best.items()))] == max(scored.values())


def test_training_learns_the_synthetic_task() -> None:
    space = TinySpace()
    algo = ALGORITHMS.create("spos", space=space, lr=0.1, **SMALL_EVOLUTION)
    train(algo, synthetic_batches(8), epochs=4)
    algo.select(synthetic_batches(2, seed=7))
    assert max(r["accuracy"] for r in algo.history) > 0.5  # chance is 0.25


@pytest.mark.parametrize("name,settings", [("spos", SMALL_EVOLUTION), ("random", {"num_samples": 16})])
def test_parameter_limit_is_honoured_by_result_and_every_candidate(name: str, settings: dict) -> None:
    space = TinySpace()
    limit = params_of(space, {"b1": "conv3", "b2": "conv3"})  # any conv5 path is over it
    algo = ALGORITHMS.create(name, space=space, max_params=limit, **settings)
    train(algo, synthetic_batches(4), epochs=1)
    best = algo.select(synthetic_batches(2, seed=7))
    assert params_of(space, best) <= limit
    assert algo.history
    for record in algo.history:
        assert "conv5" not in record["choices"].values()
        assert record["params"] == params_of(space, record["choices"]) <= limit


def test_mac_limit_is_honoured() -> None:
    space = TinySpace()
    limit = count_macs(freeze(space, {"b1": "conv1", "b2": "conv3"}), (1, 8, 8))
    algo = ALGORITHMS.create("random", space=space, max_macs=limit, input_size=[1, 8, 8],
                             num_samples=16)
    algo.select(synthetic_batches(1))
    assert algo.history
    for record in algo.history:
        assert record["macs"] == count_macs(freeze(space, record["choices"]), (1, 8, 8)) <= limit
        assert "conv5" not in record["choices"].values()


@pytest.mark.parametrize("name", ["spos", "random", "zero-shot"])
def test_impossible_limit_is_refused_naming_it(name: str) -> None:
    space = TinySpace()
    cheapest = params_of(space, {"b1": "skip", "b2": "skip"})
    with pytest.raises(ConfigError) as err:
        ALGORITHMS.create(name, space=space, max_params=cheapest - 1)
    assert f"max_params={cheapest - 1}" in str(err.value)
    assert f"'params': {cheapest}" in str(err.value)  # the cheapest cost found is reported


def test_tight_limit_found_by_cost_descent() -> None:
    space = TinySpace()
    cheapest = params_of(space, {"b1": "skip", "b2": "skip"})
    algo = ALGORITHMS.create("random", space=space, max_params=cheapest, num_samples=4, seed=3)
    assert algo.select(synthetic_batches(1)) == {"b1": "skip", "b2": "skip"}


@pytest.mark.parametrize("settings,field", [
    ({"population": 0}, "population"), ({"mutation_prob": 1.5}, "mutation_prob"),
    ({"lr": -1.0}, "lr"), ({"lr_schedule": "cosine"}, "lr_schedule"), ({"bn_batches": -1}, "bn_batches"),
    ({"max_params": -5}, "max_params"), ({"max_macs": 1000}, "input_size"),
    ({"max_macs": 10, "input_size": [1, 0]}, "input_size"), ({"top_k": 1.5}, "top_k"),
])
def test_bad_spos_settings_name_the_field(settings: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=f"{field}="):
        ALGORITHMS.create("spos", space=TinySpace(), **settings)


def test_bad_random_settings() -> None:
    with pytest.raises(ConfigError, match="num_samples=-1"):
        ALGORITHMS.create("random", space=TinySpace(), num_samples=-1)
    with pytest.raises(RegistryError, match="populaton"):
        ALGORITHMS.create("spos", space=TinySpace(), populaton=3)
    algo = ALGORITHMS.create("spos", space=TinySpace())
    with pytest.raises(ConfigError, match="batches"):
        algo.select([])


def test_weight_step_leaves_unsampled_candidates_untouched() -> None:
    space = TinySpace()
    algo = ALGORITHMS.create("spos", space=space, weight_decay=0.1)
    opts = algo.configure_optimizers()
    before = {k: v.clone() for k, v in space.state_dict().items()}
    sampled: set[str] = set()
    for batch in synthetic_batches(3):
        algo.weight_step(batch, opts)
        sampled.update(f"{k}.candidates.{v}" for k, v in algo.mutator.current.items())
    changed = {".".join(k.split(".")[:3]) for k, v in space.state_dict().items()
               if ".candidates." in k and not torch.equal(v, before[k])}
    assert changed  # the sampled conv paths trained
    assert changed <= sampled  # momentum / weight decay did not move the others
    assert len(sampled) < 8  # (with this seed) some candidates were never sampled


def test_linear_lr_decay() -> None:
    algo = ALGORITHMS.create("spos", space=TinySpace(), lr=0.2)
    opt = algo.configure_optimizers()["weights"]
    algo.on_epoch_start(5, 10)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_state_round_trip_continues_identically() -> None:
    batches = synthetic_batches(4)
    space = TinySpace()
    algo = ALGORITHMS.create("spos", space=space, **SMALL_EVOLUTION)
    train(algo, batches, epochs=1)
    state = algo.state_dict()
    space2 = TinySpace()  # a new process: fresh supernet, trained weights loaded
    space2.load_state_dict(space.state_dict())
    restored = ALGORITHMS.create("spos", space=space2, **SMALL_EVOLUTION)
    restored.load_state_dict(state)
    assert [restored.mutator.sample() for _ in range(5)] == [algo.mutator.sample() for _ in range(5)]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(algo.bn_batches, restored.bn_batches))
    held_out = synthetic_batches(2, seed=7)
    assert restored.select(held_out) == algo.select(held_out)
    assert [r["accuracy"] for r in restored.history] == [r["accuracy"] for r in algo.history]


def test_eval_forward_uses_derived_path_without_consuming_the_sampler() -> None:
    space = TinySpace()
    algo = ALGORITHMS.create("spos", space=space)
    train(algo, synthetic_batches(2), epochs=1)
    state = algo.mutator.rng.getstate()
    before = {k: v.clone() for k, v in space.state_dict().items()}
    x = synthetic_batches(1, seed=4)[0][0]
    space.eval()
    with torch.no_grad():
        out = algo.eval_forward(x)
        child = freeze(space, algo.derive()).train()  # BN on the batch's own statistics
        assert torch.allclose(out, child(x), atol=1e-5)
    assert algo.mutator.rng.getstate() == state
    assert not space.training
    assert all(torch.equal(v, before[k]) for k, v in space.state_dict().items())


def test_recalibration_averages_batches_and_leaves_supernet_unchanged() -> None:
    space = TinySpace()
    algo = ALGORITHMS.create("spos", space=space)
    calib = synthetic_batches(3)
    before = {k: v.clone() for k, v in space.state_dict().items()}
    acc = evaluate_path(space, algo.mutator, {"b1": "conv3", "b2": "skip"}, calib, calib)
    assert 0.0 <= acc <= 1.0
    assert all(torch.equal(v, before[k]) for k, v in space.state_dict().items())
    algo.mutator.set_current({"b1": "conv3", "b2": "skip"})
    recalibrate_bn(space, calib)
    stem_bn = space.stem[1]
    with torch.no_grad():
        means = [space.stem[0](x).mean(dim=(0, 2, 3)) for x, _ in calib]
    assert torch.allclose(stem_bn.running_mean, torch.stack(means).mean(0), atol=1e-5)


def test_without_recalibration_candidates_use_running_statistics() -> None:
    space = TinySpace()
    algo = ALGORITHMS.create("random", space=space, bn_batches=0, num_samples=3)
    train(algo, synthetic_batches(2), epochs=1)
    held_out = synthetic_batches(1, seed=5)
    algo.select(held_out)
    x, y = held_out[0]
    for record in algo.history:
        net = freeze(space, record["choices"]).eval()
        assert record["accuracy"] == float((net(x).argmax(1) == y).float().mean())


class _CountLimit:
    """A stand-in cost limit: at most ``k`` decisions may take ``op``."""

    def __init__(self, op: str, k: int) -> None:
        self.op, self.k = op, k

    def fits(self, choices: dict) -> bool:
        return list(choices.values()).count(self.op) <= self.k


def test_evolution_beats_its_random_start_and_respects_feasibility() -> None:
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    space_decisions = [Decision(f"e{i}", "layer", choices=ops) for i in range(6)]
    target = {f"e{i}": ops[i % 3] for i in range(6)}

    def fitness(c: dict) -> float:  # 1 per match, 1.5 per conv3x3: unconstrained best = 9.0
        return sum(c[k] == v for k, v in target.items()) + 1.5 * list(c.values()).count(ops[3])

    limit = _CountLimit(ops[3], 2)  # constrained best: 2 conv3x3 + 4 matches = 7.0
    evo = ConstrainedEvolution(space_decisions, limit=limit, rng=random.Random(0), population=20,
                               iterations=10)
    best, score = run_strategy(evo, fitness)
    assert all(limit.fits(c) for c, _ in evo.history)
    first_population = max(s for _, s in evo.history[:20])
    assert score == max(s for _, s in evo.history) > first_population
    assert score == 7.0 and list(best.values()).count(ops[3]) == 2  # ~1e-3 per random draw


SMALL_SPACES = {"mlp": {}, "nb201": {"C": 4, "N": 1}, "darts": {"cells": 3, "channels": 4},
                "enas-macro": {"layers": 3, "channels": 4}, "enas-micro": {"layers": 1, "channels": 4},
                "bats": {"channels": 4, "layers": 3}}


@pytest.mark.parametrize("name", SPACES.names())
def test_costs_on_the_supernet_equal_costs_of_the_frozen_child(name: str) -> None:
    """CostLimit measures without copying the supernet; it must agree with ``supernas.cost`` on
    the frozen child for every registered space (3 seeded architectures each)."""
    space = create_space(name, **SMALL_SPACES.get(name, {}))
    input_size = [64] if name == "mlp" else [3, 8, 8]
    limit = CostLimit(space, max_macs=10**12, input_size=input_size)
    rng = random.Random(0)
    for _ in range(3):
        arch = sample_uniform(decisions(space), rng)
        child = freeze(space, arch)
        assert limit.cost(arch) == {"params": count_parameters(child),
                                    "macs": count_macs(child, input_size)}


def test_cost_limit_describes_and_caches() -> None:
    space = TinySpace()
    limit = CostLimit(space, max_params=10**6, max_macs=10**7, input_size=[1, 8, 8])
    arch = sample_uniform(decisions(space), random.Random(0))
    assert limit.cost(arch) == limit.cost(arch) and limit.fits(arch)
    assert "max_params=1000000" in limit.describe() and "input_size=[1, 8, 8]" in limit.describe()
