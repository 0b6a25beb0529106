"""Two-stage evaluation of a binary architecture (BATS, Bulat et al. 2020, arXiv 2003.01711).

BATS trains the found network from scratch in two stages, the real-to-binary recipe
(Martinez et al., ICLR 2020, arXiv 2003.11535):

1. ``stage1``: binary activations, real weights, fresh initialisation;
2. ``stage2``: binary activations and binary weights ``sign(W) * alpha``, initialised from the
   stage-1 weights, then fine-tuned.

Teacher distillation (``teacher`` set; off by default). Real-to-Binary trains its binary
networks against real-valued ones, matching the spatial attention maps at the outputs of the
binary and the real-valued convolutions (its abstract). In the multi-stage recipe as
reimplemented in ``larq/zoo`` (``larq_zoo/training/multi_stage_experiments.py``;
``brais-martinez/real2binary`` points there for training code, and larq says its steps are not
exactly those behind its weights) the teacher's soft labels are matched too, a real-valued
network of the same architecture teaches the binary-activation stage, and that trained stage
teaches the fully binary one, which starts from its weights. The paper texts themselves (both papers) were not
readable from this project's stored copies beyond their abstracts, so sources below are code.
Implemented:

* ``teacher="real"``: a real-valued twin of the architecture (``supernas.binarize`` mode
  ``"real"``) is trained first (stage ``teacher``, ``teacher_epochs``, stage 1's optimiser) and
  is stage 1's teacher; or pass a trained real-valued ``nn.Module`` as ``teacher``. Stage 2's
  teacher is always the trained stage-1 network (larq's final stage does the same).
* the loss of a taught stage is
  ``CE(s, y) + distill_weight * tau^2 * KL(softmax(t / tau) || softmax(s / tau))`` (logits of
  student ``s`` and teacher ``t``, batch mean; Hinton et al. 2015, arXiv 1503.02531)
  ``+ attention_weight * sum_j mean((a_s^j - a_t^j)^2)`` in stage 1 (attention transfer,
  Zagoruyko and Komodakis 2017, arXiv 1612.03928, as Real-to-Binary matches it): ``a^j`` is the
  l2-normalised spatial map ``mean_c(x^2)`` of the output of transfer point ``j``, here the last
  cell of each resolution (the cells before each reduction and the last cell), where
  Real-to-Binary uses the ends of the ResNet stages. Stage 2 has no attention term (larq's
  final stage sets it to 0).
* settings and their sources: the loss form, ``attention_weight = 1e3``, ``distill_temperature =
  1`` and the teacher in eval mode without gradients are those of the same authors'
  ``1adrianb/expert-binary-networks`` (``utils/distillation_losses.py``, ``opts.py``: attention
  weight 1e3, soft-label weight 1e3 on the KL averaged over batch and classes, T = 1; the
  l2-normalised attention map). Its 1e3 on a per-class mean is 1e3 / K on our per-sample KL, 1
  for ImageNet's 1000 classes: ``distill_weight = 1`` is that ImageNet setting (larq's
  reimplementation uses 3 then 0.8, and 30 for its max-normalised attention).

Left out: Real-to-Binary's data-driven channel rescaling (a change of the binary block, not of
the loss), its real-valued teacher's own distillation from a ResNet, and its step learning-rate
schedule (cosine here). The trial-template driver (``supernas train --bats-stages``) trains with
plain cross-entropy and does not pass ``uses_stage_loss``: a plan with a teacher is refused
there until it calls ``stage.loss``.

Accuracy is measured after each stage. The core owns the models, the switch and the losses; a
driver owns the training loop. Interface for drivers (the Lightning child module, or plain
torch)::

    plan = two_stage_plan(architecture, stage1_epochs=..., stage2_epochs=..., teacher="real")
    def train_fn(model, stage):                      # train `model` in place for stage.epochs
        opt = stage.optimizer(model)                 # Adam, see StageSettings
        ... loss = stage.loss(model, (x, y)); loss.backward(); opt.step() ...
    result = run_two_stage(plan, train_fn, val_batches, uses_stage_loss=True)

Optimiser defaults: Adam with cosine decay over each stage's epochs, weight decay 1e-5 in stage 1
and 0 in stage 2 (real-to-binary, as we read it); learning rates 1e-3 and 2e-4 are our defaults
(larq's reimplementation uses the same two rates).
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from supernas.accuracy import accuracy
from supernas.architecture import Architecture
from supernas.binarize import binary_convs, set_binary_mode
from supernas.errors import ConfigError, SpaceError, bad_value
from supernas.oneshot.bats import distillation_loss
from supernas.spaces import build_child

Batch = tuple[torch.Tensor, torch.Tensor]
TEACHERS = ("real",)  # or an nn.Module; None: no distillation
DISTILL_WEIGHT = 1.0  # authors' 1e3 on the per-class mean KL at K = 1000 (module docstring)
DISTILL_TEMPERATURE = 1.0  # authors' code default (expert-binary-networks opts.py)
ATTENTION_WEIGHT = 1e3  # authors' code default (expert-binary-networks opts.py)


@dataclass(frozen=True)
class Distillation:
    """The teacher terms of one stage's loss (see the module docstring)."""

    teacher: nn.Module | None = None  # set per stage by TwoStagePlan.taught
    weight: float = DISTILL_WEIGHT
    temperature: float = DISTILL_TEMPERATURE
    attention_weight: float = 0.0

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """CE + weighted KL to the teacher's softened logits + weighted attention transfer."""
        if self.teacher is None:
            raise bad_value("teacher", None, "a teacher module (TwoStagePlan.taught sets it)")
        x, y = batch
        logits, maps = run_with_attention(model, x, self.attention_weight > 0)  # [B, K]
        was_training = self.teacher.training
        self.teacher.eval()
        with torch.no_grad():
            target, teacher_maps = run_with_attention(self.teacher, x, self.attention_weight > 0)
        self.teacher.train(was_training)
        loss = F.cross_entropy(logits, y)
        if self.weight > 0:
            loss = loss + self.weight * distillation_loss(logits, target, self.temperature)
        if self.attention_weight > 0:
            loss = loss + self.attention_weight * attention_loss(maps, teacher_maps)
        return loss


@dataclass(frozen=True)
class StageSettings:
    """One training stage: binarisation mode, epochs, Adam settings and the optional teacher."""

    name: str
    mode: str  # "real" (teacher), "activations" (stage 1) or "full" (stage 2), supernas.binarize
    epochs: int
    lr: float
    weight_decay: float
    distill: Distillation | None = None

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def scheduler(self, optimizer: torch.optim.Optimizer,
                  steps: int | None = None) -> torch.optim.lr_scheduler.LRScheduler:
        """Cosine decay to 0 over ``steps`` scheduler steps (default: one per epoch)."""
        total = max(1, steps if steps is not None else self.epochs)
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """This stage's training loss: cross-entropy, plus the teacher's terms when taught."""
        if self.distill is None:
            x, y = batch
            return F.cross_entropy(model(x), y)
        return self.distill.loss(model, batch)


def transfer_points(model: nn.Module) -> list[nn.Module]:
    """The last cell of each resolution of a cell network (``model.cells``); [] otherwise."""
    cells = list(getattr(model, "cells", []))
    return [c for i, c in enumerate(cells)
            if i == len(cells) - 1 or getattr(cells[i + 1], "reduction", False)]


def run_with_attention(model: nn.Module, x: torch.Tensor,
                       attention: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``model(x)`` and, when ``attention``, the attention maps of its transfer points."""
    maps: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: maps.append(attention_map(out)))
             for m in (transfer_points(model) if attention else [])]
    try:
        return model(x), maps
    finally:
        for h in hooks:
            h.remove()


def attention_map(x: torch.Tensor) -> torch.Tensor:
    """l2-normalised ``mean_c(x^2)`` per sample: [B, C, H, W] -> [B, H*W]."""
    return F.normalize(x.pow(2).mean(1).flatten(1), dim=1)


def attention_loss(student: list[torch.Tensor], teacher: list[torch.Tensor]) -> torch.Tensor:
    """``sum_j mean((a_s^j - a_t^j)^2)`` over matching transfer points."""
    if not student or len(student) != len(teacher) \
            or any(s.shape != t.shape for s, t in zip(student, teacher)):
        raise bad_value("attention_weight", "> 0", "0 unless student and teacher are cell "
                        "networks with matching transfer points (e.g. teacher='real'); shapes: "
                        f"{[tuple(s.shape) for s in student]} vs {[tuple(t.shape) for t in teacher]}")
    return sum(((s - t) ** 2).mean() for s, t in zip(student, teacher))  # type: ignore[return-value]


@dataclass
class TwoStagePlan:
    """The architecture, the settings of both stages and the teacher; builds the stage models."""

    architecture: Architecture
    stage1: StageSettings
    stage2: StageSettings
    teacher: str | nn.Module | None = None
    teacher_stage: StageSettings | None = None  # trains the teacher when teacher == "real"
    distill: Distillation | None = None  # the settings; the teacher module is set per stage
    init_from: Mapping[str, torch.Tensor] | None = None  # initial weights (``build_child``)

    def build_stage1(self) -> nn.Module:
        """The frozen child with fresh weights, binary activations and real weights."""
        model = build_child(self.architecture, self.init_from)
        if not binary_convs(model):
            raise SpaceError(f"two-stage evaluation needs binary ops; the architecture of space "
                             f"{self.architecture.space!r} has none (allowed: e.g. space 'bats')")
        return set_binary_mode(model, self.stage1.mode)

    def build_stage2(self, stage1_model: nn.Module) -> nn.Module:
        """A copy of the trained stage-1 model with binary weights too."""
        return set_binary_mode(copy.deepcopy(stage1_model), self.stage2.mode)

    def build_teacher(self) -> nn.Module:
        """A real-valued twin of the architecture, fresh weights (trained by ``run_two_stage``)."""
        return set_binary_mode(self.build_stage1(), "real")

    def taught(self, stage: StageSettings, teacher: nn.Module) -> StageSettings:
        """``stage`` with ``teacher`` (stage 2 drops the attention term)."""
        assert self.distill is not None
        attention = self.distill.attention_weight if stage.name == "stage1" else 0.0
        distill = dataclasses.replace(self.distill, teacher=teacher, attention_weight=attention)
        return dataclasses.replace(stage, distill=distill)


def _epochs(field_name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_value(field_name, value, "an integer >= 0")
    return value


def _number(field_name: str, value: Any, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (value > 0 or (allow_zero and value == 0)):
        raise bad_value(field_name, value, "a number >= 0" if allow_zero else "a number > 0")
    return float(value)


def two_stage_plan(architecture: Architecture | Mapping[str, Any], stage1_epochs: int = 10,
                   stage2_epochs: int = 10, stage1_lr: float = 1e-3, stage2_lr: float = 2e-4,
                   stage1_weight_decay: float = 1e-5, stage2_weight_decay: float = 0.0,
                   teacher: str | nn.Module | None = None, teacher_epochs: int | None = None,
                   distill_weight: float = DISTILL_WEIGHT,
                   distill_temperature: float = DISTILL_TEMPERATURE,
                   attention_weight: float = ATTENTION_WEIGHT) -> TwoStagePlan:
    """Validate the settings and return the plan (``architecture``: object or its JSON dict)."""
    if not isinstance(architecture, Architecture):
        architecture = Architecture.from_dict(architecture)
    lr1 = _number("stage1_lr", stage1_lr)
    wd1 = _number("stage1_weight_decay", stage1_weight_decay, allow_zero=True)
    s1 = StageSettings("stage1", "activations", _epochs("stage1_epochs", stage1_epochs), lr1, wd1)
    s2 = StageSettings("stage2", "full", _epochs("stage2_epochs", stage2_epochs),
                       _number("stage2_lr", stage2_lr),
                       _number("stage2_weight_decay", stage2_weight_decay, allow_zero=True))
    plan = TwoStagePlan(architecture, s1, s2)
    if teacher is None:
        return plan
    if not isinstance(teacher, nn.Module) and teacher not in TEACHERS:
        raise bad_value("teacher", teacher, "None, 'real' or a real-valued torch.nn.Module")
    epochs = s1.epochs if teacher_epochs is None else _epochs("teacher_epochs", teacher_epochs)
    plan.teacher = teacher
    plan.teacher_stage = StageSettings("teacher", "real", epochs, lr1, wd1)
    plan.distill = Distillation(None, _number("distill_weight", distill_weight, True),
                                _number("distill_temperature", distill_temperature),
                                _number("attention_weight", attention_weight, True))
    return plan


@dataclass
class TwoStageResult:
    stage1_accuracy: float
    stage2_accuracy: float
    stage1_model: nn.Module
    stage2_model: nn.Module
    teacher_accuracy: float | None = None
    teacher_model: nn.Module | None = None


TrainFn = Callable[[nn.Module, StageSettings], None]


def run_two_stage(plan: TwoStagePlan, train_fn: TrainFn,
                  val_batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                  uses_stage_loss: bool = False) -> TwoStageResult:
    """Build, train (with ``train_fn``) and evaluate the teacher (if any) and both stages.

    ``uses_stage_loss``: the driver trains with ``stage.loss``; a plan with a teacher is refused
    without it, since the teacher's terms would be silently left out."""
    val = list(val_batches)
    if plan.distill is None:
        model1 = plan.build_stage1()
        train_fn(model1, plan.stage1)
        model2 = plan.build_stage2(model1)
        train_fn(model2, plan.stage2)
        return TwoStageResult(accuracy(model1, val), accuracy(model2, val), model1, model2)
    if not uses_stage_loss:
        raise ConfigError(f"teacher={plan.teacher!r} needs a driver that trains with stage.loss "
                          "(run_two_stage(..., uses_stage_loss=True)); allowed here: teacher=None")
    teacher = plan.teacher
    if not isinstance(teacher, nn.Module):
        assert plan.teacher_stage is not None
        teacher = plan.build_teacher()
        train_fn(teacher, plan.teacher_stage)
    model1 = plan.build_stage1()
    train_fn(model1, plan.taught(plan.stage1, teacher))
    model2 = plan.build_stage2(model1)
    train_fn(model2, plan.taught(plan.stage2, model1))
    return TwoStageResult(accuracy(model1, val), accuracy(model2, val), model1, model2,
                          accuracy(teacher, val), teacher)
