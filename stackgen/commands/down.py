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
    from stackgen.api import default_output_dir
    from stackgen.commands.runtime_console import ConsoleReporter, project_name
    from stackgen.runtime.down import take_down
    from stackgen.runtime.engine import Engine
    from stackgen.runtime.lock import stack_lock
    from stackgen.runtime.state import forget_applied

    target = out_dir or default_output_dir(spec_path)
    name = project_name(spec_path, target, project)
    from stackgen.runtime.swarm import is_swarm_output

    reporter = ConsoleReporter()
    with stack_lock(spec_path, lock_timeout_s, reporter):
        if is_swarm_output(target):  # the seam: a swarm stack is removed by the swarm engine
            from stackgen.runtime.swarm.observe import swarm_down

            report = swarm_down(name, volumes=volumes, reporter=reporter)
        else:
            report = take_down(Engine.connect(), name, volumes=volumes, reporter=reporter)
        forget_applied(target)
    kept = "" if volumes else " (volumes kept; --volumes removes them)"
    click.echo(
        f"{name}: removed {len(report.containers)} containers, {len(report.networks)} networks, "
        f"{len(report.volumes)} volumes{kept}"
    )
