"""One-shot ENAS end to end on tiny synthetic data: valid architectures, exact resume, settings."""
from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

from supernas.architecture import validate
from supernas.errors import ConfigError, RegistryError
from supernas.mutables import InputChoice, LayerChoice
from supernas.oneshot import ALGORITHMS
from supernas.space import decisions
from supernas.spaces import create_space

pytestmark = pytest.mark.usefixtures("one_thread")


def _block(act: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Linear(16, 16), act)


class TinySpace(nn.Module):
    """Two op choices, a macro-style skip choice and a pick-one input choice: [B, 8] -> [B, 3]."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(8, 16)
        self.op1 = LayerChoice({"relu": _block(nn.ReLU()), "tanh": _block(nn.Tanh())}, key="op1")
        self.skip = InputChoice(2, None, key="skip")
        self.op2 = LayerChoice({"relu": _block(nn.ReLU()), "id": nn.Identity()}, key="op2")
        self.pick = InputChoice(3, 1, key="pick")
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.stem(x)  # [B, 16]
        h1 = self.op1(h0)
        h2 = self.op2(self.skip([h0, h1]))
        return self.head(self.pick([h0, h1, h2]))  # [B, 3]


def _data(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()  # 3 classes
    return x, y


def _train(algo, steps: int) -> list[dict]:
    opts = algo.configure_optimizers()
    train, val = _data(seed=1), _data(seed=2)
    logs = []
    for _ in range(steps):
        logs.append(algo.arch_step(val, opts))
        logs.append(algo.weight_step(train, opts))
    return logs


def test_end_to_end_gives_valid_architectures() -> None:
    space = TinySpace()
    algo = ALGORITHMS.create("enas", space=space, aggregate=5, arch_samples=2, num_select=4)
    logs = _train(algo, 20)
    assert algo.trainer.updates == 8  # 40 rewarded samples / 5
    assert all(torch.isfinite(torch.tensor(list(m.values()))).all() for m in logs)
    for arch in (algo.derive(), algo.select([_data(seed=3)])):
        validate(arch, decisions(space))
    summary = algo.arch_summary()
    assert set(summary) == {"op1", "skip", "op2", "pick"}
    assert sum(summary["op1"].values()) == pytest.approx(1.0)
    assert algo.eval_forward(_data()[0]).shape == (64, 3)


def test_on_registered_mlp_space() -> None:
    space = create_space("mlp", in_features=8, num_classes=3)
    algo = ALGORITHMS.create("enas", space=space, aggregate=4)
    _train(algo, 8)
    validate(algo.select([_data(seed=4)]), decisions(space))


def test_select_keeps_the_best_candidate() -> None:
    algo = ALGORITHMS.create("enas", space=TinySpace(), num_select=6)
    _train(algo, 5)
    val = [_data(seed=5)]
    chosen = algo.select(val)
    best = algo.evaluate(chosen, val)
    assert best >= algo.evaluate(algo.derive(), val)


def test_state_dict_round_trip_resumes_exactly() -> None:
    a = ALGORITHMS.create("enas", space=TinySpace(), aggregate=3, seed=4)
    _train(a, 4)
    b = ALGORITHMS.create("enas", space=copy.deepcopy(a.space), aggregate=3, seed=11)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    _train(a, 3)
    _train(b, 3)
    for p, q in zip(a.controller.parameters(), b.controller.parameters()):
        assert torch.equal(p, q)
    for p, q in zip(a.space.parameters(), b.space.parameters()):
        assert torch.equal(p, q)


def test_eval_forward_does_not_disturb_sampling() -> None:
    a = ALGORITHMS.create("enas", space=TinySpace(), seed=1)
    b = ALGORITHMS.create("enas", space=copy.deepcopy(a.space), seed=1)
    a.eval_forward(_data()[0])
    assert [a.mutator.sample() for _ in range(3)] == [b.mutator.sample() for _ in range(3)]


@pytest.mark.parametrize("kwargs, field", [
    ({"arch_samples": 0}, "arch_samples"), ({"num_select": 0}, "num_select"),
    ({"weight_lr": 0.0}, "weight_lr"), ({"ctrl_lr": -1.0}, "lr"),
    ({"temperature": 0.0}, "temperature"), ({"momentum": 1.0}, "momentum"),
    ({"weight_lr_min": 0.1}, "weight_lr_min"), ({"weight_lr_min": -1e-3}, "weight_lr_min"),
    ({"warmup": 1.0}, "warmup"), ({"warmup": -0.1}, "warmup"), ({"warmup": True}, "warmup"),
    ({"free_target": 1.0}, "free_target"), ({"free_target": 0.0}, "free_target"), ({"aggregate": 0}, "aggregate"),
    ({"arch_samples": True}, "arch_samples"), ({"sample_buffer": 0}, "sample_buffer"),
])
def test_bad_settings(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ALGORITHMS.create("enas", space=TinySpace(), **kwargs)


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(RegistryError, match="controller_lr"):
        ALGORITHMS.create("enas", space=TinySpace(), controller_lr=0.1)


SMALL_SPACES = {
    "nb201": {"C": 4, "N": 1},
    "enas-macro": {"layers": 4, "channels": 4},
    "enas-micro": {"layers": 1, "channels": 4, "nodes": 3},
    "darts": {"cells": 2, "channels": 4, "nodes": 2},
}


@pytest.mark.parametrize("name", sorted(SMALL_SPACES))
def test_runs_on_the_project_spaces(name: str) -> None:
    """A few steps on each built-in convolutional space (tiny settings, 8x8 images)."""
    space = create_space(name, **SMALL_SPACES[name])
    algo = ALGORITHMS.create("enas", space=space, aggregate=2, arch_samples=1, num_select=2)
    opts = algo.configure_optimizers()
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(4, 3, 8, 8, generator=g), torch.randint(0, 10, (4,), generator=g))
    for _ in range(2):
        algo.arch_step(batch, opts)
        assert torch.isfinite(torch.tensor(algo.weight_step(batch, opts)["loss"]))
    assert algo.trainer.updates == 1
    validate(algo.select([batch]), decisions(space))


def test_arch_step_without_a_baseline_reports_no_baseline(monkeypatch) -> None:
    """Rewards the trainer skips (non-finite) leave no baseline: the step logs the reward only."""
    algo = ALGORITHMS.create("enas", space=TinySpace(), seed=0, warmup=0.0)
    monkeypatch.setattr(algo, "evaluate", lambda choices, batches: float("nan"))
    logs = algo.arch_step(_data(seed=2), algo.configure_optimizers())
    assert algo.trainer.baseline is None
    assert "baseline" not in logs and logs["reward"] != logs["reward"]  # NaN reward, no crash
