#!/usr/bin/env bash
# The test command: sets up .venv if needed, lints, then runs the default test suite
# (slow and GPU tests are opt-in: `-m slow`, `-m gpu`). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
