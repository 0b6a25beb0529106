"""Test helper (no tests): an NNI trial command that fails on purpose for some parameters.

``python tests/nni_fail_if.py KEY=VALUE supernas train --architecture nni ...`` asks NNI for the
trial's parameters, exits 1 when they choose VALUE for KEY, and otherwise runs the ``supernas``
command in this process with those parameters (NNI hands out a parameter per request, so the
command is given the same answer instead of asking again). Used to test how the tuners handle
failed trials.
"""
from __future__ import annotations

import sys

import nni

from trial_templates.cli import main


def run(rule: str, command: list[str]) -> int:
    if command[:1] != ["supernas"]:
        raise SystemExit(f"usage: nni_fail_if.py KEY=VALUE supernas ARGS... (got {command[:1]})")
    params = nni.get_next_parameter() or {}
    key, _, value = rule.partition("=")
    if str(params.get(key)) == value:
        print(f"{rule}: this trial fails on purpose", file=sys.stderr)
        return 1
    nni.get_next_parameter = lambda: params
    return main(command[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
