"""Fixtures for every test: the shared contract and the rule corpus (../shared beside the repo).

What a test needs from the machine and cannot find is skipped locally with the reason, and fails
in CI (CI=true): a CI run that skipped it would prove nothing. The Docker fixtures are in
tests/integration/conftest.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Tests import `tests.helpers`, `tests.fakes`: plain `pytest` puts only tests/ on sys.path
# (`python -m pytest` adds the working directory), so make the repository root importable either way.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.helpers import unavailable  # noqa: E402 - needs the path above

# The read-only shared folder beside the repository (../shared), in CI as on a developer's machine.
SHARED_DIR = Path(os.environ.get("STACKGEN_SHARED_DIR", REPO_ROOT.parent / "shared"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/integration/ is an integration test, marked or not."""
    integration_dir = REPO_ROOT / "tests" / "integration"
    for item in items:
        if integration_dir in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository (override with STACKGEN_SHARED_DIR)."""
    if not SHARED_DIR.is_dir():
        unavailable(f"the shared folder {SHARED_DIR} is absent (expected beside the repository)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def contract_path(shared_dir: Path) -> Path:
    """The spec contract: ../shared/contract/stack.example.yaml."""
    path = shared_dir / "contract" / "stack.example.yaml"
    if not path.is_file():
        unavailable(f"the contract {path} is absent")
    return path


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    """The alert-rule corpus: ../shared/corpus/awesome-prometheus-alerts/rules (never copied here)."""
    path = shared_dir / "corpus" / "awesome-prometheus-alerts" / "rules"
    if not path.is_dir():
        unavailable(f"the rule corpus {path} is absent")
    return path
