"""The rule groups Prometheus loads: shipped packs (parameters applied) and the user's own groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render.dump import yaml_bytes
from stackgen.render.topology import slug

RULE_DIRS = {"groups": "rules", "packs": "rules/packs", "files": "rules/files"}


def render_rules(stack: Stack) -> dict[str, RenderedFile]:
    """prometheus/rules/*.yml: one file per pack, per user group, and per included rule file."""
    files: dict[str, RenderedFile] = {}
    for group in stack.rule_groups:
        files[f"prometheus/{RULE_DIRS['groups']}/{slug(str(group['name']))}.yml"] = RenderedFile(
            yaml_bytes({"groups": [group]})
        )
    # Packs and included files have folders of their own, so no group name can take their file.
    for pack, groups in pack_groups(stack).items():
        files[f"prometheus/{RULE_DIRS['packs']}/{slug(pack)}.yml"] = RenderedFile(
            yaml_bytes({"groups": groups})
        )
    for path in stack.rule_files:
        # Kept byte for byte: whatever promtool accepts, Prometheus gets exactly as written.
        source = Path(path)
        shown = source.relative_to(stack.spec_dir) if source.is_relative_to(stack.spec_dir) else source
        name = slug(shown.with_suffix("").as_posix())
        files[f"prometheus/{RULE_DIRS['files']}/{name}.yml"] = RenderedFile(stack.read(path))
    return files


def pack_groups(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """The groups of each included pack, with the spec's parameters, language and disabled rules."""
    if not stack.rule_packs.include:
        return {}
    from stackgen.content.rules import load_pack

    return {
        name: load_pack(name, stack.rule_packs.params.get(name, {}), stack.rule_packs.disable, stack.language)
        for name in stack.rule_packs.include
    }
