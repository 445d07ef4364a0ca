#!/usr/bin/env bash
# The project's static checks, run first by scripts/test.sh (seconds; a failure stops the run early)
# and by pre-commit (.pre-commit-config.yaml): ruff's lint rules over the code and tests, ruff's
# formatter over the package, mypy --strict (pyproject.toml) over the package.
# PYTHON chooses the interpreter whose ruff and mypy run (default: python3 on PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=${PYTHON:-python3}
"$python" -m ruff check stackgen tests bench scripts
"$python" -m ruff format --check stackgen
"$python" -m mypy stackgen
