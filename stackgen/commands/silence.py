"""`stackgen silence add|list|expire`: Alertmanager silences through its API v2."""

from __future__ import annotations

import getpass
import json
from datetime import datetime, timezone
from pathlib import Path

import click

from stackgen.commands.options import output_dir, spec_file

alertmanager_url = click.option("--alertmanager-url", help="Alertmanager [default: its published port].")


@click.group("silence")
def command() -> None:
    """Add, list or expire Alertmanager silences."""


@command.command("add")
@spec_file
@output_dir
@alertmanager_url
@click.argument("matchers", nargs=-1, required=True)
@click.option("-d", "--duration", default="2h", show_default=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option("-c", "--comment", required=True, help="Why (shown to everyone who sees the silence).")
@click.option("--author", default=None, help="Who [default: the current user].")
def add(
    spec_path: Path,
    out_dir: Path | None,
    alertmanager_url: str | None,
    matchers: tuple[str, ...],
    duration: str,
    comment: str,
    author: str | None,
) -> None:
    """Silence alerts matching every MATCHER (alertname=X, job=~"api.*", severity!=info)."""
    from stackgen import api

    silence_id, parsed = api.silence_add(
        spec_path, out_dir, matchers, duration, comment, author or getpass.getuser(), alertmanager_url
    )
    click.echo(silence_id)
    click.echo(f"silenced {{{', '.join(str(m) for m in parsed)}}} for {duration}", err=True)


@command.command("list")
@spec_file
@output_dir
@alertmanager_url
@click.option("--all", "show_all", is_flag=True, help="Also expired silences.")
@click.option("--json", "as_json", is_flag=True, help="The API's records as JSON.")
def list_(
    spec_path: Path, out_dir: Path | None, alertmanager_url: str | None, show_all: bool, as_json: bool
) -> None:
    """List active and pending silences."""
    from stackgen import api
    from stackgen.alerting.alertmanager_api import matcher_from_api

    silences = api.silences(spec_path, out_dir, show_all, alertmanager_url)
    if as_json:
        click.echo(json.dumps(silences, ensure_ascii=False, indent=2))
        return
    if not silences:
        click.echo("no silences", err=True)
        return
    for s in silences:
        matchers = ", ".join(str(matcher_from_api(m)) for m in s.get("matchers", []))
        ends = _local(str(s.get("endsAt", "")))
        click.echo(
            f"{s.get('id')}  {s.get('status', {}).get('state', '?'):8} until {ends}  "
            f"{{{matchers}}}  {s.get('createdBy', '')}: {s.get('comment', '')}"
        )


def _local(stamp: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@command.command("expire")
@spec_file
@output_dir
@alertmanager_url
@click.argument("silence_ids", nargs=-1, required=True)
def expire(
    spec_path: Path, out_dir: Path | None, alertmanager_url: str | None, silence_ids: tuple[str, ...]
) -> None:
    """Expire the silences with these IDs."""
    from stackgen import api

    api.silence_expire(
        spec_path,
        out_dir,
        silence_ids,
        alertmanager_url,
        on_expired=lambda silence_id: click.echo(f"expired {silence_id}", err=True),
    )
