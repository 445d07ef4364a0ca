"""`stackgen down`: remove the stack's containers and network; volumes stay unless --volumes."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import lock_timeout, output_dir, project, spec_file


@click.command("down")
@spec_file
@output_dir
@project
@click.option("-v", "--volumes", is_flag=True, help="Also remove the named volumes (the metrics history).")
@lock_timeout
def command(
    spec_path: Path, out_dir: Path | None, project: str | None, volumes: bool, lock_timeout_s: float
) -> None:
    """Stop and remove the stack's containers and network."""
    from stackgen import api
    from stackgen.commands.console import ConsoleReporter

    outcome = api.down(
        spec_path,
        out_dir,
        project,
        volumes=volumes,
        lock_timeout_s=lock_timeout_s,
        reporter=ConsoleReporter(),
    )
    name, report = outcome.project, outcome.report
    kept = "" if volumes else " (volumes kept; --volumes removes them)"
    click.echo(
        f"{name}: removed {len(report.containers)} containers, {len(report.networks)} networks, "
        f"{len(report.volumes)} volumes{kept}"
    )
