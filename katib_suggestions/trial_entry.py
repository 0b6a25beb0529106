"""Trial side of the supernas Katib algorithms: a thin adapter over the ``supernas`` CLI.

``python -m katib_suggestions.trial_entry`` (the trial image's entry point) or ``supernas katib``:

- ``train --architecture-json=${trialParameters.architecture} [--trial-dir DIR] [supernas train
  flags]``: ``supernas-enas/-evolution/-random`` trials. With ``--trial-dir`` (the Experiment's
  ``suggestion_trial_dir``) the child starts from the shared supernet weights ``DIR/supernet.pt``
  when present (``supernas train --init-from``), and after training its weights are written back into the supernet as
  ``DIR/supernet-out.pt`` (temporary file + rename), which the suggestion service adopts as the
  new shared weights (see ``katib_suggestions.weights``).
- ``search --algorithm darts|bats --algorithm-settings=k=v,... --search-space=op,op
  --num-layers=N --seed=S [supernas search flags]``: ``supernas-darts/-bats`` trials; settings of
  the trial recipe become ``supernas search`` flags and space arguments, the others ``--set``.

Without ``--trial-dir`` ``train`` is exactly ``supernas train`` (which reads the ``b64:``
architecture itself); this module only adds the shared-weights protocol around it.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from katib_suggestions.formats import parse_flat_settings
from katib_suggestions.weights import IN_FILE, OUT_FILE
from supernas.errors import SupernasError, bad_value

#: ``algorithm-settings`` keys that are trial-recipe flags of ``supernas search``.
RECIPE_FLAGS = {"num_epochs": "--epochs", "batch_size": "--batch-size"}
#: ``algorithm-settings`` keys that are space arguments (Katib DARTS names -> supernas space args).
SPACE_ARGS = {"init_channels": "channels", "num_nodes": "nodes", "stem_multiplier": "stem_multiplier"}
#: The space arg that takes ``num-layers`` for each one-shot space.
LAYERS_ARG = {"darts": "cells", "bats": "layers"}


def search_argv(args: argparse.Namespace, rest: Sequence[str]) -> list[str]:
    """``supernas search`` arguments for a ``supernas-darts``/``-bats`` trial."""
    from supernas.spaces import SPACES

    argv = ["search", "--algorithm", args.algorithm, "--space", args.algorithm, "--seed", str(args.seed),
            "--space-arg", f"{LAYERS_ARG[args.algorithm]}={args.num_layers}"]
    for key, value in _algorithm_settings(args.algorithm_settings).items():
        if value == "None":
            continue
        if key in RECIPE_FLAGS:
            argv += [RECIPE_FLAGS[key], value]
        elif key in SPACE_ARGS:
            if SPACE_ARGS[key] in SPACES.parameters(args.algorithm):
                argv += ["--space-arg", f"{SPACE_ARGS[key]}={value}"]
        else:
            argv += ["--set", f"{key}={value}"]
    if "ops" in SPACES.parameters(args.algorithm):
        argv += ["--space-arg", f"ops=[{args.search_space}]"]
    return argv + list(rest)


def _algorithm_settings(text: str) -> dict[str, str]:
    """``k=v,k=v`` (the ``algorithm-settings`` assignment); an item without ``key=`` is an error."""
    bad = [item for item in text.split(",") if item and ("=" not in item or not item.partition("=")[0].strip())]
    if bad:
        raise bad_value("algorithm-settings", text, "comma-separated key=value pairs, e.g. "
                        f"num_epochs=2,temperature=0.5 (item {bad[0]!r} has no key=)")
    return parse_flat_settings(text)


def publish_supernet(model_file: Path, trial_dir: Path) -> Path:
    """Merge the trained child (``model.pt`` of ``supernas train``) into the shared supernet
    weights and write ``trial_dir/supernet-out.pt`` atomically. Both files are read with
    ``weights_only=True`` (explicitly: torch < 2.6 defaults to ``False``), so neither runs code."""
    from trial_templates.checkpoint import load_torch_file
    from trial_templates.export import read_model_file

    saved = read_model_file(model_file)
    shared = trial_dir / IN_FILE
    state = load_torch_file(shared, "supernet", "allowed: a state_dict of tensors written by the "
                            "supernas suggestion service") if shared.is_file() else {}
    state.update(saved["state_dict"])
    out = trial_dir / OUT_FILE
    tmp = out.with_name(f".{OUT_FILE}.tmp")
    torch.save(state, tmp)
    tmp.replace(out)
    return out


def train_argv(args: argparse.Namespace, rest: Sequence[str]) -> list[str]:
    """``supernas train`` arguments for a ``supernas-enas/-evolution/-random`` trial; with the
    shared supernet weights in ``--trial-dir`` the child starts from them (``--init-from``)."""
    argv = ["train", "--architecture-json", args.architecture_json, "--output", str(args.output)]
    shared = Path(args.trial_dir) / IN_FILE if args.trial_dir else None
    if shared is not None and shared.is_file():
        argv += ["--init-from", str(shared)]
    return argv + list(rest)


def run_train(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from trial_templates.cli import main as supernas_main

    code = supernas_main(train_argv(args, rest))
    if not args.trial_dir or code != 0 or os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 publishes
        return code
    try:
        publish_supernet(Path(args.output) / "model.pt", Path(args.trial_dir))
    except SupernasError as exc:
        print(f"supernas: error: {exc}", file=sys.stderr)
        return 2
    return code


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m katib_suggestions.trial_entry",
                                               description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="katib_command", required=True)
    t = sub.add_parser("train", help="train a suggested child (supernas-enas/-evolution/-random)")
    t.add_argument("--architecture-json", required=True, help="the trial's architecture assignment")
    t.add_argument("--trial-dir", default="", help="suggestion_trial_dir (shared supernet weights)")
    t.add_argument("--output", default="/tmp/supernas-train", help="supernas train output directory")
    s = sub.add_parser("search", help="one-shot search (supernas-darts/-bats)")
    s.add_argument("--algorithm", required=True, choices=sorted(LAYERS_ARG))
    s.add_argument("--algorithm-settings", default="")
    s.add_argument("--search-space", default="")
    s.add_argument("--num-layers", type=int, required=True)
    s.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    if args.katib_command == "train":
        return run_train(args, rest)
    from trial_templates.cli import main as supernas_main

    try:
        argv = search_argv(args, rest)
    except SupernasError as exc:
        print(f"supernas: error: {exc}", file=sys.stderr)
        return 2
    return supernas_main(argv)


if __name__ == "__main__":
    sys.exit(main())
