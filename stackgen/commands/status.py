"""`stackgen status`: containers, health, addresses, Prometheus targets and firing alerts."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stackgen.commands.options import output_dir, project, spec_file


@click.command("status")
@spec_file
@output_dir
@project
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def command(spec_path: Path, out_dir: Path | None, project: str | None, as_json: bool) -> None:
    """Show the stack's services, targets and alerts; exit 0 only when every service is healthy."""
    from ruamel.yaml import YAML

    from stackgen.api import default_output_dir
    from stackgen.commands.runtime_console import print_json, project_name
    from stackgen.runtime.compose_file import parse_project
    from stackgen.runtime.engine import Engine
    from stackgen.runtime.status import collect_status

    target = out_dir or default_output_dir(spec_path)
    name = project_name(spec_path, target, project)
    compose_path = target / "docker-compose.yml"
    definition = None
    if compose_path.is_file():
        definition = parse_project(YAML(typ="safe").load(compose_path.read_bytes()) or {}, compose_path, name)
    status = collect_status(Engine.connect(), name, definition, docker_discovery=_discovers_docker(target))
    if as_json:
        print_json(status.to_data())
    else:
        click.echo(f"{name}: {'healthy' if status.healthy else 'NOT healthy'}")
        for service in status.services:
            state = service.state + (f" ({service.health})" if service.health else "")
            click.echo(
                f"  {service.service:20} {state:22} {service.image or '':40} "
                f"{' '.join(service.published)}".rstrip()
            )
        if status.targets:
            click.echo("targets:")
            for job in status.targets:
                errors = f"  {job.errors[0]}" if job.errors else ""
                pending = f", {job.unknown} not scraped yet" if job.unknown else ""
                click.echo(f"  {job.job:30} {job.up} up, {job.down} down{pending}{errors}")
        if status.alerts:
            click.echo("firing alerts:")
            for alert in status.alerts:
                click.echo(f"  {alert['alertname']} {alert['severity']} {alert['instance']}".rstrip())
        cluster = status.to_data()["alertmanager_cluster"]
        if cluster:
            views = ", ".join(f"{m['service']} {m['status']} sees {m['peers']}" for m in cluster["members"])
            click.echo(f"alertmanager cluster: {cluster['size']} members ({views})")
        if status.discovered:
            click.echo("discovered containers (docker):")
            for found in status.discovered:
                where = found.address or "not scraped"
                health = f" {found.health}" if found.health else ""
                why = f": {found.reason}" if found.reason else ""
                error = f" ({found.last_error})" if found.last_error else ""
                click.echo(f"  {found.container:30} job {found.job:20} {where}{health}{why}{error}")
        for note in status.notes:
            click.echo(f"note: {note}")
    sys.exit(0 if status.healthy else 1)


def _discovers_docker(out_dir: Path) -> bool:
    """True when the rendered Prometheus config has the docker discovery job."""
    from stackgen.render.docker_discovery import JOB_NAME

    return any(f"job_name: {JOB_NAME}" in path.read_text(encoding="utf-8", errors="replace")
               for path in (out_dir / "prometheus").glob("prometheus*.yml"))
