"""`stackgen plan`: what apply would change (files, containers, reloads), changing nothing."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import output_dir, spec_file


@click.command("plan")
@spec_file
@output_dir
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Show each changed file as a unified diff (secret files are only named).",
)
def command(spec_path: Path, out_dir: Path | None, as_json: bool, show_diff: bool) -> None:
    """Show the file changes and container actions apply would make."""
    from stackgen import api
    from stackgen.commands.console import file_diff, file_line, print_json, styled_diff_line

    outcome = api.plan(spec_path, out_dir)
    files, target, report = outcome.files, outcome.out_dir, outcome.report
    changes = report.files
    touched = [
        (verb, path, changes.previous.get(path), files[path].content if path in files else None)
        for verb, paths in (
            ("created", changes.created),
            ("changed", changes.changed),
            ("removed", changes.removed),
        )
        for path in paths
    ]
    if as_json:
        data = report.to_data()
        if show_diff:
            data["diff"] = {
                path: "\n".join(file_diff(path, before, after)) for _, path, before, after in touched
            }
        print_json(data)
        return
    click.echo(f"files ({target}): " + (f"{len(touched)} to write" if touched else "up to date"))
    for verb, path, before, after in touched:
        click.echo(file_line(verb, path, before, after))
        if show_diff:
            for line in file_diff(path, before, after):
                click.echo(styled_diff_line(line))
    click.echo(f"services ({report.project}):")
    for action in report.plan.actions:
        reasons = "; ".join(action.reasons)
        click.echo(f"  {action.kind.value:9} {action.service:20} {reasons}".rstrip())
    for image in report.missing_images:
        click.echo(f"  pull      {image}")
    if not touched and not report.plan.changes_anything and not report.missing_images:
        click.echo("nothing to do")
