#!/usr/bin/env bash
# Create .venv with the CPU build of torch and every extra (trial, nni, katib, export, dev).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip 'setuptools<81' wheel
.venv/bin/pip install -q 'torch==2.13.0' -e '.[all]'
