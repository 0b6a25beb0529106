"""Two-stage evaluation of a binary architecture (BATS, Bulat et al. 2020, arXiv 2003.01711).

BATS trains the found network from scratch in two stages, the real-to-binary recipe
(Martinez et al., ICLR 2020, arXiv 2003.11535):

1. ``stage1``: binary activations, real weights, fresh initialisation;
2. ``stage2``: binary activations and binary weights ``sign(W) * alpha``, initialised from the
   stage-1 weights, then fine-tuned.

Accuracy is measured after each stage. The core owns the models and the switch; a driver owns
the training loop. Interface for drivers (the Lightning child module, or plain torch)::

    plan = two_stage_plan(architecture, stage1_epochs=..., stage2_epochs=...)
    model = plan.build_stage1()                    # fresh weights, mode "activations"
    optimizer = plan.stage1.optimizer(model)       # Adam, see StageSettings
    ...train model for plan.stage1.epochs...; acc1 = accuracy(model, val_batches)
    model2 = plan.build_stage2(model)              # a copy in mode "full" (model is untouched)
    ...train model2 for plan.stage2.epochs...;  acc2 = accuracy(model2, val_batches)

or ``run_two_stage(plan, train_fn, val_batches)`` with ``train_fn(model, stage_settings)`` doing
the training of one stage in place; it returns both accuracies and both models.

Optimiser defaults: Adam with cosine decay over each stage's epochs, weight decay 1e-5 in stage 1
and 0 in stage 2 (real-to-binary, as we read it); learning rates 1e-3 and 2e-4 are our defaults.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.binarize import binary_convs, set_binary_mode
from supernas.errors import SpaceError, bad_value


@dataclass(frozen=True)
class StageSettings:
    """One training stage: binarisation mode, epochs and Adam settings."""

    name: str
    mode: str  # "activations" (stage 1) or "full" (stage 2), see supernas.binarize
    epochs: int
    lr: float
    weight_decay: float

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def scheduler(self, optimizer: torch.optim.Optimizer,
                  steps: int | None = None) -> torch.optim.lr_scheduler.LRScheduler:
        """Cosine decay to 0 over ``steps`` scheduler steps (default: one per epoch)."""
        total = max(1, steps if steps is not None else self.epochs)
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)


@dataclass
class TwoStagePlan:
    """The architecture and the settings of both stages; builds the stage models."""

    architecture: Architecture
    stage1: StageSettings
    stage2: StageSettings

    def build_stage1(self) -> nn.Module:
        """The frozen child with fresh weights, binary activations and real weights."""
        model = self.architecture.build()
        if not binary_convs(model):
            raise SpaceError(f"two-stage evaluation needs binary ops; the architecture of space "
                             f"{self.architecture.space!r} has none (allowed: e.g. space 'bats')")
        return set_binary_mode(model, self.stage1.mode)

    def build_stage2(self, stage1_model: nn.Module) -> nn.Module:
        """A copy of the trained stage-1 model with binary weights too."""
        return set_binary_mode(copy.deepcopy(stage1_model), self.stage2.mode)


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
                   stage1_weight_decay: float = 1e-5,
                   stage2_weight_decay: float = 0.0) -> TwoStagePlan:
    """Validate the settings and return the plan (``architecture``: object or its JSON dict)."""
    if not isinstance(architecture, Architecture):
        architecture = Architecture.from_dict(architecture)
    s1 = StageSettings("stage1", "activations", _epochs("stage1_epochs", stage1_epochs),
                       _number("stage1_lr", stage1_lr),
                       _number("stage1_weight_decay", stage1_weight_decay, allow_zero=True))
    s2 = StageSettings("stage2", "full", _epochs("stage2_epochs", stage2_epochs),
                       _number("stage2_lr", stage2_lr),
                       _number("stage2_weight_decay", stage2_weight_decay, allow_zero=True))
    return TwoStagePlan(architecture, s1, s2)


@torch.no_grad()
def accuracy(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) over ``batches``."""
    was_training = model.training
    model.eval()
    correct = total = 0
    for x, y in batches:
        correct += int((model(x).argmax(dim=-1) == y).sum())
        total += int(y.numel())
    model.train(was_training)
    return correct / max(total, 1)


@dataclass
class TwoStageResult:
    stage1_accuracy: float
    stage2_accuracy: float
    stage1_model: nn.Module
    stage2_model: nn.Module


TrainFn = Callable[[nn.Module, StageSettings], None]


def run_two_stage(plan: TwoStagePlan, train_fn: TrainFn,
                  val_batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> TwoStageResult:
    """Build, train (with ``train_fn``) and evaluate both stages."""
    val = list(val_batches)
    model1 = plan.build_stage1()
    train_fn(model1, plan.stage1)
    acc1 = accuracy(model1, val)
    model2 = plan.build_stage2(model1)
    train_fn(model2, plan.stage2)
    return TwoStageResult(acc1, accuracy(model2, val), model1, model2)
