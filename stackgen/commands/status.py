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
    from stackgen import api
    from stackgen.commands.console import print_json

    status = api.status(spec_path, out_dir, project)
    name = status.project
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
