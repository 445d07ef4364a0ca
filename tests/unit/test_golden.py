"""The rendered output of every blueprint, and the committed generated/, match what stackgen renders now.

After an intended change: `python scripts/update_golden.py`, then review the diff like code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _golden_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("update_golden", ROOT / "scripts" / "update_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_golden_files_and_generated_dir_are_current() -> None:
    stale = _golden_module().differences()
    assert not stale, "run `python scripts/update_golden.py` and review the diff:\n" + "\n".join(stale)


def test_generated_dir_holds_no_secrets() -> None:
    module = _golden_module()
    committed = module.actual_tree(ROOT / "generated")
    assert committed, "generated/ is missing"
    for value in module.GOLDEN_ENV.values():
        for path, content in committed.items():
            assert value.encode() not in content, f"{value!r} leaked into generated/{path}"


def test_gitignore_keeps_secrets_out_of_the_repository() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "secrets/" in ignored
