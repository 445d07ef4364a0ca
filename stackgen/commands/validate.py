"""`stackgen validate`: report every problem of a spec, one per line, with line and column."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import spec_file
from stackgen.errors import InvalidSpec
from stackgen.spec.validate import CheckedSpec


@click.command("validate")
@spec_file
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when the spec is valid.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="json: every problem as data on stdout; github: GitHub Actions annotations.",
)
def command(spec_path: Path, quiet: bool, output_format: str) -> None:
    """Check a spec: YAML, ${VAR}s, schema, then meaning (receivers, PromQL, duplicates, ...)."""
    from stackgen.api import load_stack, validate

    checked = validate(spec_path)
    if not checked.errors:
        checked = _with_discovery_preview(checked)
    if output_format != "text":
        problems = [*checked.errors, *checked.notices]
        if output_format == "json":
            from stackgen.commands.console import print_json

            ordered = sorted(problems, key=lambda problem: problem.sort_key)
            print_json(
                {
                    "file": str(checked.loaded.file),
                    "valid": not checked.errors,
                    "problems": [problem.to_data() for problem in ordered],
                }
            )
        else:
            for problem in problems:
                click.echo(problem.github_annotation())
        if checked.errors:
            raise SystemExit(InvalidSpec.exit_code)
        return
    for notice in checked.notices:
        click.echo(notice.format(), err=True)
    if checked.errors:
        raise InvalidSpec(checked.errors)
    if not quiet:
        stack = load_stack(spec_path)
        rules = sum(len(group.get("rules") or []) for group in stack.rule_groups)
        click.echo(
            f"{checked.loaded.file}: valid — {len(stack.jobs)} jobs, {len(stack.probes)} probes, "
            f"{rules} rules of your own + {len(stack.rule_packs.include)} packs, "
            f"{len(stack.receivers)} receivers"
        )


def _with_discovery_preview(checked: CheckedSpec) -> CheckedSpec:
    """With docker discovery on: what it would find on this engine now, as notices (and warnings for the
    labelled containers it cannot reach), at the `discovery.docker` key."""
    from dataclasses import replace

    from stackgen.runtime.discovered import preview
    from stackgen.spec.build import docker_discovery
    from stackgen.spec.problems import Severity

    data = checked.loaded.data if isinstance(checked.loaded.data, dict) else {}
    section = data.get("discovery")
    settings = docker_discovery(section.get("docker") if isinstance(section, dict) else None)
    if settings is None or settings.socket is None:
        return checked
    found, failure = preview(settings.socket)
    where = ("discovery", "docker")
    added = (
        [
            checked.loaded.problem(
                where, f"docker discovery cannot look at the engine now: {failure}", severity=Severity.NOTICE
            )
        ]
        if failure
        else []
    )
    for container in found:
        if container.address:
            added.append(
                checked.loaded.problem(
                    where,
                    f"discovers {container.container} (job {container.job}) at "
                    f"{container.address}{container.metrics_path}",
                    severity=Severity.NOTICE,
                )
            )
        elif container.state == "running":
            message = f"cannot scrape {container.container}: {container.reason}"
            added.append(checked.loaded.problem(where, message, severity=Severity.WARNING))
    return replace(checked, problems=sorted([*checked.problems, *added], key=lambda p: p.sort_key))
