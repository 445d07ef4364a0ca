"""`stackgen logs`: what the stack's containers printed, each line prefixed by its service."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import output_dir, project, spec_file


def _complete_services(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The services of the rendered compose file beside the spec (for shell completion)."""
    from stackgen.api import default_output_dir
    from stackgen.errors import InvalidInput
    from stackgen.rendered import read_rendered

    spec = Path(ctx.params.get("spec_path") or "stack.yaml")
    try:
        services = read_rendered(ctx.params.get("out_dir") or default_output_dir(spec)).service_names
    except InvalidInput:
        return []
    return [name for name in services if name.startswith(incomplete)]


@click.command("logs")
@spec_file
@output_dir
@click.argument("services", nargs=-1, shell_complete=_complete_services)
@project
@click.option(
    "--follow", is_flag=True, help="Keep printing new lines until interrupted (-f is the spec file)."
)
@click.option(
    "-n",
    "--tail",
    "tail",
    default="100",
    show_default=True,
    help="Lines from the end of each container's log, or 'all'.",
)
@click.option(
    "--since",
    "since_s",
    type=click.IntRange(min=1),
    default=None,
    help="Only lines from the last this many seconds.",
)
def command(
    spec_path: Path,
    out_dir: Path | None,
    services: tuple[str, ...],
    project: str | None,
    follow: bool,
    tail: str,
    since_s: int | None,
) -> None:
    """Print the logs of the stack's services (all, or those named)."""
    from stackgen import api
    from stackgen.errors import InvalidInput

    if tail != "all" and not tail.isdigit():
        raise InvalidInput(f"--tail: expected a number of lines or 'all', not {tail!r}")
    outcome = api.logs(
        spec_path,
        out_dir,
        project,
        services,
        tail=None if tail == "all" else int(tail),
        follow=follow,
        since_s=since_s,
    )
    if not outcome.containers:
        click.echo(
            f"{outcome.project}: no containers (the stack is not running; `stackgen apply` starts it)",
            err=True,
        )
        return
    width = max((len(c.service) + 2 for c in outcome.containers), default=0)
    try:
        for line in outcome.lines:
            click.echo(f"{click.style(line.service.ljust(width), fg='cyan')}| {line.text}")
    except KeyboardInterrupt:
        pass  # the way to stop --follow
