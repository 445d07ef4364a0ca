"""`stackgen schema`: print the JSON Schema of stack.yaml, for editors and CI linters."""

from __future__ import annotations

import click


@click.command("schema")
def command() -> None:
    """Print the JSON Schema of stack.yaml (e.g. for the YAML language server)."""
    from stackgen.spec.schema import schema_text

    click.echo(schema_text(), nl=False)
