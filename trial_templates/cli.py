"""The ``supernas`` command (also ``python -m trial_templates``).

Subcommands live in a registry: ``@subcommand("name")`` registers a function that adds its parser
to argparse's subparsers and sets ``func`` (called with the parsed args; returns an exit code).
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
from collections.abc import Callable
from typing import Any

from supernas.errors import SupernasError

EXTENSIONS = ("nni_plugins.cli", "katib_suggestions.cli")
SUBCOMMANDS: dict[str, Callable[[Any], None]] = {}


def subcommand(name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Register ``add(subparsers)`` as the builder of subcommand ``name``."""

    def decorate(add: Callable[[Any], None]) -> Callable[[Any], None]:
        SUBCOMMANDS[name] = add
        return add

    return decorate


def build_parser() -> argparse.ArgumentParser:
    import trial_templates.commands  # noqa: F401  (registers search, train, export, spaces)

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
    args = build_parser().parse_args(argv)
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
