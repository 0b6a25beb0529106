"""``supernas katib ...``: an extension of the ``supernas`` CLI (entry point ``katib`` in the
``supernas.subcommands`` group, ``trial_templates/cli.py``). Plain ``supernas train --architecture-json=b64:...`` builds Katib suggestions
too: their ``katib-macro`` space is a core space (``supernas.spaces.katib_macro``)."""
from __future__ import annotations

import argparse
from typing import Any


def add_subcommand(subparsers: Any) -> None:
    """``supernas katib train|search ...`` = ``python -m katib_suggestions.trial_entry ...``."""
    p = subparsers.add_parser("katib", help="Katib trial entry points: katib train|search ... "
                              "(see katib_suggestions.trial_entry)", add_help=False)
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from katib_suggestions.trial_entry import main

    return main(args.argv)
