"""The ``supernas`` command (also ``python -m trial_templates``).

Subcommands live in a registry (``trial_templates.subcommands``): ``@subcommand("name")`` registers
a function that adds its parser to argparse's subparsers and sets ``func`` (called with the parsed
args; returns an exit code); ``trial_templates.commands`` registers search, train, export, spaces.
Other packages extend the CLI through a documented hook: every module in ``EXTENSIONS`` that is
importable must define ``add_subcommand(subparsers)`` (``nni_plugins.cli`` adds ``supernas nni``;
``katib_suggestions.cli`` may add ``supernas katib``); a module that is not installed is skipped.

Errors on bad input (``SupernasError``) print one ``supernas: error: ...`` line and exit 2;
SIGTERM exits 143 after saying how to resume.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

import trial_templates.commands  # noqa: F401  (registers search, train, export, spaces)
from supernas.errors import SupernasError
from trial_templates.subcommands import SUBCOMMANDS, subcommand

EXTENSIONS = ("nni_plugins.cli", "katib_suggestions.cli")
__all__ = ["EXTENSIONS", "SUBCOMMANDS", "build_parser", "main", "subcommand"]


def build_parser() -> argparse.ArgumentParser:
    """The ``supernas`` parser: every registered subcommand, then the installed extensions."""
    parser = argparse.ArgumentParser(prog="supernas", description="Weight-sharing NAS for NNI, "
                                     "Katib and PyTorch Lightning")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS.values():
        add(sub)
    for module in EXTENSIONS:
        _extend(module, sub)
    return parser


def _extend(module: str, subparsers: Any) -> None:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return  # the extension (or its package) is not installed
        print(f"supernas: warning: {module} not loaded: {exc}", file=sys.stderr)
        return
    mod.add_subcommand(subparsers)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = argv  # for ``--config``: which flags were given (trial_templates.config_file)
    try:
        return int(args.func(args) or 0)
    except SupernasError as exc:
        print(f"supernas: error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:
        if type(exc).__name__ == "SIGTERMException":
            print("supernas: stopped by SIGTERM; run the same command again to resume from "
                  "OUTPUT/checkpoints/last.ckpt", file=sys.stderr)
            return 143
        raise
