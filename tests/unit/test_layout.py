"""The layout tells the truth: ARCHITECTURE.md names every module of the package, and the test
modules' names are unique (pytest imports them by basename here)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_architecture_names_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"[\w/]+\.(?:py|json)", text))
    basenames = {Path(name).name for name in named}
    package = ROOT / "stackgen"
    missing = [path.relative_to(package).as_posix() for path in sorted(package.rglob("*.py"))
               if path.name not in ("__init__.py", "__main__.py") and path.name not in basenames]
    assert missing == [], f"ARCHITECTURE.md does not name: {missing}"


def test_test_modules_have_unique_names() -> None:
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
