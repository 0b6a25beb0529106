"""``supernas train``: retrain a fixed architecture with ``ChildModule``, or run BATS's two-stage
evaluation (``supernas.two_stage``: stage 1 binary activations + real weights from scratch,
stage 2 binary weights initialised from stage 1), each stage checkpointed and resumable."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.errors import bad_value
from supernas.spaces import SPACES, build_child
from supernas.two_stage import StageSettings, TwoStagePlan, run_two_stage, two_stage_plan
from trial_templates.checkpoint import EpochCheckpoint, load_torch_file
from trial_templates.checks import check_run, check_stage_settings
from trial_templates.child_module import ChildModule
from trial_templates.config import TrainConfig, resolved_config, save_config
from trial_templates.reporting import choose_reporters
from trial_templates.resume import check_settings
from trial_templates.runner import build_trainer, finish, fit
from trial_templates.seeding import reseed
from trial_templates.setup import apply_layout, build_datamodule, check_forward, data_args
from trial_templates.space_budget import check_space_size

MODEL_FILE = "model.pt"


def child_architecture(cfg: TrainConfig, dm: Any) -> Architecture:
    """The configured architecture; space arguments not given are filled from the data."""
    arch = Architecture.from_dict(cfg.architecture)
    if not arch.space:
        raise bad_value("architecture.space", None, "a registered space name")
    given = {**arch.space_args, **cfg.space_args}
    arch.space_args = data_args(SPACES.get(arch.space), given, dm)
    field = "space-arg" if cfg.space_args else "architecture.space_args"  # named when too large
    check_space_size(arch.space, arch.space_args, cfg.space_args or given, field)  # before build_child
    return arch


def load_init_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of an ``--init-from`` file, read with ``weights_only=True`` (runs no code)."""
    return load_torch_file(path, "init_from", "allowed: a state_dict of tensors keyed by supernet "
                           "module paths")


def run_train(cfg: TrainConfig, init_from: Mapping[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """Train the child (or both BATS stages); save ``model.pt`` for ``supernas export``.

    ``init_from``: initial weights keyed by supernet module paths (``build_child``)."""
    dm, arch, model, resolved = train_parts(cfg, init_from)
    out = Path(cfg.output)
    check_settings(out, resolved)  # before config.yaml is rewritten
    save_config(resolved, out / "config.yaml")
    reporters = choose_reporters(cfg.report, cfg.metric_names)
    if cfg.bats_stages:
        plan = dataclasses.replace(_plan(cfg, arch), init_from=init_from)
        model, metrics, trainer = _two_stage(cfg, plan, dm, reporters, out, resolved)
    else:
        module = ChildModule(model, cfg.lr, cfg.momentum, cfg.weight_decay, seed=cfg.seed,
                             optimizer=cfg.optimizer)
        trainer = build_trainer(cfg, [*reporters, EpochCheckpoint(out / "checkpoints", resolved)], out,
                                cfg.epochs, cfg.grad_clip or None)
        fit(trainer, module, dm, out / "checkpoints")
        metrics = {"val_acc": _validate(trainer, module, dm)}
    metrics["params"] = float(sum(p.numel() for p in model.parameters()))
    save_model(model, arch, dm.input_shape, out / MODEL_FILE)
    return finish(trainer, reporters, out, arch, metrics)


def train_parts(cfg: TrainConfig, init_from: Mapping[str, torch.Tensor] | None = None) -> tuple:
    """What a retraining builds before training (bad settings fail here): the data, architecture
    and child, and the resolved settings that ``config.yaml`` records (``--print-config``)."""
    cfg.check()
    check_run(cfg)
    check_stage_settings(cfg.stage_settings, cfg.bats_stages)
    reseed(cfg.seed, -1)  # child initialisation depends on the seed only
    dm = build_datamodule(cfg, "train")
    arch = child_architecture(cfg, dm)
    model = apply_layout(build_child(arch, init_from), cfg.channels_last)  # validates the architecture
    check_forward(model, str(arch.space), dm)
    return dm, arch, model, resolved_config(cfg, {"command": "train"})


def _validate(trainer: Any, module: ChildModule, dm: Any) -> float:
    results = trainer.validate(module, datamodule=dm, verbose=False)
    return float(results[0]["val_acc"])


def _plan(cfg: TrainConfig, arch: Architecture) -> TwoStagePlan:
    settings = {"stage1_epochs": cfg.epochs, "stage2_epochs": cfg.epochs, **cfg.stage_settings}
    return two_stage_plan(arch, **settings)


def _two_stage(cfg: TrainConfig, plan: TwoStagePlan, dm: Any, reporters: list, out: Path,
               resolved: dict[str, Any]) -> tuple:
    trainers: list[Any] = []

    def train_stage(model: nn.Module, stage: StageSettings) -> None:
        apply_layout(model, cfg.channels_last)
        module = ChildModule(model, lr=stage.lr, weight_decay=stage.weight_decay, seed=cfg.seed,
                             optimizer="adam")
        trainer = build_trainer(cfg, [*reporters, EpochCheckpoint(out / stage.name, resolved)],
                                out / stage.name, stage.epochs, cfg.grad_clip or None)
        if stage.epochs > 0:
            fit(trainer, module, dm, out / stage.name)
        trainers.append(trainer)

    result = run_two_stage(plan, train_stage, list(dm.val_dataloader()))
    metrics = {"val_acc": result.stage2_accuracy, "stage1_val_acc": result.stage1_accuracy,
               "stage2_val_acc": result.stage2_accuracy}
    return result.stage2_model, metrics, trainers[-1]


def save_model(model: nn.Module, arch: Architecture, input_shape: tuple[int, ...], path: Path) -> None:
    """The trained child: architecture JSON, input shape and weights (``supernas export`` reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"architecture": arch.to_dict(), "input_shape": list(input_shape),
                "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                "binary_mode": _binary_mode(model)}, path)


def _binary_mode(model: nn.Module) -> str | None:
    from supernas.binarize import binary_mode

    return binary_mode(model)
