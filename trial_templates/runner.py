"""Run a search or a retraining from a config: build everything (bad settings fail here),
train with Lightning (resuming from ``OUTPUT/checkpoints/last.ckpt`` when present), then save
and report the final architecture and metrics."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.loggers import CSVLogger

from supernas.architecture import Architecture
from supernas.errors import ConfigError
from trial_templates.artifacts import ArchitectureArtifacts, draw_architecture
from trial_templates.checkpoint import EpochCheckpoint, resume_path
from trial_templates.checks import check_run
from trial_templates.config import RunConfig, SearchConfig, resolved_config, save_config
from trial_templates.reporting import Reporter, choose_reporters
from trial_templates.resume import check_checkpoint, check_settings
from trial_templates.seeding import reseed
from trial_templates.setup import apply_layout, build_algorithm, build_datamodule, build_space, resolve_space
from trial_templates.supernet_module import SupernetModule


def build_trainer(cfg: RunConfig, callbacks: list[pl.Callback], root: Path,
                  epochs: int, grad_clip: float | None = None) -> pl.Trainer:
    """A Trainer with the run's accelerator/devices/strategy/precision passed through; options
    Lightning refuses become a ``ConfigError`` naming them and Lightning's reason."""
    try:
        return pl.Trainer(
            max_epochs=epochs, accelerator=cfg.accelerator, devices=_devices(cfg.devices),
            strategy=_strategy(cfg.strategy), precision=cfg.precision, callbacks=callbacks,
            logger=CSVLogger(str(root), name="logs"), enable_checkpointing=False,  # logs/version_N per (re)start
            num_sanity_val_steps=0, enable_progress_bar=cfg.progress, enable_model_summary=False,
            inference_mode=False,  # validation fine-tunes the derived child
            limit_train_batches=cfg.limit_batches, gradient_clip_val=grad_clip,
            default_root_dir=str(root))
    except (ValueError, TypeError, MisconfigurationException, RuntimeError) as exc:
        options = (f"--accelerator {cfg.accelerator} --devices {cfg.devices} --strategy {cfg.strategy}"
                   f" --precision {cfg.precision}")
        raise ConfigError(f"Lightning refused the trainer options ({options}): {exc}; allowed: "
                          "--accelerator cpu|gpu|auto (gpu needs a visible GPU), --devices a positive "
                          "count, a list or auto, --strategy auto|ddp|ddp_spawn|..., --precision "
                          "32-true|16-mixed|bf16-mixed|...") from None


def _devices(value: str) -> Any:
    return int(value) if str(value).isdigit() else value


def _strategy(name: str) -> Any:
    if name == "ddp":  # one-shot steps leave unchosen candidates without gradients
        from pytorch_lightning.strategies import DDPStrategy

        return DDPStrategy(find_unused_parameters=True)
    return name


def fit(trainer: pl.Trainer, module: pl.LightningModule, dm: pl.LightningDataModule, ckpt_dir: Path) -> None:
    """``trainer.fit`` resuming from ``ckpt_dir/last.ckpt`` if a previous run left one; the file is
    checked first and read with ``weights_only=True`` (tensors and plain data: no code runs)."""
    ckpt = resume_path(ckpt_dir)
    if ckpt is not None:
        check_checkpoint(ckpt, module)
        print(f"resuming from {ckpt}", flush=True)
    trainer.fit(module, datamodule=dm, ckpt_path=str(ckpt) if ckpt else None, weights_only=True)


def search_parts(cfg: SearchConfig) -> tuple[Any, Any, Any, dict[str, Any]]:
    """What a search builds before training (bad settings fail here): the data, space and
    algorithm, and the resolved settings that ``config.yaml`` records (``--print-config``)."""
    cfg.check()
    check_run(cfg)
    reseed(cfg.seed, -1)  # supernet initialisation depends on the seed only
    dm = build_datamodule(cfg, "search", cfg.arch_fraction)
    space_name, space_args = resolve_space(cfg)
    space = apply_layout(build_space(space_name, space_args, dm), cfg.channels_last)
    algo = build_algorithm(cfg, space, dm)
    resolved = resolved_config(cfg, {"command": "search", "space": space_name,
                                     "space_args": dict(getattr(space, "space_args", {}))})
    return dm, space, algo, resolved


def run_search(cfg: SearchConfig) -> dict[str, Any]:
    """The whole ``supernas search``; returns the final architecture and metrics."""
    dm, space, algo, resolved = search_parts(cfg)
    out = Path(cfg.output)
    module = SupernetModule(algo, seed=cfg.seed, lr_schedule=cfg.lr_schedule,
                            finetune=cfg.finetune_settings())
    check_settings(out, resolved)  # before config.yaml is rewritten
    save_config(resolved, out / "config.yaml")
    reporters = choose_reporters(cfg.report, cfg.metric_names)
    artifacts = ArchitectureArtifacts(out, cfg.plots)
    callbacks = [*reporters, artifacts, EpochCheckpoint(out / "checkpoints", resolved)]
    trainer = build_trainer(cfg, callbacks, out, cfg.epochs if algo.needs_training else 0)
    if algo.needs_training and cfg.epochs > 0:
        fit(trainer, module, dm, out / "checkpoints")
    module.to(trainer.strategy.root_device)
    final = module.final_result(dm.val_dataloader(), dm.train_dataloader())
    artifacts.record_selection(module, trainer.is_global_zero)
    result = finish(trainer, reporters, out, final.architecture, final.metrics, space)
    if trainer.is_global_zero:
        print(summary_line(final.metrics), flush=True)
    return result


def summary_line(metrics: dict[str, float]) -> str:
    """One line: the found architecture's score, the supernet's, and the decision strength."""
    parts = [f"found architecture {metrics.get('val_acc', float('nan')):.4f} (fine-tuned child)",
             f"recalibrated child {metrics.get('val_child_recal_acc', float('nan')):.4f}",
             f"supernet {metrics.get('val_supernet_acc', float('nan')):.4f}"]
    if "decision_strength" in metrics:
        parts.append(f"decision strength {metrics['decision_strength']:.3f}")
    return "summary: " + ", ".join(parts)


def finish(trainer: pl.Trainer, reporters: list[Reporter], out: Path, arch: Architecture,
           metrics: dict[str, float], space: Any = None) -> dict[str, Any]:
    """Save ``architecture.json``, ``metrics.json`` (and ``cell.png``), report, print (rank zero)."""
    result = {"architecture": arch.to_dict(), "metrics": dict(metrics)}
    if not trainer.is_global_zero:
        return result
    out.mkdir(parents=True, exist_ok=True)
    arch.save(out / "architecture.json")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if space is not None:
        draw_architecture(space, arch.choices, out, "final")
    for r in reporters:
        r.report_final(metrics, arch.to_dict())
    print("final architecture:\n" + arch.to_json(), flush=True)
    print(f"saved {out / 'architecture.json'}", flush=True)
    return result
