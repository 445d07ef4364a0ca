"""Find the shipped blueprints/ directory, in a source checkout or an installed wheel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from stackgen.errors import RuntimeFailure

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def blueprints_dir() -> Path:
    """The directory holding stack blueprints, rules/ and dashboards/."""
    candidates = (
        _PACKAGE_DIR / "_blueprints",  # a wheel: pyproject force-includes blueprints/ here
        _PACKAGE_DIR.parent / "blueprints",  # a source checkout or an editable install
    )
    for candidate in candidates:
        if (candidate / "rules").is_dir():
            return candidate
    raise RuntimeFailure(
        "stackgen's blueprints are missing (looked in " + ", ".join(str(c) for c in candidates) + ")",
        hint="reinstall stackgen: the package is incomplete",
    )
