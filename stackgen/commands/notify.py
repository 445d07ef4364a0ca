"""`stackgen notify test|preview`: prove that notifications arrive, or show them before they do."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from stackgen.commands.options import output_dir, spec_file


@click.group("notify")
def command() -> None:
    """Send test notifications or preview messages per receiver."""


@command.command("test")
@spec_file
@output_dir
@click.argument("receivers", nargs=-1)
@click.option("--alertmanager-url", help="Alertmanager to send through [default: its published port].")
@click.option("--relay-url", help="The relay, for its delivery records [default: its published port].")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for each verdict.")
def test(
    spec_path: Path,
    out_dir: Path | None,
    receivers: tuple[str, ...],
    alertmanager_url: str | None,
    relay_url: str | None,
    timeout: float,
) -> None:
    """Send a marked test alert through the running Alertmanager to each RECEIVER (default: all)."""
    from stackgen import api

    verdicts = api.notify_test(
        spec_path,
        out_dir,
        receivers,
        alertmanager_url=alertmanager_url,
        relay_url=relay_url,
        timeout=timeout,
        progress=lambda message: click.echo(message, err=True),
    )
    width = max(len(v.receiver) for v in verdicts)
    for verdict in verdicts:
        mark = "ok    " if verdict.delivered else "FAILED"
        click.echo(f"{mark} {verdict.receiver:<{width}}  {verdict.detail}")
    failed = sum(not v.delivered for v in verdicts)
    if failed:
        click.echo(f"{failed} of {len(verdicts)} receiver(s) did not get the test notification", err=True)
        sys.exit(1)


@command.command("preview")
@spec_file
@output_dir
@click.argument("receiver")
@click.option(
    "--alerts",
    "alerts_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Alertmanager webhook JSON, or a JSON list of alerts [default: a sample alert].",
)
@click.option(
    "--relay-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="relay.yml to use [default: generated/relay/relay.yml].",
)
def preview(
    spec_path: Path, out_dir: Path | None, receiver: str, alerts_file: Path | None, relay_config: Path | None
) -> None:
    """Print the request bodies RECEIVER's channels would send (signatures are added at send time)."""
    from stackgen import api

    payload = None
    if alerts_file is not None:
        try:
            payload = json.loads(alerts_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise click.BadParameter(f"{alerts_file}: {error}", param_hint="--alerts") from error
    for title, bodies in api.notify_preview(spec_path, out_dir, receiver, payload, relay_config):
        click.echo(f"# {title}: {len(bodies)} request(s)")
        for body in bodies:
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
