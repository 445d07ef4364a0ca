"""`stackgen init`: start a stack from a blueprint."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path, dir_okay=True, file_okay=False), required=False)
@click.option("-b", "--blueprint", default="default", show_default=True, help="Blueprint to start from.")
@click.option("--name", help="Stack (compose project) name [default: the directory's name].")
@click.option("--force", is_flag=True, help="Overwrite an existing stack.yaml.")
@click.option("--list", "list_only", is_flag=True, help="List the blueprints and exit.")
def command(directory: Path | None, blueprint: str, name: str | None, force: bool, list_only: bool) -> None:
    """Write DIRECTORY/stack.yaml (commented), .gitignore and .env.example from a blueprint."""
    from stackgen.scaffold import blueprints, init_stack

    if list_only:
        for found in blueprints():
            click.echo(f"{found.name:15} {found.summary}")
        return
    if directory is None:
        raise click.UsageError("give the directory to create the stack in, e.g. `stackgen init mystack`")
    for path in init_stack(directory, blueprint, force, name):
        click.echo(f"  wrote {path}")
    _say_what_to_finish(directory / "stack.yaml")
    spec = directory / "stack.yaml"
    click.echo(f"next: stackgen validate -f {spec} && stackgen render -f {spec}")


def _say_what_to_finish(spec_path: Path) -> None:
    """What the blueprint leaves to do before the stack works as meant (a receiver without a channel)."""
    from stackgen.api import validate
    from stackgen.spec.problems import Severity

    for problem in validate(spec_path).problems:
        if problem.severity is Severity.WARNING:
            click.echo(f"to do: {problem.message}", err=True)
            if problem.hint:
                click.echo(f"       {problem.hint} (line {problem.line} of stack.yaml)", err=True)
