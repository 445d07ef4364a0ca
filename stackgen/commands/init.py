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
    click.echo(f"next: stackgen validate -f {directory / 'stack.yaml'} && stackgen render -f {directory / 'stack.yaml'}")
