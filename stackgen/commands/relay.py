"""`stackgen relay`: run the notification relay (the stack's relay container runs the same code)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stackgen.relay.main import DEFAULT_CONFIG, run


@click.command(name="relay")
@click.option(
    "--config",
    "config",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="relay.yml to serve.",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def command(config: Path, log_level: str) -> None:
    """Run the notification relay (used inside the stack)."""
    sys.exit(run(config, log_level))
