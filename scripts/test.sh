#!/usr/bin/env bash
# Set up (if needed), lint (ruff, pinned in the dev extra) and run the whole test suite;
# arguments go to pytest. A lint finding fails the run before any test starts.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/supernas ] || ./scripts/setup.sh
# An older .venv may hold another ruff: install the dev extra's pin when the versions differ.
ruff_pin=$(grep -o '"ruff==[^"]*"' pyproject.toml | tr -d '"')
.venv/bin/python -m ruff --version 2>/dev/null | grep -qx "ruff ${ruff_pin#ruff==}" \
    || .venv/bin/pip install -q "$ruff_pin"
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest -q "$@"
