"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

spec_file = click.option(
    "-f",
    "--file",
    "spec_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("stack.yaml"),
    show_default=True,
    envvar="STACKGEN_FILE",
    help="The stack spec.",
)
output_dir = click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to write the files [default: generated/ beside the spec].",
)
project = click.option(
    "-p",
    "--project",
    "project",
    default=None,
    help="The compose project [default: the stack's].",
)
lock_timeout = click.option(
    "--lock-timeout",
    "lock_timeout_s",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for an apply already running on the same stack.",
)
