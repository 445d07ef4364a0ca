"""`stackgen render`: write every config file of the stack, atomically, and say what changed."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import output_dir, spec_file


@click.command("render")
@spec_file
@output_dir
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 when the output dir is not what the spec renders (for CI).",
)
def command(spec_path: Path, out_dir: Path | None, check_only: bool) -> None:
    """Render the stack into generated/ (or -o DIR); unchanged files are left untouched."""
    from stackgen.api import render

    outcome = render(spec_path, out_dir, dry_run=check_only)
    if check_only:
        # Secrets are made per machine and never committed: a checked-in render is compared without them.
        stale = [
            (verb, path)
            for verb, paths in (
                ("missing", outcome.result.created),
                ("differs", outcome.result.changed),
                ("extra", outcome.result.removed),
            )
            for path in paths
            if not path.startswith("secrets/")
        ]
        for verb, path in stale:
            click.echo(f"  {verb:8} {path}")
        if stale:
            count = f"{len(stale)} file{'s' if len(stale) != 1 else ''}"
            click.echo(f"{outcome.out_dir}: out of date ({count}); `stackgen render` updates it")
            raise SystemExit(1)
        click.echo(f"{outcome.out_dir}: up to date (secret files not compared)")
        return
    for notice in outcome.notices:
        click.echo(notice.format(), err=True)
    result = outcome.result
    changes = (("created", result.created), ("changed", result.changed), ("removed", result.removed))
    for verb, paths in changes:
        for path in paths:
            click.echo(f"  {verb:8} {path}")
    total = len(result.created) + len(result.changed) + len(result.removed)
    if total:
        click.echo(
            f"{outcome.out_dir}: {len(result.created)} created, {len(result.changed)} changed, "
            f"{len(result.removed)} removed, {len(result.unchanged)} unchanged"
        )
    else:
        click.echo(f"{outcome.out_dir}: up to date ({len(result.unchanged)} files)")
