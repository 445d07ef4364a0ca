"""`stackgen fleet apply|status`: node_exporter on the hosts of `fleet:`, over SSH with Ansible."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stackgen.commands.options import output_dir, spec_file


@click.group("fleet")
def command() -> None:
    """Roll node_exporter out to the fleet's hosts and show how Prometheus scrapes them."""


@command.command("apply")
@spec_file
@output_dir
@click.option(
    "--limit",
    "limit",
    multiple=True,
    metavar="HOSTS",
    help="Only these hosts or groups (comma-separated, repeatable).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Show what would change on the hosts and change nothing there (generated/ is rendered as usual).",
)
@click.option("--full", is_flag=True, help="Contact every host, even those whose recorded state matches.")
def apply_command(
    spec_path: Path, out_dir: Path | None, limit: tuple[str, ...], check: bool, full: bool
) -> None:
    """Render, fetch and verify the exporter once, roll it out; exit 1 names the hosts that failed."""
    from stackgen import api

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind in ("failed", "unreachable") or (kind == "ok" and event.get("changed")):
            word = "changed" if kind == "ok" else kind
            tail = f": {event.get('message')}" if kind != "ok" and event.get("message") else ""
            click.echo(f"  {event.get('host')}: {word:11} {event.get('task')}{tail}")

    result = api.fleet_apply(
        spec_path, out_dir, limit, check=check, full=full, progress=click.echo, on_event=on_event
    )
    click.echo("")
    for name, outcome in result.outcomes.items():
        detail = f" ({outcome.reason})" if outcome.reason else ""
        click.echo(f"  {name:24} {outcome.state:11} ok={outcome.ok} changed={outcome.changed}{detail}")
    for name in result.unchanged:
        click.echo(f"  {name:24} {'unchanged':11} (recorded state matches, target up)")
    for note in result.notes:
        click.echo(note)
    verb = "would change" if check else "changed"
    summary = (
        f"fleet: {len(result.outcomes) + len(result.unchanged)} hosts, {verb} {result.changed} "
        f"in {result.seconds:.1f} s"
    )
    if result.changed == 0 and not result.problem_hosts:
        summary += " — nothing to change"
    click.echo(summary)
    if result.problem_hosts:
        click.echo(
            f"stackgen: failed or unreachable: {', '.join(result.problem_hosts)} "
            "(the others are done; run fleet apply again to converge them)",
            err=True,
        )
        raise SystemExit(1)


@command.command("status")
@spec_file
@output_dir
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(spec_path: Path, out_dir: Path | None, as_json: bool) -> None:
    """Each host's exporter version, TLS expiry and scrape health from Prometheus."""
    from stackgen import api

    found = api.fleet_status(spec_path, out_dir)
    hosts, answered = found.hosts, found.prometheus_answered
    if as_json:
        click.echo(json.dumps({"prometheus": answered, "hosts": [h.to_data() for h in hosts]}, indent=2))
        return
    if not answered:
        click.echo("Prometheus does not answer: health unknown (is the stack up? `stackgen apply`)", err=True)
    click.echo(f"{'HOST':20} {'GROUP':12} {'VERSION':10} {'TLS EXPIRES':12} HEALTH")
    for host in hosts:
        error = f" ({host.last_error})" if host.last_error else ""
        click.echo(
            f"{host.name:20} {host.group:12} {host.version or '-':10} {host.tls_expires or '-':12} "
            f"{host.health}{error}"
        )
    if any(host.health != "up" for host in hosts):
        raise SystemExit(1)
