#!/usr/bin/env python3
"""Regenerate (or with --check, verify) the golden renders of every blueprint and the committed
generated/ directory (the default blueprint), so a reader sees what stackgen produces.

    python scripts/update_golden.py          # rewrite tests/golden/<blueprint>/ and generated/
    python scripts/update_golden.py --check  # exit 1 and list the differences if they are stale

Secrets are never part of either: they are random (Grafana's password) or come from the environment.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
GENERATED = ROOT / "generated"
# Fixed values for the variables blueprints name, so their renders are reproducible.
GOLDEN_ENV = {
    "DINGTALK_URL": "https://oapi.dingtalk.com/robot/send?access_token=golden",
    "DINGTALK_SECRET": "SECgolden",
    "WECOM_ROBOT_KEY": "golden-key",
    "WECOM_SECRET": "golden-secret",
    "SMTP_PASSWORD": "golden-password",
}
GENERATED_BLUEPRINT = "default"
GENERATED_NAME = "stackgen-demo"


def rendered(blueprint: str, name: str) -> dict[str, bytes]:
    """The non-secret files of a blueprint rendered as stack `name`."""
    sys.path.insert(0, str(ROOT))
    from stackgen.api import load_stack, render_files
    from stackgen.scaffold import init_stack

    with tempfile.TemporaryDirectory() as directory:
        spec_dir = Path(directory) / name
        init_stack(spec_dir, blueprint, stack_name=name)
        stack = load_stack(spec_dir / "stack.yaml", env=GOLDEN_ENV)
        files = render_files(stack, spec_dir / "generated")
        return {path: file.content for path, file in files.items() if not file.is_secret}


def expected_trees() -> dict[Path, dict[str, bytes]]:
    """Every golden directory and the files it must hold."""
    from stackgen.scaffold import blueprints

    sys.path.insert(0, str(ROOT))
    trees = {GOLDEN / found.name: rendered(found.name, found.name) for found in blueprints()}
    trees[GENERATED] = rendered(GENERATED_BLUEPRINT, GENERATED_NAME)
    return trees


def actual_tree(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "secrets" not in path.relative_to(directory).parts
        and path.name != ".stackgen-manifest.json"
    }


def differences() -> list[str]:
    """What is stale, one line per file."""
    found = []
    for directory, expected in expected_trees().items():
        actual = actual_tree(directory)
        label = directory.relative_to(ROOT)
        for path in sorted(set(expected) | set(actual)):
            if path not in actual:
                found.append(f"missing  {label}/{path}")
            elif path not in expected:
                found.append(f"extra    {label}/{path}")
            elif actual[path] != expected[path]:
                found.append(f"stale    {label}/{path}")
    return found


def write() -> None:
    for directory, expected in expected_trees().items():
        if directory.exists():
            for child in directory.iterdir():
                if child.name != "secrets":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        for path, content in expected.items():
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        print(f"wrote {directory.relative_to(ROOT)} ({len(expected)} files)")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    if "--check" in sys.argv[1:]:
        stale = differences()
        for line in stale:
            print(line)
        if stale:
            print("golden files are stale: run `python scripts/update_golden.py`")
        return 1 if stale else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
