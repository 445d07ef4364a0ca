"""`stackgen plan`: what apply would change (files, containers, reloads), changing nothing."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import output_dir, spec_file


@click.command("plan")
@spec_file
@output_dir
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def command(spec_path: Path, out_dir: Path | None, as_json: bool) -> None:
    """Show the file changes and container actions apply would make."""
    from stackgen.api import default_output_dir, load_stack, render_files
    from stackgen.commands.runtime_console import file_line, print_json
    from stackgen.runtime.apply import plan_files

    stack = load_stack(spec_path)
    target = out_dir or default_output_dir(spec_path)
    files = render_files(stack, target)
    report = plan_files(files, target, stack.name)
    if as_json:
        print_json(report.to_data())
        return
    changes = report.files
    lines = [
        file_line(verb, path, changes.previous.get(path), files[path].content if path in files else None)
        for verb, paths in (
            ("created", changes.created),
            ("changed", changes.changed),
            ("removed", changes.removed),
        )
        for path in paths
    ]
    click.echo(f"files ({target}): " + (f"{len(lines)} to write" if lines else "up to date"))
    for line in lines:
        click.echo(line)
    click.echo(f"services ({report.project}):")
    for action in report.plan.actions:
        reasons = "; ".join(action.reasons)
        click.echo(f"  {action.kind.value:9} {action.service:20} {reasons}".rstrip())
    for image in report.missing_images:
        click.echo(f"  pull      {image}")
    if not lines and not report.plan.changes_anything and not report.missing_images:
        click.echo("nothing to do")
