"""BATS: search on the binary space, distillation, two-stage evaluation, bad settings."""
from __future__ import annotations

import json

import pytest
import torch
from test_binary_ops import _record_operands, check_binary_operands
from torch import nn

from supernas.architecture import Architecture
from supernas.binarize import binary_convs, binary_mode
from supernas.errors import ConfigError, SpaceError
from supernas.mutator import UniformMutator
from supernas.oneshot import ALGORITHMS
from supernas.oneshot.bats import BatsSearch, distillation_loss
from supernas.spaces import architecture_of, build_child, create_space
from supernas.two_stage import StageSettings, run_two_stage, two_stage_plan

SPACE_ARGS = {"channels": 4, "layers": 3, "nodes": 2, "num_classes": 3}


def synthetic(n_batches: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """3 classes of 8x8 images: class k has a bright k-th third (learnable, no download)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        y = torch.randint(0, 3, (12,), generator=g)
        x = 0.3 * torch.randn(12, 3, 8, 8, generator=g)
        for i, k in enumerate(y.tolist()):
            x[i, :, :, 3 * k: 3 * k + 2] += 1.5
        out.append((x, y))
    return out


def search(epochs: int = 2, **settings) -> tuple[BatsSearch, nn.Module]:
    space = create_space("bats", **SPACE_ARGS)
    algo = ALGORITHMS.create("bats", space=space, **settings)
    opts = algo.configure_optimizers()
    train, val = synthetic(2, seed=1), synthetic(2, seed=2)
    for epoch in range(epochs):
        algo.on_epoch_start(epoch, epochs)
        for tb, vb in zip(train, val):
            algo.arch_step(vb, opts, train_batch=tb)
            algo.weight_step(tb, opts)
    return algo, space


@pytest.mark.slow
def test_bats_search_end_to_end_gives_valid_architecture() -> None:
    algo, space = search(temperature=0.5, temperature_end=0.2, temperature_schedule="exponential",
                         warmup_epochs=0)  # no warm-up: every epoch of this short search takes arch steps
    assert binary_mode(space) == "activations"  # binary activations, real weights
    assert algo.temperature == pytest.approx(0.2)
    arch = architecture_of(space, algo.derive())
    assert all(v != "none" for k, v in arch.choices.items() if "_p" in k)
    again = Architecture.from_json(arch.to_json())
    assert again == arch
    child = build_child(again)
    assert child(synthetic(1, seed=3)[0][0]).shape == (12, 3)
    summary = algo.arch_summary()
    assert sum(summary["reduce/n3_p2"].values()) == pytest.approx(1.0)


@pytest.mark.slow
def test_bats_second_order_search_runs() -> None:
    algo, _ = search(epochs=1, order=2, warmup_epochs=0)
    assert algo.order == 2
    assert len(algo.derive()) == 14


def test_distillation_changes_the_weight_loss() -> None:
    space = create_space("bats", **SPACE_ARGS)
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 3))
    algo = BatsSearch(space, teacher=teacher, distill_weight=0.5, distill_temperature=2.0)
    batch = synthetic(1, seed=4)[0]
    plain = algo.loss(batch)
    mixed = algo.weight_loss(batch)
    assert not torch.isclose(plain, mixed)
    mixed.backward()
    assert teacher[1].weight.grad is None  # the teacher is not trained
    logits = torch.randn(5, 3)
    assert float(distillation_loss(logits, logits, 2.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss(logits, torch.randn(5, 3), 2.0)) > 0


def _train(model: nn.Module, stage: StageSettings) -> None:
    opt = stage.optimizer(model)
    model.train()
    for _ in range(stage.epochs):
        for x, y in synthetic(3, seed=5):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()


def test_two_stages_run_and_final_convs_are_binary() -> None:
    space = create_space("bats", **SPACE_ARGS)
    arch = architecture_of(space, UniformMutator(seed=2).bind(space).current)
    plan = two_stage_plan(json.loads(arch.to_json()), stage1_epochs=2, stage2_epochs=1,
                          stage1_lr=5e-3)
    model1 = plan.build_stage1()
    assert binary_mode(model1) == "activations"
    result = run_two_stage(plan, _train, synthetic(2, seed=6))
    assert 0.0 <= result.stage1_accuracy <= 1.0 and 0.0 <= result.stage2_accuracy <= 1.0
    assert binary_mode(result.stage1_model) == "activations"
    assert binary_mode(result.stage2_model) == "full"
    # stage 2 starts from stage 1's weights
    fresh2 = plan.build_stage2(result.stage1_model)
    for (k, a), b in zip(fresh2.state_dict().items(), result.stage1_model.state_dict().values()):
        assert torch.equal(a, b), k
    # the final network's convolutions multiply only +-1 activations by +-alpha weights
    convs = binary_convs(result.stage2_model)
    seen: list = []
    for conv in convs:
        _record_operands(conv, seen)
    result.stage2_model.eval()
    result.stage2_model(synthetic(1, seed=7)[0][0])
    assert len(seen) == len(convs)
    check_binary_operands(seen, convs)
    with torch.no_grad():  # the reported accuracy is the final model's on the validation data
        hits = [(result.stage2_model(x).argmax(-1) == y).float() for x, y in synthetic(2, seed=6)]
    assert result.stage2_accuracy == pytest.approx(float(torch.cat(hits).mean()))


def test_bats_refuses_spaces_without_binary_ops_and_bad_settings() -> None:
    with pytest.raises(SpaceError, match="mlp"):
        ALGORITHMS.create("bats", space=create_space("mlp"))
    space = create_space("bats", **SPACE_ARGS)
    with pytest.raises(ConfigError, match="distill_weight"):
        BatsSearch(space, distill_weight=1.5)
    with pytest.raises(ConfigError, match="teacher"):
        BatsSearch(space, teacher="resnet")
    with pytest.raises(ConfigError, match="temperature"):
        BatsSearch(space, temperature=-0.2)
    with pytest.raises(ConfigError, match="stage1_epochs"):
        two_stage_plan({"choices": {}, "space": "bats"}, stage1_epochs=-1)
    with pytest.raises(ConfigError, match="stage2_lr"):
        two_stage_plan({"choices": {}, "space": "bats"}, stage2_lr=0)
    with pytest.raises(SpaceError, match="binary ops"):
        two_stage_plan({"choices": {"hidden": "h10", "activation": "relu"},
                        "space": "mlp"}).build_stage1()
