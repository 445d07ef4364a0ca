"""Whatever promtool accepts, stackgen accepts and preserves: every rule file of the awesome-prometheus-alerts
corpus (../shared/corpus, never copied into the repository) goes into a spec two ways, (a) its groups
under rules.groups, written by a YAML dumper, and (b) the file itself through rules.files. Both validate,
render, pass `promtool check rules`, and every rule (alert, expr, for, labels, annotations) reads back
exactly as in the source.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.core_helpers import (
    CORPUS_RULES,
    base_spec,
    in_ci,
    load_yaml_both,
    render_in_memory,
    require_tool,
    write_files,
    write_spec,
)

pytestmark = pytest.mark.slow  # 112 files, two specs each, promtool on each: ~30 s

CORPUS_FILES = sorted(CORPUS_RULES.glob("*.yml")) if CORPUS_RULES.is_dir() else []


def escape_dollars(data: Any) -> Any:
    """A literal `${` or `$$` in a rule is written `$${`/`$$$$` in stack.yaml (interpolation)."""
    if isinstance(data, str):
        return data.replace("$", "$$") if ("${" in data or "$$" in data) else data
    if isinstance(data, list):
        return [escape_dollars(item) for item in data]
    if isinstance(data, dict):
        return {key: escape_dollars(value) for key, value in data.items()}
    return data


def rendered_groups(files: dict[str, Any], directory: str) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in sorted(files):
        if path.startswith(f"prometheus/{directory}") and path.endswith(".yml"):
            groups += load_yaml_both(files[path].content)["groups"]
    return groups


def promtool_check_rules(files: dict[str, Any], out: Path) -> None:
    promtool = require_tool("promtool")
    write_files({p: f for p, f in files.items() if p.startswith("prometheus/rules/")}, out)
    rules = sorted(str(path) for path in (out / "prometheus" / "rules").rglob("*.yml"))
    assert rules
    completed = subprocess.run([promtool, "check", "rules", *rules], capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_corpus_is_present() -> None:
    if not CORPUS_RULES.is_dir():
        message = f"the rule corpus is absent ({CORPUS_RULES}); CI has it beside the checkout"
        if in_ci():
            pytest.fail(message)  # its 226 cases would be silently missing
        pytest.skip(message)
    assert len(CORPUS_FILES) >= 100


@pytest.mark.parametrize("source", CORPUS_FILES, ids=[path.stem for path in CORPUS_FILES])
def test_corpus_groups_in_the_spec(source: Path, tmp_path: Path) -> None:
    expected = load_yaml_both(source.read_bytes())["groups"]
    spec = write_spec(tmp_path, base_spec(rules={"include": [], "groups": escape_dollars(expected)}))
    files = render_in_memory(spec, env={})
    assert rendered_groups(files, "rules/") == expected
    promtool_check_rules(files, tmp_path / "out")


@pytest.mark.parametrize("source", CORPUS_FILES, ids=[path.stem for path in CORPUS_FILES])
def test_corpus_file_through_rules_files(source: Path, tmp_path: Path) -> None:
    expected = load_yaml_both(source.read_bytes())["groups"]
    (tmp_path / "rules").mkdir()
    shutil.copy(source, tmp_path / "rules" / source.name)  # a temporary copy beside the spec, not in the repo
    spec = write_spec(tmp_path, base_spec(rules={"include": [], "files": [f"rules/{source.name}"]}))
    files = render_in_memory(spec, env={})
    [(_path, file)] = [(p, f) for p, f in files.items() if p.startswith("prometheus/rules/")]
    assert file.content == source.read_bytes(), "an included rule file is kept byte for byte"
    assert rendered_groups(files, "rules/") == expected
    promtool_check_rules(files, tmp_path / "out")


def test_rule_file_outside_the_spec_folder(tmp_path: Path) -> None:
    if not CORPUS_FILES:
        pytest.skip("the rule corpus is absent")
    source = CORPUS_FILES[0]
    spec = write_spec(tmp_path / "spec", base_spec(rules={"include": [], "files": [str(source)]}))
    files = render_in_memory(spec, env={})
    assert [f.content for p, f in files.items() if p.startswith("prometheus/rules/")] == [source.read_bytes()]
