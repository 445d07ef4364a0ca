"""`stackgen render`: write every config file of the stack, atomically, and say what changed."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import output_dir, spec_file


@click.command("render")
@spec_file
@output_dir
def command(spec_path: Path, out_dir: Path | None) -> None:
    """Render the stack into generated/ (or -o DIR); unchanged files are left untouched."""
    from stackgen.api import render

    outcome = render(spec_path, out_dir)
    for notice in outcome.notices:
        click.echo(notice.format(), err=True)
    result = outcome.result
    for verb, paths in (("created", result.created), ("changed", result.changed), ("removed", result.removed)):
        for path in paths:
            click.echo(f"  {verb:8} {path}")
    total = len(result.created) + len(result.changed) + len(result.removed)
    if total:
        click.echo(f"{outcome.out_dir}: {len(result.created)} created, {len(result.changed)} changed, "
                   f"{len(result.removed)} removed, {len(result.unchanged)} unchanged")
    else:
        click.echo(f"{outcome.out_dir}: up to date ({len(result.unchanged)} files)")
