#!/usr/bin/env bash
# Set up (if needed), lint (ruff), type-check (mypy; both pinned in the dev extra) and run the
# whole test suite; arguments go to pytest. A lint or type finding fails the run before any test starts.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/supernas ] || ./scripts/setup.sh
# An older .venv may hold another ruff: install the dev extra's pin when the versions differ.
ruff_pin=$(grep -o '"ruff==[^"]*"' pyproject.toml | tr -d '"')
.venv/bin/python -m ruff --version 2>/dev/null | grep -qx "ruff ${ruff_pin#ruff==}" \
    || .venv/bin/pip install -q "$ruff_pin"
.venv/bin/python -m ruff check .
# The same for mypy (its --version line is "mypy X.Y.Z (compiled: ...)"); a type error fails too.
mypy_pin=$(grep -o '"mypy==[^"]*"' pyproject.toml | tr -d '"')
.venv/bin/python -m mypy --version 2>/dev/null | grep -q "^mypy ${mypy_pin#mypy==}\( \|$\)" \
    || .venv/bin/pip install -q "$mypy_pin" "$(grep -o '"types-PyYAML[^"]*"' pyproject.toml | tr -d '"')"
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest -q "$@"
