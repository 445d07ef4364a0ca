"""Wait until containers are healthy, and confirm that Prometheus really runs the config it was given.

Docker runs a container's first healthcheck only after a full `interval` (10-30 s here; Docker 20.10
has no start_interval). Rather than sleep through it, we run the same healthcheck command in the
container ourselves while the engine still says "starting": the check is the container's own, only
earlier.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackgen.errors import NotHealthy, RuntimeFailure
from stackgen.parallel import map_all
from stackgen.runtime import http
from stackgen.runtime.engine import ContainerState, Engine
from stackgen.runtime.progress import Reporter
from stackgen.runtime.reload import reload_confirmed

if TYPE_CHECKING:
    from stackgen.runtime.web_access import WebAccess

_POLL_S = 0.25
_OWN_CHECK_EVERY_S = 0.5


@dataclass(frozen=True)
class Started:
    """A container apply started and must see healthy."""

    service: str
    container_id: str


def wait_healthy(engine: Engine, started: Sequence[Started], timeout_s: float, reporter: Reporter) -> None:
    """Wait for every container in parallel; raises NotHealthy for the first that fails."""
    if not started:
        return
    deadline = time.monotonic() + timeout_s
    map_all(lambda item: _wait_one(engine, item, deadline, timeout_s, reporter), started)


def is_ready(engine: Engine, container_id: str, state: ContainerState) -> bool:
    """Healthy by the engine, or by running the container's own healthcheck command now."""
    if state.status != "running":
        return False
    if not state.has_healthcheck or state.health == "healthy":
        return True
    test = state.healthcheck_test
    if test[0] == "CMD":
        argv = list(test[1:])
    elif test[0] == "CMD-SHELL":
        argv = ["/bin/sh", "-c", test[1]]
    else:
        return False
    try:
        code, _ = engine.exec(container_id, argv)
    except RuntimeFailure:
        return False  # e.g. the container stopped in between; the next poll will tell
    return code == 0


def _wait_one(engine: Engine, item: Started, deadline: float, timeout_s: float, reporter: Reporter) -> None:
    last_own_check = 0.0
    while True:
        state = engine.state(item.container_id)
        if state.status in ("exited", "dead"):
            raise NotHealthy(
                item.service, f"exited with code {state.exit_code}", engine.logs_tail(item.container_id)
            )
        if state.health == "unhealthy":
            raise NotHealthy(item.service, "is unhealthy", engine.logs_tail(item.container_id))
        now = time.monotonic()
        if state.status == "running" and (state.health == "healthy" or not state.has_healthcheck):
            reporter.service(item.service, "healthy" if state.has_healthcheck else "running")
            return
        if state.status == "running" and now - last_own_check >= _OWN_CHECK_EVERY_S:
            last_own_check = now
            if is_ready(engine, item.container_id, state):
                reporter.service(item.service, "healthy")
                return
        if now > deadline:
            raise NotHealthy(
                item.service,
                f"not healthy after {timeout_s:.0f} s ({state.status})",
                engine.logs_tail(item.container_id),
            )
        time.sleep(_POLL_S)


def confirm_reload(
    service: str, role: str, base_url: str, expected_jobs: set[str] | None, access: WebAccess | None = None
) -> None:
    """Check the service's own word that the reload took (metric, and for Prometheus its job list)."""
    metrics = http.request("GET", base_url + "/metrics", access=access, server_name=service)
    if metrics.ok and reload_confirmed(role, metrics.body) is False:
        raise RuntimeFailure(f"{service}: reload accepted but its config_last_reload_successful metric is 0")
    if role != "prometheus" or expected_jobs is None:
        return
    answer = http.request("GET", base_url + "/api/v1/status/config", access=access, server_name=service)
    if not answer.ok:
        raise RuntimeFailure(f"{service}: cannot read back its config ({answer.status}: {answer.body[:200]})")
    running = prometheus_jobs(answer.json()["data"]["yaml"])
    if running != expected_jobs:
        missing = sorted(expected_jobs - running)
        extra = sorted(running - expected_jobs)
        raise RuntimeFailure(
            f"{service}: runs a different config after reload (missing jobs {missing}, extra {extra})"
        )


def prometheus_jobs(config_text: str) -> set[str]:
    """The scrape job names of a Prometheus config."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(config_text) or {}
    return {str(job.get("job_name")) for job in data.get("scrape_configs") or []}
