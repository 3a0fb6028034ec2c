#!/usr/bin/env bash
# The test command: sets up .venv if needed, checks the rules (ruff lint, ruff format,
# mypy --strict over every package as listed in pyproject's [tool.mypy] files), then runs
# the default test suite, which includes tests/test_layering.py (slow and GPU tests are
# opt-in: `-m slow`, `-m gpu`). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
