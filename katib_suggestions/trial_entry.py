"""Trial side of the supernas Katib algorithms: builds the typed run config from Katib's
assignments and calls the trial runtime (``trial_templates.runner.run_search`` /
``trial_templates.train_runner.run_train``) directly, as the ``supernas`` CLI does.

``python -m katib_suggestions.trial_entry`` (the trial image's entry point) or ``supernas katib``:

- ``train --architecture-json=${trialParameters.architecture} [--trial-dir DIR] [supernas train
  flags]``: ``supernas-enas/-evolution/-random`` trials. With ``--trial-dir`` (the Experiment's
  ``suggestion_trial_dir``) the child starts from the shared supernet weights ``DIR/supernet.pt``
  when present (``run_train``'s ``init_from``, as ``supernas train --init-from``), and after
  training its weights are written back into the supernet as ``DIR/supernet-out.pt`` (temporary
  file + rename), which the suggestion service adopts as the new shared weights (see
  ``katib_suggestions.weights``).
- ``search --algorithm darts|bats --algorithm-settings=k=v,... --search-space=op,op
  --num-layers=N --seed=S [supernas search flags]``: ``supernas-darts/-bats`` trials. The
  assignments become ``SearchConfig`` fields, typed by the schemas the suggestion service
  validated them with (the one-shot algorithm's settings dataclass, ``TrialRecipe``); the space
  and its arguments (``numLayers``, the op list, the recipe's sizes) come from the algorithm's
  declared mapping (``katib_suggestions.oneshot_spaces``), so the search runs over exactly the
  Experiment's operations.

The other flags are ``supernas search``/``train`` flags (data, output, reporting ...), parsed as
the CLI parses them; a flag given there overrides the assignment's value.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from katib_suggestions.algorithms.recipe import TrialRecipe
from katib_suggestions.formats import parse_flat_settings
from katib_suggestions.oneshot_spaces import ONESHOT_SPACES
from katib_suggestions.weights import IN_FILE, OUT_FILE
from supernas.errors import bad_value
from trial_templates import runner, train_runner
from trial_templates.archsource import find_architecture
from trial_templates.cli import guarded
from trial_templates.commands import command_args, print_config, search_config, train_config
from trial_templates.config import parse_pairs

#: ``TrialRecipe`` fields that are ``SearchConfig`` fields (``--epochs``, ``--batch-size``).
RECIPE_FIELDS = {"num_epochs": "epochs", "batch_size": "batch_size"}


def katib_search_fields(args: argparse.Namespace) -> dict[str, Any]:
    """``SearchConfig`` fields from a ``supernas-darts``/``-bats`` trial's assignments; the
    algorithm settings are validated with the rest of the config (``search_config``)."""
    raw = _algorithm_settings(args.algorithm_settings)
    recipe = TrialRecipe.parse_given({k: v for k, v in raw.items() if k in TrialRecipe.names()})
    space = ONESHOT_SPACES[args.algorithm]
    ops = [op for op in args.search_space.split(",") if op]
    return {"algorithm": args.algorithm, "space": space.space, "seed": args.seed,
            "space_args": space.space_args(args.num_layers, ops, recipe),
            "settings": {k: v for k, v in raw.items() if k not in TrialRecipe.names()},
            **{RECIPE_FIELDS[k]: v for k, v in recipe.items() if k in RECIPE_FIELDS}}


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


def trial_architecture(args: argparse.Namespace, flags: argparse.Namespace) -> dict[str, Any]:
    """The trial's ``architecture`` assignment, read and checked as ``--architecture-json``."""
    space_args = parse_pairs(flags.space_arg, "space-arg")
    return find_architecture(None, args.architecture_json, flags.space, space_args, env={}).to_dict()


def shared_weights(trial_dir: str) -> dict[str, torch.Tensor] | None:
    """The shared supernet weights in ``trial_dir`` (``supernet.pt``) when present."""
    shared = Path(trial_dir) / IN_FILE if trial_dir else None
    return train_runner.load_init_weights(shared) if shared is not None and shared.is_file() else None


def run_train_trial(args: argparse.Namespace, rest: Sequence[str]) -> int:
    """Train the suggested child (from the shared weights when present), then publish them."""
    flags = command_args("train", rest)
    cfg = train_config(flags, {"architecture": trial_architecture(args, flags), "output": args.output})
    if flags.print_config:
        return print_config(train_runner.train_parts(cfg)[-1])
    train_runner.run_train(cfg, shared_weights(args.trial_dir))
    if args.trial_dir and os.environ.get("RANK", "0") == "0":  # torchrun: rank 0 publishes
        publish_supernet(Path(cfg.output) / train_runner.MODEL_FILE, Path(args.trial_dir))
    return 0


def run_search_trial(args: argparse.Namespace, rest: Sequence[str]) -> int:
    """The one-shot search of a ``supernas-darts``/``-bats`` trial."""
    flags = command_args("search", rest)
    cfg = search_config(flags, katib_search_fields(args))
    if flags.print_config:
        return print_config(runner.search_parts(cfg)[-1])
    runner.run_search(cfg)
    return 0


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m katib_suggestions.trial_entry",
                                               description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="katib_command", required=True)
    t = sub.add_parser("train", help="train a suggested child (supernas-enas/-evolution/-random)")
    t.add_argument("--architecture-json", required=True, help="the trial's architecture assignment")
    t.add_argument("--trial-dir", default="", help="suggestion_trial_dir (shared supernet weights)")
    t.add_argument("--output", default="/tmp/supernas-train", help="supernas train output directory")
    s = sub.add_parser("search", help="one-shot search (supernas-darts/-bats)")
    s.add_argument("--algorithm", required=True, choices=sorted(ONESHOT_SPACES))
    s.add_argument("--algorithm-settings", default="")
    s.add_argument("--search-space", default="")
    s.add_argument("--num-layers", type=int, required=True)
    s.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    run = run_train_trial if args.katib_command == "train" else run_search_trial
    return guarded(lambda: run(args, rest))


if __name__ == "__main__":
    sys.exit(main())
