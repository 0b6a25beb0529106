"""BATS as published: op order and groups (authors' code), temperature defaults, a search that
moves, and the Real-to-Binary distillation of the two-stage evaluation."""
from __future__ import annotations

import inspect
import math

import pytest
import torch
from test_bats import SPACE_ARGS, synthetic
from torch import nn

from supernas.binarize import binary_convs, binary_mode
from supernas.errors import ConfigError
from supernas.mutator import UniformMutator
from supernas.oneshot import ALGORITHMS
from supernas.oneshot.bats import BatsSearch, distillation_loss
from supernas.oneshot.darts import DartsSearch
from supernas.oneshot.strength import decision_strength
from supernas.ops import create_op
from supernas.ops.binary import BinaryConv2d, ChannelShuffle, sign_ste
from supernas.spaces import architecture_of, create_space
from supernas.two_stage import (
    Distillation,
    StageSettings,
    attention_map,
    run_two_stage,
    transfer_points,
    two_stage_plan,
)


def _call_order(op: nn.Module, x: torch.Tensor) -> list[str]:
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda _m, _i, _o, n=name: order.append(n))
             for name, m in op.named_children()]
    op(x)
    for h in hooks:
        h.remove()
    return order


@pytest.mark.parametrize("stride", [1, 2])
def test_binary_op_normalises_before_the_sign_and_shuffles_last(stride: int) -> None:
    op = create_op("bin_group_conv_3x3", 16, stride).train()
    x = 5.0 + 3.0 * torch.randn(4, 16, 6, 6)  # far from zero mean / unit variance
    assert _call_order(op, x) == ["bn", "conv", "act", "shuffle"]
    assert isinstance(op.bn, nn.BatchNorm2d) and isinstance(op.conv, BinaryConv2d)
    assert isinstance(op.act, nn.PReLU) and isinstance(op.shuffle, ChannelShuffle)
    seen: list[torch.Tensor] = []
    op.conv.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    operands: list[torch.Tensor] = []
    original = op.conv._conv_forward
    op.conv._conv_forward = lambda a, w, b: operands.append(a.detach()) or original(a, w, b)
    out = op(x)
    (before_sign,) = seen
    assert before_sign.mean(dim=(0, 2, 3)).abs().max() < 1e-4  # BN output: zero mean ...
    assert torch.allclose(before_sign.var(dim=(0, 2, 3), unbiased=False), torch.ones(16), atol=1e-3)
    assert torch.equal(operands[0], sign_ste(before_sign))  # ... and the sign of it is convolved
    with torch.no_grad():
        branch = op.shuffle(op.act(op.conv(op.bn(x))))
    shortcut = x if stride == 1 else 0  # identity at stride 1 only (authors' code)
    assert torch.allclose(out, branch + shortcut, atol=1e-5)


@pytest.mark.parametrize("channels, groups", [(48, 12), (24, 12), (36, 12), (16, 8), (8, 4),
                                              (6, 3), (4, 2), (2, 1)])
def test_grouped_binary_ops_default_to_12_groups_never_depthwise(channels: int, groups: int) -> None:
    for name in ("bin_group_conv_3x3", "bin_group_conv_5x5", "bin_dil_group_conv_3x3",
                 "bin_dil_group_conv_5x5"):
        op = create_op(name, channels)
        assert op.conv.groups == groups, name
        assert op.conv.in_channels // op.conv.groups >= 2 or channels < 2
        assert op.shuffle.groups == (math.gcd(channels, 4) if groups > 1 else 1)  # authors': 4
    assert create_op("bin_conv_3x3", 8).conv.groups == 1
    assert create_op("bin_group_conv_3x3", 48, groups=4).conv.groups == 4  # keyword still wins


def test_bats_temperature_is_the_darts_schedule_not_a_constant() -> None:
    algo = BatsSearch(create_space("bats", **SPACE_ARGS))
    assert algo.schedule.kind == "exponential"
    assert algo.schedule.value(0, 10) == pytest.approx(1.0)
    assert algo.schedule.value(9, 10) == pytest.approx(0.1)
    bats = inspect.signature(BatsSearch).parameters
    darts = inspect.signature(DartsSearch).parameters
    shared = set(bats) & set(darts) - {"space"}
    assert {"temperature", "temperature_end", "arch_lr", "warmup_epochs", "aux_skip"} <= shared
    for name in shared:
        assert bats[name].default == darts[name].default, name


def _uniform(summary: dict[str, dict[str, float]]) -> float:
    return sum(1 / len(p) for p in summary.values()) / len(summary)


def test_bats_alphas_move_in_a_short_search() -> None:
    space = create_space("bats", **SPACE_ARGS)
    algo = ALGORITHMS.create("bats", space=space)
    start = {k: v.detach().clone() for k, v in algo.mutator.alpha.items()}
    opts = algo.configure_optimizers()
    train, val = synthetic(3, seed=11), synthetic(3, seed=12)
    epochs = 6
    for epoch in range(epochs):
        algo.on_epoch_start(epoch, epochs)
        for tb, vb in zip(train, val):
            algo.arch_step(vb, opts, train_batch=tb)
            algo.weight_step(tb, opts)
    moved = max(float((algo.mutator.alpha[k].detach() - a).abs().max()) for k, a in start.items())
    assert moved > 0.1  # (epochs - warm-up) * batches = 12 Adam steps of lr 2e-2
    summary = algo.arch_summary()
    strength = decision_strength(summary)
    assert strength is not None and strength > _uniform(summary) + 0.1


def _kl_by_hand(s: torch.Tensor, t: torch.Tensor, tau: float) -> float:
    """``tau^2 * mean_b sum_k q log(q / p)``, q and p the softened teacher and student."""
    total = 0.0
    for si, ti in zip(s.tolist(), t.tolist()):
        ps = [math.exp(v / tau) / sum(math.exp(u / tau) for u in si) for v in si]
        pt = [math.exp(v / tau) / sum(math.exp(u / tau) for u in ti) for v in ti]
        total += sum(q * math.log(q / p) for p, q in zip(ps, pt))
    return tau * tau * total / len(s)


def test_attention_map_is_the_normalised_channel_mean_of_squares() -> None:
    x = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])  # [1, 2, 1, 2]
    energy = [(1 + 9) / 2, (4 + 0) / 2]
    norm = math.sqrt(sum(e * e for e in energy))
    assert attention_map(x).tolist()[0] == pytest.approx([e / norm for e in energy])


def test_stage_loss_adds_teacher_terms_and_the_teacher_gets_no_gradient() -> None:
    space = create_space("bats", **SPACE_ARGS)
    arch = architecture_of(space, UniformMutator(seed=3).bind(space).current)
    plan = two_stage_plan(arch, teacher="real", distill_weight=0.7, distill_temperature=2.0,
                          attention_weight=50.0)
    teacher, student = plan.build_teacher(), plan.build_stage1()
    assert binary_mode(teacher) == "real" and binary_mode(student) == "activations"
    assert len(transfer_points(student)) == 3  # before each of the 2 reductions, and the last cell
    stage = plan.taught(plan.stage1, teacher)
    x, y = synthetic(1, seed=4)[0]
    loss = stage.loss(student, (x, y))
    teacher.eval()
    with torch.no_grad():
        t_logits = teacher(x)
        t_maps = [attention_map(c_out) for c_out in _cell_outputs(teacher, x)]
        s_logits = student(x)
        s_maps = [attention_map(c_out) for c_out in _cell_outputs(student, x)]
    kd = _kl_by_hand(s_logits, t_logits, 2.0)
    assert float(distillation_loss(s_logits, t_logits, 2.0)) == pytest.approx(kd, rel=1e-4)
    at = sum(float(((a - b) ** 2).mean()) for a, b in zip(s_maps, t_maps))
    want = float(nn.functional.cross_entropy(s_logits, y)) + 0.7 * kd + 50.0 * at
    assert float(loss.detach()) == pytest.approx(want, rel=1e-4)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert plan.taught(plan.stage2, student).distill.attention_weight == 0.0


def _cell_outputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    outs: list[torch.Tensor] = []
    hooks = [c.register_forward_hook(lambda _m, _i, o: outs.append(o)) for c in transfer_points(model)]
    model(x)
    for h in hooks:
        h.remove()
    return outs


def test_two_stages_with_a_real_teacher_train_each_stage_against_its_teacher() -> None:
    space = create_space("bats", **SPACE_ARGS)
    arch = architecture_of(space, UniformMutator(seed=2).bind(space).current)
    plan = two_stage_plan(arch, stage1_epochs=2, stage2_epochs=1, stage1_lr=5e-3, teacher="real")
    seen: list[tuple[str, str | None, nn.Module | None]] = []

    def train(model: nn.Module, stage: StageSettings) -> None:
        seen.append((stage.name, binary_mode(model), stage.distill and stage.distill.teacher))
        opt = stage.optimizer(model)
        model.train()
        for _ in range(stage.epochs):
            for batch in synthetic(3, seed=5):
                opt.zero_grad()
                stage.loss(model, batch).backward()
                opt.step()

    with pytest.raises(ConfigError, match="teacher='real'.*stage.loss"):
        run_two_stage(plan, train, synthetic(1, seed=6))
    assert not seen  # refused before any training
    result = run_two_stage(plan, train, synthetic(2, seed=6), uses_stage_loss=True)
    assert [(n, m) for n, m, _ in seen] == [("teacher", "real"), ("stage1", "activations"),
                                            ("stage2", "full")]
    assert seen[0][2] is None and seen[1][2] is result.teacher_model and seen[2][2] is result.stage1_model
    assert binary_mode(result.teacher_model) == "real" and binary_convs(result.stage2_model)
    assert 0.0 <= result.teacher_accuracy <= 1.0 and 0.0 <= result.stage2_accuracy <= 1.0


def test_teacher_settings_are_checked() -> None:
    arch = {"choices": {}, "space": "bats"}
    with pytest.raises(ConfigError, match="teacher='resnet'"):
        two_stage_plan(arch, teacher="resnet")
    with pytest.raises(ConfigError, match="distill_temperature"):
        two_stage_plan(arch, teacher="real", distill_temperature=0)
    with pytest.raises(ConfigError, match="teacher"):
        Distillation().loss(nn.Linear(2, 2), (torch.zeros(1, 2), torch.zeros(1, dtype=torch.long)))
    assert two_stage_plan(arch).distill is None  # off by default: plain cross-entropy stages
