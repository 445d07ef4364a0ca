"""`stackgen fleet apply`: render, fetch the binary once, roll out to the hosts that need it, rotate.

A scrape password change is rolled out in three steps so that no scrape fails: the exporters accept
the old and the new user, Prometheus switches (reload) and scrapes every host with the new one, then
the old user is dropped. Unreachable or failed hosts do not stop the others; they are named in the
result, not recorded as done, and the next run converges them."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackgen.errors import InvalidInput
from stackgen.fleet import prometheus, state
from stackgen.fleet.artifact import ensure_binary
from stackgen.fleet.model import FleetHost
from stackgen.fleet.runner import HostOutcome, run_playbook
from stackgen.model import Stack
from stackgen.render import fleet as fleet_render

if TYPE_CHECKING:
    from stackgen.api import RenderOutcome

Progress = Callable[[str], None]
# Renders the stack into its output dir (stackgen.api.render of the spec) and returns what it did.
Render = Callable[[], "RenderOutcome"]


@dataclass
class FleetApplyResult:
    """Per host what happened, which hosts were skipped (recorded state matched), and notes."""

    outcomes: dict[str, HostOutcome] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    check: bool = False
    seconds: float = 0.0

    @property
    def problem_hosts(self) -> list[str]:
        return [name for name, outcome in self.outcomes.items() if not outcome.succeeded]

    @property
    def changed(self) -> int:
        return sum(outcome.changed for outcome in self.outcomes.values())

    def add_outcomes(self, outcomes: dict[str, HostOutcome]) -> None:
        """A later run's outcomes replace the earlier ones, the changes of both counted."""
        for name, outcome in outcomes.items():
            previous = self.outcomes.get(name)
            if previous is not None:
                outcome.changed += previous.changed
            self.outcomes[name] = outcome


def prometheus_config_changed(paths: Sequence[str]) -> bool:
    """Whether a render changed what Prometheus reads only on reload (not file_sd targets, not secrets)."""
    return any(
        path.startswith("prometheus/") and not path.startswith("prometheus/targets/") for path in paths
    )


def select_hosts(stack: Stack, limit: Sequence[str]) -> list[FleetHost]:
    """Hosts named by --limit (host names or groups, comma-separated); all without one."""
    assert stack.fleet is not None
    hosts = list(stack.fleet.hosts)
    if not limit:
        return hosts
    wanted = {part.strip() for item in limit for part in item.split(",") if part.strip()}
    known = {h.name for h in hosts} | {g for h in hosts for g in h.groups}
    unknown = sorted(wanted - known)
    if unknown:
        raise InvalidInput(
            f"--limit: no host or group {', '.join(repr(u) for u in unknown)} in the fleet",
            hint=f"hosts: {', '.join(h.name for h in hosts)}",
        )
    return [h for h in hosts if h.name in wanted or wanted & set(h.groups)]


def roll_out(
    render: Render,
    limit: Sequence[str] = (),
    *,
    check: bool = False,
    full: bool = False,
    progress: Progress | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> FleetApplyResult:
    """Converge the fleet of what `render` writes (called first, and again by each rotation step);
    see the module docstring. stackgen.api.fleet_apply is the entry point."""
    say = progress or (lambda message: None)
    started = time.monotonic()
    result = FleetApplyResult(check=check)
    rendered = render()
    stack, target = rendered.stack, rendered.out_dir
    if stack.fleet is None:
        raise InvalidInput("the spec has no fleet: section")
    binary = ensure_binary(stack.fleet.node_exporter)
    if binary.fetched:
        say(
            f"fetched node_exporter {stack.fleet.node_exporter.version} "
            f"(sha256 {binary.tarball_sha256[:12]}…, checked against the release's sha256sums)"
        )
    hosts = select_hosts(stack, limit)
    endpoint = prometheus.prometheus_endpoint(stack, target)
    targets = prometheus.fleet_targets(endpoint)
    recorded = state.read_state(target)
    fingerprints = {h.name: state.host_fingerprint(target, h, binary.tarball_sha256) for h in hosts}

    def healthy(name: str) -> bool:
        return targets is None or (name in targets and targets[name].health == "up")

    to_run = [
        h.name
        for h in hosts
        if full or check or recorded.get(h.name) != fingerprints[h.name] or not healthy(h.name)
    ]
    result.unchanged = [h.name for h in hosts if h.name not in to_run]
    if to_run:
        say(f"rolling out to {len(to_run)} host(s): {', '.join(to_run)}")
        result.outcomes = run_playbook(target, to_run, stack.fleet.forks, check=check, on_event=on_event)
    if not check:
        done = {name: fingerprints[name] for name, o in result.outcomes.items() if o.succeeded}
        state.write_state(target, {**recorded, **done})
        if (
            prometheus_config_changed(rendered.result.created + rendered.result.changed)
            and targets is not None
        ):
            # after the roll-out: a job switched to https must find exporters that already speak it
            if prometheus.reload(endpoint):
                say("Prometheus reloaded: its config changed")
            else:
                result.notes.append("Prometheus refused or missed the reload: run `stackgen apply`")
        _rotate(render, target, stack, result, endpoint, say, on_event)
    result.seconds = time.monotonic() - started
    return result


def _rotate(
    render: Render,
    out_dir: Path,
    stack: Stack,
    result: FleetApplyResult,
    endpoint: prometheus.PrometheusEndpoint,
    say: Progress,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> None:
    """Finish a scrape password rotation once every host accepts the new user."""
    assert stack.fleet is not None
    path = out_dir / fleet_render.CREDENTIALS_PATH
    credentials = _read_credentials(path) if path.is_file() else None
    if credentials is None or not credentials.rotating:
        return
    if result.problem_hosts:
        result.notes.append("scrape password rotation waits: every host must accept the new user first")
        return
    everyone = [h.name for h in stack.fleet.hosts]
    recorded = state.read_state(out_dir)
    binary = ensure_binary(stack.fleet.node_exporter)
    behind = [
        h.name
        for h in stack.fleet.hosts
        if recorded.get(h.name) != state.host_fingerprint(out_dir, h, binary.tarball_sha256)
    ]
    if behind:  # e.g. left out by --limit: they do not accept the new user yet
        result.notes.append(f"scrape password rotation waits for {', '.join(behind)} to accept the new user")
        return
    if _switch_prometheus(render, out_dir, credentials, endpoint, everyone, result, say):
        _retire_old_user(render, out_dir, credentials, everyone, binary.tarball_sha256, result, on_event)


def _switch_prometheus(
    render: Render,
    out_dir: Path,
    credentials: fleet_render.ScrapeCredentials,
    endpoint: prometheus.PrometheusEndpoint,
    everyone: list[str],
    result: FleetApplyResult,
    say: Progress,
) -> bool:
    """The rotation's second step: Prometheus scrapes with the new user. False when it has not scraped
    every host with it yet, so the old user must stay accepted."""
    since = dt.datetime.now(dt.timezone.utc).isoformat()
    _write_credentials(out_dir, fleet_render.switched(credentials))
    render()
    if not prometheus.reload(endpoint):
        result.notes.append("Prometheus did not answer a reload: it reads the new user when it next starts")
        return True
    pending = prometheus.wait_scraped_up(endpoint, set(everyone), since, 60.0)
    if pending:
        result.notes.append(
            f"Prometheus switched to {credentials.accepted[-1].name} but has not scraped "
            f"{', '.join(sorted(pending))} with it yet: the old user stays accepted"
        )
        return False
    say(f"Prometheus scrapes every host as {credentials.accepted[-1].name}")
    return True


def _retire_old_user(
    render: Render,
    out_dir: Path,
    credentials: fleet_render.ScrapeCredentials,
    everyone: list[str],
    tarball_sha256: str,
    result: FleetApplyResult,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> None:
    """The rotation's last step: every host stops accepting the old user; those that did are recorded."""
    _write_credentials(out_dir, fleet_render.retired(fleet_render.switched(credentials)))
    rendered = render()
    assert rendered.stack.fleet is not None
    outcomes = run_playbook(out_dir, everyone, rendered.stack.fleet.forks, on_event=on_event)
    result.add_outcomes(outcomes)
    state.write_state(
        out_dir,
        {
            **state.read_state(out_dir),
            **{
                h.name: state.host_fingerprint(out_dir, h, tarball_sha256)
                for h in rendered.stack.fleet.hosts
                if outcomes[h.name].succeeded
            },
        },
    )
    if all(o.succeeded for o in outcomes.values()):
        result.notes.append("scrape password rotated: the old user is no longer accepted")


def _read_credentials(path: Path) -> fleet_render.ScrapeCredentials | None:
    data = path.read_bytes()
    try:
        password = json.loads(data)["accepted"][-1]["password"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return fleet_render.scrape_credentials(password, data)


def _write_credentials(out_dir: Path, credentials: fleet_render.ScrapeCredentials) -> None:
    """Rewrite the credentials secret in place (0600, atomic); the next render keeps it."""
    path = out_dir / fleet_render.CREDENTIALS_PATH
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(credentials.to_bytes())
    partial.chmod(0o600)
    os.replace(partial, path)
