"""The registry of ``supernas`` subcommands: ``@subcommand("name")`` records the function that adds
the subcommand's parser to argparse's subparsers (and sets ``func``, called with the parsed args,
returning an exit code). ``trial_templates.commands`` registers the built-in ones and
``trial_templates.cli`` builds the parser from this registry."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

SUBCOMMANDS: dict[str, Callable[[Any], None]] = {}


def subcommand(name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Register ``add(subparsers)`` as the builder of subcommand ``name``."""

    def decorate(add: Callable[[Any], None]) -> Callable[[Any], None]:
        SUBCOMMANDS[name] = add
        return add

    return decorate
