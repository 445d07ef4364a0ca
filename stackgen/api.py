"""stackgen's public API: what the commands call, and what scripts, benches and tests call too.

The pipeline, one function a step: validate → load_stack (the model) → render_files → render (write),
and against a running stack plan → apply | down | status | logs (one host or a swarm: the engine is
chosen from the rendered files). The fleet adapter: fleet_apply | fleet_status. A running stack's
alerting: notify_test, notify_preview, silence_add | silences | silence_expire. Each returns values;
the CLI only prints them. Runtime modules are imported inside the functions, so `validate` never loads
docker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackgen.errors import InvalidInput
from stackgen.model import Stack
from stackgen.output import RenderedFile, WriteResult, write_output
from stackgen.spec.problems import Problem
from stackgen.spec.validate import CheckedSpec, check_spec

if TYPE_CHECKING:
    from stackgen.alerting.alertmanager_api import AlertmanagerAPI, Matcher
    from stackgen.alerting.delivery_check import Verdict
    from stackgen.fleet.apply import FleetApplyResult
    from stackgen.fleet.status import HostStatus
    from stackgen.runtime.apply import ApplyReport, PlanReport
    from stackgen.runtime.down import DownReport
    from stackgen.runtime.engine import Engine
    from stackgen.runtime.images import PullPolicy
    from stackgen.runtime.logs import LogLine
    from stackgen.runtime.plan import ObservedContainer
    from stackgen.runtime.progress import Reporter
    from stackgen.runtime.status import StackStatus

DEFAULT_LOCK_TIMEOUT_S = 60.0
DEFAULT_HEALTH_TIMEOUT_S = 120.0


def default_spec_path() -> Path:
    """`./stack.yaml`."""
    return Path("stack.yaml")


def default_output_dir(spec_path: Path) -> Path:
    """Where a spec's files are rendered by default: `generated/` beside it."""
    return spec_path.parent / "generated"


def validate(spec_path: Path, env: Mapping[str, str] | None = None) -> CheckedSpec:
    """Check a spec; the result carries every problem (errors and notices)."""
    from stackgen.spec.interpolate import environment_for

    environment = environment_for(spec_path, os.environ if env is None else env)
    return check_spec(spec_path, environment, display_name=_display_name(spec_path))


def load_stack(spec_path: Path, env: Mapping[str, str] | None = None) -> Stack:
    """Check a spec and build its model; raises InvalidSpec with every problem if it is not valid."""
    return validate(spec_path, env).valid_stack()


def render_files(stack: Stack, out_dir: Path) -> dict[str, RenderedFile]:
    """Every file of the stack, in memory (secrets generated before are kept from out_dir; certificates
    near expiry are renewed)."""
    from stackgen.clock import utc_now
    from stackgen.output import read_existing_secrets
    from stackgen.render import render_stack

    return render_stack(stack, read_existing_secrets(out_dir), utc_now())


def render_steps(
    stack: Stack, out_dir: Path, rotate_credentials: bool = False
) -> Iterator[dict[str, RenderedFile]]:
    """The files of each step apply must converge to, in order: one render, or the three of rotating
    the stack's internal user (accept the new one beside the old, switch the clients, drop the old) so
    that no scrape is refused. Secrets are read again before each step: apply the files of one step
    before asking for the next. `rotate_credentials`: give the internal user a new password."""
    import secrets as random_source

    from stackgen.clock import utc_now
    from stackgen.output import read_existing_secrets
    from stackgen.render import render_stack
    from stackgen.render.web import INTERNAL_PASSWORD, rotation_steps

    existing = read_existing_secrets(out_dir)
    if rotate_credentials and stack.web.users:
        existing[INTERNAL_PASSWORD] = random_source.token_urlsafe(18).encode()
    for index, overlap in enumerate(rotation_steps(stack, existing)):
        if index:
            existing = read_existing_secrets(out_dir)
        yield render_stack(stack, existing, utc_now(), overlap)


@dataclass(frozen=True)
class RenderOutcome:
    """What `render` did: the model, where it wrote, and which files changed."""

    stack: Stack
    out_dir: Path
    result: WriteResult
    notices: list[Problem]


def render(
    spec_path: Path, out_dir: Path | None = None, env: Mapping[str, str] | None = None, dry_run: bool = False
) -> RenderOutcome:
    """Check the spec, render every file, check them with the upstream tools, and write them atomically.

    `dry_run`: only say what would be written (the result), touching nothing."""
    from stackgen.output import diff_output
    from stackgen.upstream_check import check_rendered

    checked = validate(spec_path, env)
    stack = checked.valid_stack()
    target = out_dir or default_output_dir(spec_path)
    files = render_files(stack, target)
    check_rendered(files)
    result = diff_output(files, target) if dry_run else write_output(files, target)
    return RenderOutcome(stack, target, result, checked.notices)


def project_name(spec_path: Path, out_dir: Path | None = None, given: str | None = None) -> str:
    """The compose project: `given`, else the rendered compose file's, else the spec's name."""
    from stackgen.rendered import COMPOSE_FILE, read_rendered_if_any

    if given:
        return given
    target = out_dir or default_output_dir(spec_path)
    rendered = read_rendered_if_any(target)
    if rendered is not None and rendered.project_name:
        return rendered.project_name
    if not spec_path.is_file():
        raise InvalidInput(
            f"{spec_path} does not exist and {target / COMPOSE_FILE} neither",
            hint="give the project with --project",
        )
    return load_stack(spec_path).name


@dataclass(frozen=True)
class PlanOutcome:
    """What `plan` found: the rendered files (not written) and what apply would do with them."""

    stack: Stack
    out_dir: Path
    files: dict[str, RenderedFile]
    report: PlanReport


def plan(
    spec_path: Path,
    out_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    engine: Engine | None = None,
) -> PlanOutcome:
    """Render in memory and decide what apply would change (files, containers, reloads, pulls)."""
    from stackgen.runtime.apply import plan_files

    stack = load_stack(spec_path, env)
    target = out_dir or default_output_dir(spec_path)
    files = render_files(stack, target)
    return PlanOutcome(stack, target, files, plan_files(files, target, stack.name, engine))


def apply(
    spec_path: Path,
    out_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    pull: PullPolicy | None = None,
    health_timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    rotate_credentials: bool = False,
    reporter: Reporter | None = None,
    engine: Engine | None = None,
    warn: Callable[[str], None] | None = None,
) -> ApplyReport:
    """Render, check with promtool/amtool, write, and converge the running stack under the stack's lock.

    `rotate_credentials`: give the stack's internal user a new password, in the three converged steps
    of render_steps. `warn` is told what the user should know on every apply (an insecure listen)."""
    from functools import partial

    from stackgen.runtime.apply import ApplyOptions, apply_files
    from stackgen.runtime.images import PullPolicy
    from stackgen.runtime.lock import stack_lock
    from stackgen.runtime.progress import SilentReporter
    from stackgen.spec.meaning_web import is_loopback
    from stackgen.upstream_check import CHECK_RECORD, check_rendered

    reporter = reporter or SilentReporter()
    stack = load_stack(spec_path, env)
    target = out_dir or default_output_dir(spec_path)
    if stack.web.insecure and not is_loopback(stack.listen) and warn is not None:
        warn(f"{stack.name} publishes every endpoint on {stack.listen} without a password (web.insecure)")
    report = None
    with stack_lock(spec_path, lock_timeout_s, reporter):
        # one step, or the three steps of rotating the internal user (each converged before the next)
        for files in render_steps(stack, target, rotate_credentials):
            report = apply_files(
                files,
                target,
                stack.name,
                reporter=reporter,
                engine=engine,
                check=partial(check_rendered, record=target / CHECK_RECORD),
                options=ApplyOptions(pull or PullPolicy.MISSING, health_timeout_s),
            )
    assert report is not None  # render_steps yields at least one step
    return report


@dataclass(frozen=True)
class DownOutcome:
    """What `down` removed, and from which project."""

    project: str
    report: DownReport


def down(
    spec_path: Path,
    out_dir: Path | None = None,
    project: str | None = None,
    *,
    volumes: bool = False,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    reporter: Reporter | None = None,
    engine: Engine | None = None,
) -> DownOutcome:
    """Remove the stack's containers and network (and named volumes with `volumes`)."""
    from stackgen.runtime.engines import engine_for_output
    from stackgen.runtime.lock import stack_lock
    from stackgen.runtime.progress import SilentReporter
    from stackgen.runtime.state import forget_applied

    reporter = reporter or SilentReporter()
    target = out_dir or default_output_dir(spec_path)
    name = project_name(spec_path, target, project)
    with stack_lock(spec_path, lock_timeout_s, reporter):
        report = engine_for_output(target, engine).down(name, volumes=volumes, reporter=reporter)
        forget_applied(target)
    return DownOutcome(name, report)


def status(
    spec_path: Path, out_dir: Path | None = None, project: str | None = None, engine: Engine | None = None
) -> StackStatus:
    """Containers, health, published addresses, targets and firing alerts of the running stack."""
    from stackgen.runtime.engines import engine_for_output

    target = out_dir or default_output_dir(spec_path)
    return engine_for_output(target, engine).status(target, project_name(spec_path, target, project))


@dataclass(frozen=True)
class LogsOutcome:
    """The containers whose output `lines` yields (empty when the stack is not running)."""

    project: str
    containers: Sequence[ObservedContainer]
    lines: Iterator[LogLine]


def logs(
    spec_path: Path,
    out_dir: Path | None = None,
    project: str | None = None,
    services: Sequence[str] = (),
    *,
    tail: int | None = 100,
    follow: bool = False,
    since_s: int | None = None,
    engine: Engine | None = None,
) -> LogsOutcome:
    """The output of the stack's containers (of `services`, or all), line by line."""
    import time

    from stackgen.runtime.engines import engine_for_output

    target = out_dir or default_output_dir(spec_path)
    name = project_name(spec_path, target, project)
    since = int(time.time()) - since_s if since_s else None
    containers, lines = engine_for_output(target, engine).logs(name, services, tail, follow, since)
    return LogsOutcome(name, containers, lines)


# --- the fleet: node_exporter on hosts outside the stack, over SSH with Ansible ------------------------
def fleet_apply(
    spec_path: Path,
    out_dir: Path | None = None,
    limit: Sequence[str] = (),
    *,
    check: bool = False,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
    on_event: Callable[[dict[str, object]], None] | None = None,
) -> FleetApplyResult:
    """Render, fetch and verify the exporter once, roll it out to the hosts that need it (all with
    `full`; `check`: what would change), then point Prometheus at them; per-host outcomes."""
    from functools import partial

    from stackgen.fleet.apply import roll_out

    return roll_out(
        partial(render, spec_path, out_dir),
        limit,
        check=check,
        full=full,
        progress=progress,
        on_event=on_event,
    )


@dataclass(frozen=True)
class FleetStatus:
    hosts: list[HostStatus]
    prometheus_answered: bool  # False: health unknown


def fleet_status(spec_path: Path, out_dir: Path | None = None) -> FleetStatus:
    """Each fleet host's exporter version, TLS expiry and scrape health (from Prometheus)."""
    from stackgen.fleet.status import fleet_status as collect

    stack = load_stack(spec_path)
    if stack.fleet is None:
        raise InvalidInput("the spec has no fleet: section")
    hosts, answered = collect(stack, out_dir or default_output_dir(spec_path))
    return FleetStatus(hosts, answered)


# --- a running stack's alerting: test notifications, previews, silences -------------------------------
def notify_test(
    spec_path: Path,
    out_dir: Path | None = None,
    receivers: Sequence[str] = (),
    *,
    alertmanager_url: str | None = None,
    relay_url: str | None = None,
    timeout: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> list[Verdict]:
    """Send a marked test alert through the running Alertmanager to each receiver (default: all) and
    wait for each delivery's verdict."""
    from stackgen.alerting.alertmanager_api import AlertmanagerAPI
    from stackgen.alerting.delivery_check import run_notify_test, targets_from_config
    from stackgen.alerting.endpoints import endpoints, read_yaml

    files, am_url, relay = endpoints(out_dir or default_output_dir(spec_path), alertmanager_url, relay_url)
    am_config = read_yaml(files.out_dir / "alertmanager" / "alertmanager.yml")
    relay_config = read_yaml(files.out_dir / "relay" / "relay.yml", missing_ok=True)
    targets = targets_from_config(am_config, (relay_config.get("receivers") or {}).keys(), receivers)
    if not targets:
        raise InvalidInput("the stack has no receivers to test")
    if progress is not None:
        progress(f"sending a test alert to {len(targets)} receiver(s) through {am_url} ...")
    return run_notify_test(AlertmanagerAPI(am_url, files.access), relay, targets, timeout=timeout)


def notify_preview(
    spec_path: Path,
    out_dir: Path | None,
    receiver: str,
    payload: object = None,
    relay_config: Path | None = None,
) -> list[tuple[str, list[dict[str, Any]]]]:
    """(channel, request bodies) that RECEIVER's relay channels would send for `payload` (Alertmanager
    webhook JSON or a list of alerts; None: a sample alert); signatures are added only at send time."""
    from stackgen.alerting.endpoints import relay_paths
    from stackgen.alerting.preview import preview_requests

    config_path, path_map = relay_paths(out_dir or default_output_dir(spec_path), relay_config)
    return preview_requests(config_path, receiver, payload, path_map)


def _alertmanager(spec_path: Path, out_dir: Path | None, url: str | None) -> AlertmanagerAPI:
    from stackgen.alerting.alertmanager_api import AlertmanagerAPI
    from stackgen.alerting.endpoints import alertmanager_endpoint

    files, am_url = alertmanager_endpoint(out_dir or default_output_dir(spec_path), url)
    return AlertmanagerAPI(am_url, files.access)


def silence_add(
    spec_path: Path,
    out_dir: Path | None,
    matchers: Sequence[str],
    duration: str,
    comment: str,
    author: str,
    alertmanager_url: str | None = None,
) -> tuple[str, list[Matcher]]:
    """Silence the alerts matching every matcher (`alertname=X`, `job=~"api.*"`) for `duration` (2h, 1d):
    the new silence's ID and the matchers as Alertmanager got them."""
    from stackgen.alerting.alertmanager_api import parse_duration, parse_matcher

    parsed = [parse_matcher(m) for m in matchers]
    length = parse_duration(duration)
    silence_id = _alertmanager(spec_path, out_dir, alertmanager_url).add_silence(
        parsed, length, comment, author
    )
    return silence_id, parsed


def silences(
    spec_path: Path, out_dir: Path | None, include_expired: bool = False, alertmanager_url: str | None = None
) -> list[dict[str, Any]]:
    """Alertmanager's silence records (API v2), the soonest to end first."""
    found = [
        s
        for s in _alertmanager(spec_path, out_dir, alertmanager_url).silences()
        if include_expired or s.get("status", {}).get("state") != "expired"
    ]
    return sorted(found, key=lambda s: str(s.get("endsAt")))


def silence_expire(
    spec_path: Path,
    out_dir: Path | None,
    silence_ids: Sequence[str],
    alertmanager_url: str | None = None,
    on_expired: Callable[[str], None] | None = None,
) -> None:
    """Expire each silence in turn (`on_expired` is told each ID once it is expired; the first that
    Alertmanager refuses stops the rest)."""
    am = _alertmanager(spec_path, out_dir, alertmanager_url)
    for silence_id in silence_ids:
        am.expire_silence(silence_id)
        if on_expired is not None:
            on_expired(silence_id)


def _display_name(spec_path: Path) -> str:
    try:
        return os.path.relpath(spec_path)
    except ValueError:
        return str(spec_path)
