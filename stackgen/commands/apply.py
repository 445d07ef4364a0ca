"""`stackgen apply`: render, then converge the running stack and hot-reload what changed."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import lock_timeout, output_dir, spec_file


@click.command("apply")
@spec_file
@output_dir
@click.option(
    "--pull",
    type=click.Choice(["missing", "always", "never"]),
    default="missing",
    show_default=True,
    help="When to pull images.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to wait for containers to become healthy.",
)
@click.option(
    "--rotate-credentials",
    is_flag=True,
    help="Give the stack's internal user (Prometheus, Alertmanager, Grafana datasources, healthchecks) "
    "a new password: accepted beside the old one, then switched to, then the old one dropped.",
)
@lock_timeout
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary.")
def command(
    spec_path: Path,
    out_dir: Path | None,
    pull: str,
    timeout_s: float,
    rotate_credentials: bool,
    lock_timeout_s: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Create what is missing, recreate what changed, reload changed config; roll back on failure."""
    from stackgen import api
    from stackgen.commands.console import ConsoleReporter, print_json
    from stackgen.runtime.images import PullPolicy

    report = api.apply(
        spec_path,
        out_dir,
        pull=PullPolicy(pull),
        health_timeout_s=timeout_s,
        lock_timeout_s=lock_timeout_s,
        rotate_credentials=rotate_credentials,
        reporter=ConsoleReporter(quiet=quiet or as_json),
        warn=lambda message: click.echo(f"warning: {message}", err=True),
    )
    if as_json:
        print_json(report.to_data())
        return
    done = report.result.summary()
    written = len(report.files.created) + len(report.files.changed) + len(report.files.removed)
    parts = [
        f"{len(done[kind])} {label}"
        for kind, label in (
            ("create", "created"),
            ("recreate", "recreated"),
            ("start", "started"),
            ("reload", "reloaded"),
            ("remove", "removed"),
            ("noop", "unchanged"),
        )
    ]
    click.echo(f"{report.project}: {', '.join(parts)}; {written} files written ({report.seconds:.2f} s)")
