"""The ``supernas`` command (also ``python -m trial_templates``).

Subcommands live in a registry (``trial_templates.subcommands``): ``@subcommand("name")`` registers
a function that adds its parser to argparse's subparsers and sets ``func`` (called with the parsed
args; returns an exit code); ``trial_templates.commands`` registers search, train, export, spaces.
Other packages extend the CLI through the ``supernas.subcommands`` entry-point group: each entry
``name = "module:add_subcommand"`` (this project's ``pyproject.toml`` declares ``nni`` and ``katib``)
names a function that adds subcommand ``name`` to argparse's subparsers. An entry is imported only
when the command line asks for it (``supernas nni ...``); otherwise a placeholder lists it in
``--help``, so ``supernas search`` imports neither NNI nor gRPC.

Errors on bad input (``SupernasError``) print one ``supernas: error: ...`` line and exit 2;
SIGTERM exits 143 after saying how to resume.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import trial_templates.commands  # noqa: F401  (registers search, train, export, spaces)
from supernas.errors import SupernasError
from trial_templates.subcommands import SUBCOMMANDS, subcommand

ENTRY_POINTS = "supernas.subcommands"
__all__ = ["ENTRY_POINTS", "SUBCOMMANDS", "build_parser", "extensions", "guarded", "main", "subcommand"]


def extensions() -> dict[str, EntryPoint]:
    """The installed ``supernas.subcommands`` entry points, by subcommand name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINTS)}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The ``supernas`` parser: every registered subcommand, the extension ``argv`` asks for, and
    a placeholder for each other extension (named in ``--help``, not imported)."""
    parser = argparse.ArgumentParser(prog="supernas", description="Weight-sharing NAS for NNI, "
                                     "Katib and PyTorch Lightning")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS.values():
        add(sub)
    wanted = argv[0] if argv and not argv[0].startswith("-") else None
    for name, ep in sorted(extensions().items()):
        if name == wanted:
            _extend(ep, sub)
        else:
            sub.add_parser(name, help=f"{name} commands, from {ep.module} (see supernas {name} --help)")
    return parser


def _extend(ep: EntryPoint, subparsers: Any) -> None:
    try:
        add = ep.load()
    except ImportError as exc:  # an optional dependency of the extension is missing
        print(f"supernas: warning: {ep.value} not loaded: {exc}", file=sys.stderr)
        return
    add(subparsers)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    args.command_line = argv  # for ``--config``: which flags were given (trial_templates.config_file)
    return guarded(lambda: args.func(args))


def guarded(run: Callable[[], int | None]) -> int:
    """``run()``'s exit code, as the ``supernas`` command ends: bad input (``SupernasError``)
    prints one ``supernas: error: ...`` line and gives 2, Lightning's SIGTERM 143."""
    try:
        return int(run() or 0)
    except SupernasError as exc:
        print(f"supernas: error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:
        if type(exc).__name__ == "SIGTERMException":
            print("supernas: stopped by SIGTERM; run the same command again to resume from "
                  "OUTPUT/checkpoints/last.ckpt", file=sys.stderr)
            return 143
        raise
