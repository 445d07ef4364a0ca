"""`stackgen logs`: what the stack's containers printed, each line prefixed by its service."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import output_dir, project, spec_file


def _complete_services(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The services of the rendered compose file beside the spec (for shell completion)."""
    from stackgen.api import default_output_dir
    from stackgen.spec.load import read_yaml_data

    spec = Path(ctx.params.get("spec_path") or "stack.yaml")
    compose = (ctx.params.get("out_dir") or default_output_dir(spec)) / "docker-compose.yml"
    try:
        services = (read_yaml_data(compose.read_text(encoding="utf-8")) or {}).get("services") or {}
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in services if name.startswith(incomplete)]


@click.command("logs")
@spec_file
@output_dir
@click.argument("services", nargs=-1, shell_complete=_complete_services)
@project
@click.option("--follow", is_flag=True,
              help="Keep printing new lines until interrupted (-f is the spec file).")
@click.option("-n", "--tail", "tail", default="100", show_default=True,
              help="Lines from the end of each container's log, or 'all'.")
@click.option("--since", "since_s", type=click.IntRange(min=1), default=None,
              help="Only lines from the last this many seconds.")
def command(spec_path: Path, out_dir: Path | None, services: tuple[str, ...], project: str | None,
            follow: bool, tail: str, since_s: int | None) -> None:
    """Print the logs of the stack's services (all, or those named)."""
    import time

    from stackgen.api import default_output_dir
    from stackgen.commands.runtime_console import project_name
    from stackgen.errors import InvalidInput
    from stackgen.runtime.engine import Engine
    from stackgen.runtime.logs import read_logs, select_containers

    if tail != "all" and not tail.isdigit():
        raise InvalidInput(f"--tail: expected a number of lines or 'all', not {tail!r}")
    from stackgen.runtime.swarm import is_swarm_output

    target = out_dir or default_output_dir(spec_path)
    name = project_name(spec_path, target, project)
    since = int(time.time()) - since_s if since_s else None
    lines = None if tail == "all" else int(tail)
    if is_swarm_output(target):  # the seam: a swarm stack's logs come from its services
        from stackgen.runtime.swarm.observe import swarm_logs

        containers, source = swarm_logs(name, services, lines, follow, since)
    else:
        engine = Engine.connect()
        containers = select_containers(engine.containers(name), services)
        source = read_logs(engine, containers, lines, follow, since)
    if not containers:
        click.echo(f"{name}: no containers (the stack is not running; `stackgen apply` starts it)", err=True)
        return
    width = max((len(c.service) + 2 for c in containers), default=0)
    try:
        for line in source:
            click.echo(f"{click.style(line.service.ljust(width), fg='cyan')}| {line.text}")
    except KeyboardInterrupt:
        pass  # the way to stop --follow
