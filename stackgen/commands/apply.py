"""`stackgen apply`: render, then converge the running stack and hot-reload what changed."""

from __future__ import annotations

from functools import partial
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
    from stackgen.api import default_output_dir, load_stack, render_steps
    from stackgen.commands.runtime_console import ConsoleReporter, print_json
    from stackgen.render.check import CHECK_RECORD, check_rendered
    from stackgen.runtime.apply import ApplyOptions, apply_files
    from stackgen.runtime.images import PullPolicy
    from stackgen.runtime.lock import stack_lock
    from stackgen.spec.meaning import is_loopback

    reporter = ConsoleReporter(quiet=quiet or as_json)
    stack = load_stack(spec_path)
    target = out_dir or default_output_dir(spec_path)
    if stack.web.insecure and not is_loopback(stack.listen):
        click.echo(f"warning: {stack.name} publishes every endpoint on {stack.listen} without a password "
                   "(web.insecure)", err=True)
    with stack_lock(spec_path, lock_timeout_s, reporter):
        # one step, or the three steps of rotating the internal user (each converged before the next)
        for files in render_steps(stack, target, rotate_credentials):
            report = apply_files(
                files,
                target,
                stack.name,
                reporter=reporter,
                check=partial(check_rendered, record=target / CHECK_RECORD),
                options=ApplyOptions(PullPolicy(pull), timeout_s),
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
