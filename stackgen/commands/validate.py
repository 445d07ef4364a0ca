"""`stackgen validate`: report every problem of a spec, one per line, with line and column."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import spec_file
from stackgen.errors import InvalidSpec


@click.command("validate")
@spec_file
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when the spec is valid.")
def command(spec_path: Path, quiet: bool) -> None:
    """Check a spec: YAML, ${VAR}s, schema, then meaning (receivers, PromQL, duplicates, ...)."""
    from stackgen.api import load_stack, validate

    checked = validate(spec_path)
    for notice in checked.notices:
        click.echo(notice.format(), err=True)
    if checked.errors:
        raise InvalidSpec(checked.errors)
    if not quiet:
        stack = load_stack(spec_path)
        rules = sum(len(group.get("rules") or []) for group in stack.rule_groups)
        click.echo(
            f"{checked.loaded.file}: valid — {len(stack.jobs)} jobs, {len(stack.probes)} probes, "
            f"{rules} rules of your own + {len(stack.rule_packs.include)} packs, {len(stack.receivers)} receivers"
        )
