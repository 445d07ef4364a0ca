"""What the stack's Prometheus says about the fleet: target health, exporter versions, reloads."""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from stackgen.model import Stack
from stackgen.render.fleet import FLEET_JOB
from stackgen.runtime import http
from stackgen.runtime.web_access import WebAccess, read_web_access


@dataclass(frozen=True)
class TargetHealth:
    """One fleet target as Prometheus scrapes it."""

    instance: str
    health: str  # up | down | unknown
    last_error: str
    last_scrape: str


@dataclass(frozen=True)
class PrometheusEndpoint:
    """Where and how this machine reaches the stack's (first) Prometheus (web TLS and auth included)."""

    base_url: str
    access: WebAccess

    def get(self, path: str) -> http.Response:
        return http.request("GET", self.base_url + path, timeout=5.0, access=self.access)


def prometheus_endpoint(stack: Stack, out_dir: Path) -> PrometheusEndpoint:
    """The stack's Prometheus as rendered into out_dir."""
    host = "127.0.0.1" if stack.listen in ("0.0.0.0", "::") else stack.listen
    access = read_web_access(out_dir)
    return PrometheusEndpoint(access.url(host, stack.prometheus.port), access)


def fleet_targets(endpoint: PrometheusEndpoint) -> dict[str, TargetHealth] | None:
    """instance -> health of the `fleet` job's targets (None: Prometheus does not answer)."""
    answer = endpoint.get("/api/v1/targets?state=active")
    if not answer.ok:
        return None
    found: dict[str, TargetHealth] = {}
    for target in answer.json().get("data", {}).get("activeTargets", []):
        labels = target.get("labels", {})
        if labels.get("job") == FLEET_JOB:
            found[labels.get("instance", "")] = TargetHealth(
                labels.get("instance", ""),
                target.get("health", ""),
                target.get("lastError", ""),
                target.get("lastScrape", ""),
            )
    return found


def exporter_versions(endpoint: PrometheusEndpoint) -> dict[str, str]:
    """instance -> node_exporter version (node_exporter_build_info)."""
    query = urllib.parse.quote(f'node_exporter_build_info{{job="{FLEET_JOB}"}}')
    answer = endpoint.get(f"/api/v1/query?query={query}")
    if not answer.ok:
        return {}
    return {
        item["metric"].get("instance", ""): item["metric"].get("version", "")
        for item in answer.json().get("data", {}).get("result", [])
    }


def reload(endpoint: PrometheusEndpoint) -> bool:
    """POST /-/reload; False when Prometheus does not answer or refuses."""
    return http.request("POST", f"{endpoint.base_url}/-/reload", timeout=30.0, access=endpoint.access).ok


def _instant(text: str) -> dt.datetime:
    """An RFC 3339 time as Prometheus writes it (nanoseconds, Z) or isoformat() does; the epoch if neither."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return dt.datetime.fromtimestamp(0, dt.timezone.utc)
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return dt.datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}")


def wait_scraped_up(
    endpoint: PrometheusEndpoint, instances: set[str], since: str, deadline_seconds: float
) -> set[str]:
    """Wait until every instance had a successful scrape after `since` (RFC 3339); the ones that did not."""
    deadline = time.monotonic() + deadline_seconds
    pending = set(instances)
    while pending and time.monotonic() < deadline:
        targets = fleet_targets(endpoint) or {}
        pending = {
            name
            for name in pending
            if not (
                name in targets
                and targets[name].health == "up"
                and _instant(targets[name].last_scrape) > _instant(since)
            )
        }
        if pending:
            time.sleep(0.5)
    return pending
