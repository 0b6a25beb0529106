"""The built-in subcommands: ``search``, ``train``, ``export``, ``spaces`` (see README.md);
``search`` and ``train`` also take ``--config FILE`` and ``--print-config``
(``trial_templates.config_file``)."""
from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from trial_templates.config import (
    REPORTS,
    RunConfig,
    SearchConfig,
    TrainConfig,
    config_text,
    parse_pairs,
    parse_settings,
)
from trial_templates.config_file import add_config_options, fields_with_file, with_base
from trial_templates.nni_params import PARAM_SOURCES, platform_fields
from trial_templates.reporting import parse_metric_names
from trial_templates.subcommands import subcommand

ALGORITHM_NAMES = ("enas", "darts", "bats", "spos", "random", "zero-shot")
DATA_NAMES = ("digits", "cifar10", "synthetic", "mnist1d")


def _common(p: argparse.ArgumentParser, epochs: int) -> None:
    p.add_argument("--data", default="digits", help=f"one of {', '.join(DATA_NAMES)} (default digits)")
    p.add_argument("--data-dir", default=None, help="directory of the data (cifar10)")
    p.add_argument("--subset", type=int, default=None, help="stratified subset of training examples")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="output directory (default supernas-<command>)")
    p.add_argument("--accelerator", default="auto", help="cpu, gpu, auto ... (Lightning)")
    p.add_argument("--devices", default="auto", help="number or list of devices (Lightning)")
    p.add_argument("--strategy", default="auto", help="auto, ddp ... (Lightning)")
    p.add_argument("--precision", default=None, help="32-true, bf16-mixed, 16-mixed ... (Lightning)")
    p.add_argument("--report", default="auto", choices=REPORTS)
    p.add_argument("--metric-name", action="append", default=[], metavar="INTERNAL=NAME",
                   help="Katib metric name, e.g. val_acc=Validation-Accuracy (repeatable)")
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--limit-batches", type=int, default=None, help="training batches per epoch cap")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-plots", action="store_true", help="no PNG plots")
    p.add_argument("--no-channels-last", action="store_true",
                   help="keep PyTorch's default NCHW layout (default: channels-last, faster convs)")
    add_config_options(p)


def _run_fields(args: argparse.Namespace, command: str) -> dict[str, Any]:
    return {"data": args.data, "data_dir": args.data_dir, "subset": args.subset,
            "batch_size": args.batch_size, "epochs": args.epochs, "seed": args.seed,
            "output": args.output or f"supernas-{command}", "accelerator": args.accelerator,
            "devices": args.devices, "strategy": args.strategy, "precision": args.precision,
            "report": args.report, "metric_names": parse_metric_names(args.metric_name),
            "num_workers": args.num_workers, "progress": not args.no_progress,
            "plots": not args.no_plots, "limit_batches": args.limit_batches,
            "channels_last": not args.no_channels_last}


#: Flags (argparse dests) whose config field (``config.yaml`` key) has another name.
DEST_FIELDS = {"metric_name": "metric_names", "no_progress": "progress", "no_plots": "plots",
               "no_channels_last": "channels_last", "space_arg": "space_args", "set": "settings",
               "stage_set": "stage_settings", "architecture_json": "architecture"}


@subcommand("search")
def add_search(sub: Any) -> None:
    p = sub.add_parser("search", help="one-shot architecture search (Lightning)")
    search_options(p)
    p.set_defaults(func=cmd_search)


def search_options(p: argparse.ArgumentParser) -> None:
    """The flags of ``supernas search``."""
    p.add_argument("--algorithm", default="darts", help=f"one of {', '.join(ALGORITHM_NAMES)}")
    p.add_argument("--space", default=None, help="registered space (default depends on the algorithm)")
    p.add_argument("--space-arg", action="append", default=[], metavar="K=V")
    p.add_argument("--set", action="append", default=[], metavar="K=V", help="algorithm setting")
    p.add_argument("--arch-fraction", type=float, default=0.5,
                   help="fraction of the training data held out for the architecture phase")
    p.add_argument("--lr-schedule", default="algorithm", choices=("algorithm", "cosine"))
    p.add_argument("--finetune-steps", type=int, default=200,
                   help="SGD steps fine-tuning the derived child before it is scored (0: BN only)")
    p.add_argument("--finetune-lr", type=float, default=0.025, help="its initial learning rate")
    p.add_argument("--params", default=None, choices=PARAM_SOURCES,
                   help="algorithm, space and settings from the platform: nni reads the trial "
                   "parameters of the SupernasOneShot tuner (flags given explicitly still win)")
    _common(p, epochs=10)


def search_fields(args: argparse.Namespace) -> dict[str, Any]:
    """``SearchConfig``'s fields from the flags (settings not yet validated)."""
    return {**_run_fields(args, "search"), "algorithm": args.algorithm, "space": args.space,
            "space_args": parse_pairs(args.space_arg, "space-arg"),
            "settings": parse_pairs(args.set, "set"), "arch_fraction": args.arch_fraction,
            "lr_schedule": args.lr_schedule, "finetune_steps": args.finetune_steps,
            "finetune_lr": args.finetune_lr}


def search_config(args: argparse.Namespace, base: Mapping[str, Any] | None = None) -> SearchConfig:
    """The ``SearchConfig`` of ``supernas search``'s flags and ``--config`` file, the settings
    validated; ``base`` (typed fields, e.g. a Katib trial's assignments) replaces the file's
    values and the defaults, and the flags given explicitly override it (``with_base``)."""
    fields = fields_with_file(args, search_options, search_fields(args), SearchConfig, DEST_FIELDS)
    fields = with_base(args, search_options, fields, base, DEST_FIELDS)
    fields["settings"] = parse_settings(fields["algorithm"], fields["settings"])
    return SearchConfig(**fields)


def cmd_search(args: argparse.Namespace) -> int:
    from trial_templates.runner import run_search, search_parts

    cfg = search_config(args, platform_fields(args.params))
    if args.print_config:
        return print_config(search_parts(cfg)[-1])
    run_search(cfg)
    return 0


@subcommand("train")
def add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train a fixed architecture (retraining, BATS two stages)")
    train_options(p)
    p.set_defaults(func=cmd_train)


def train_options(p: argparse.ArgumentParser) -> None:
    """The flags of ``supernas train``."""
    p.add_argument("--architecture", default=None, help="architecture JSON file, or 'nni'")
    p.add_argument("--architecture-json", default=None, help="architecture text (see README)")
    p.add_argument("--space", default=None, help="space of flat choices")
    p.add_argument("--space-arg", action="append", default=[], metavar="K=V")
    p.add_argument("--lr", type=float, default=0.025)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=3e-4)
    p.add_argument("--grad-clip", type=float, default=5.0)
    p.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    p.add_argument("--bats-stages", action="store_true", help="BATS two-stage evaluation")
    p.add_argument("--stage-set", action="append", default=[], metavar="K=V",
                   help="two_stage_plan setting, e.g. stage2_epochs=5")
    p.add_argument("--init-from", default=None, metavar="FILE",
                   help="initial weights: a state_dict keyed by supernet module paths (e.g. shared "
                   "supernet weights); tensors it lacks stay fresh (not recorded in config.yaml)")
    _common(p, epochs=20)


def train_fields(args: argparse.Namespace) -> dict[str, Any]:
    """``TrainConfig``'s fields from the flags, but the architecture (``_architecture``)."""
    return {**_run_fields(args, "train"), "space_args": parse_pairs(args.space_arg, "space-arg"),
            "lr": args.lr, "momentum": args.momentum, "weight_decay": args.weight_decay,
            "grad_clip": args.grad_clip, "optimizer": args.optimizer, "bats_stages": args.bats_stages,
            "stage_settings": parse_pairs(args.stage_set, "stage-set")}


def train_config(args: argparse.Namespace, base: Mapping[str, Any] | None = None) -> TrainConfig:
    """The ``TrainConfig`` of ``supernas train``'s flags and ``--config`` file (``base`` as in
    ``search_config``), the architecture read and validated."""
    fields = fields_with_file(args, train_options, train_fields(args), TrainConfig, DEST_FIELDS)
    fields = with_base(args, train_options, fields, base, DEST_FIELDS)
    fields["architecture"] = _architecture(args, fields)
    return TrainConfig(**fields)


def cmd_train(args: argparse.Namespace) -> int:
    from trial_templates.train_runner import load_init_weights, run_train, train_parts

    cfg = train_config(args)
    if args.print_config:
        return print_config(train_parts(cfg)[-1])
    run_train(cfg, load_init_weights(args.init_from) if args.init_from else None)
    return 0


def _architecture(args: argparse.Namespace, fields: dict[str, Any]) -> dict[str, Any]:
    """From ``--architecture``/``--architecture-json`` when given, else the config file's, else
    ``$SUPERNAS_ARCHITECTURE`` (``trial_templates.archsource``)."""
    from supernas.architecture import Architecture
    from trial_templates.archsource import find_architecture

    if "architecture" in fields and not (args.architecture or args.architecture_json):
        return Architecture.from_dict(fields["architecture"]).to_dict()
    arch = find_architecture(args.architecture, args.architecture_json, args.space, fields["space_args"])
    return arch.to_dict()


def print_config(resolved: dict[str, Any]) -> int:
    """``--print-config``: the resolved config as YAML on stdout; exit code 0."""
    sys.stdout.write(config_text(resolved))
    return 0


#: The flags of each config-building subcommand, for ``command_args``.
OPTIONS = {"search": search_options, "train": train_options}


def command_args(command: str, argv: Sequence[str]) -> argparse.Namespace:
    """``supernas COMMAND ARGV``'s flags parsed as the CLI parses them, for callers that build a
    config without the CLI (the Katib trial entry): then ``search_config``/``train_config``."""
    parser = argparse.ArgumentParser(prog=f"supernas {command}")
    OPTIONS[command](parser)
    args = parser.parse_args(list(argv))
    args.command, args.command_line = command, [command, *argv]  # as trial_templates.cli.main
    return args


@subcommand("export")
def add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="export a trained child to TorchScript or ONNX")
    p.add_argument("--checkpoint", default=None, help="model.pt written by `supernas train`")
    p.add_argument("--architecture", default=None, help="architecture JSON (fresh weights)")
    p.add_argument("--format", default="torchscript", choices=("torchscript", "onnx"))
    p.add_argument("--input-shape", default=None, help="C,H,W of one input (default: from checkpoint)")
    p.add_argument("--output", required=True, help="file to write")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from trial_templates.checks import check_output_file, parse_input_shape
    from trial_templates.export import export, load_child

    shape = parse_input_shape(args.input_shape)
    check_output_file(args.output)
    model, input_shape = load_child(args.checkpoint, args.architecture, shape)
    path = export(model, input_shape, args.format, args.output)
    print(f"saved {path}")
    return 0


@subcommand("spaces")
def add_spaces(sub: Any) -> None:
    p = sub.add_parser("spaces", help="list the registered search spaces and their arguments")
    p.set_defaults(func=cmd_spaces)


def cmd_spaces(args: argparse.Namespace) -> int:
    from supernas.space import space_size
    from supernas.spaces import SPACES, create_space

    for name in SPACES.names():
        params = inspect.signature(SPACES.get(name)).parameters.values()
        arg_text = ", ".join(f"{p.name}={p.default!r}" for p in params)
        with torch.device("meta"):
            size = space_size(create_space(name))
        print(f"{name}: {size} architectures\n    args: {arg_text}")
    return 0


__all__ = ["RunConfig"]
