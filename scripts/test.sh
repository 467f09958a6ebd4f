#!/usr/bin/env bash
# The test command: lint, types, import layering, then the test suite. Extra args go to pytest.
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
ruff check .
ruff format --check .
mypy
lint-imports
pytest "$@"
