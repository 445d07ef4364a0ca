"""What the stack's Prometheus says about the fleet: target health, exporter versions, reloads."""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.parse
from dataclasses import dataclass

from stackgen.model import Stack
from stackgen.render.fleet import FLEET_JOB
from stackgen.runtime import http


@dataclass(frozen=True)
class TargetHealth:
    """One fleet target as Prometheus scrapes it."""

    instance: str
    health: str  # up | down | unknown
    last_error: str
    last_scrape: str


def prometheus_url(stack: Stack) -> str:
    """Where this machine reaches the stack's (first) Prometheus."""
    host = "127.0.0.1" if stack.listen in ("0.0.0.0", "::") else stack.listen
    return f"http://{host}:{stack.prometheus.port}"


def fleet_targets(base_url: str) -> dict[str, TargetHealth] | None:
    """instance -> health of the `fleet` job's targets (None: Prometheus does not answer)."""
    answer = http.request("GET", f"{base_url}/api/v1/targets?state=active", timeout=5.0)
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


def exporter_versions(base_url: str) -> dict[str, str]:
    """instance -> node_exporter version (node_exporter_build_info)."""
    query = urllib.parse.quote(f'node_exporter_build_info{{job="{FLEET_JOB}"}}')
    answer = http.request("GET", f"{base_url}/api/v1/query?query={query}", timeout=5.0)
    if not answer.ok:
        return {}
    return {
        item["metric"].get("instance", ""): item["metric"].get("version", "")
        for item in answer.json().get("data", {}).get("result", [])
    }


def reload(base_url: str) -> bool:
    """POST /-/reload; False when Prometheus does not answer or refuses."""
    return http.request("POST", f"{base_url}/-/reload", timeout=30.0).ok


def _instant(text: str) -> dt.datetime:
    """An RFC 3339 time as Prometheus writes it (nanoseconds, Z) or isoformat() does; the epoch if neither."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return dt.datetime.fromtimestamp(0, dt.timezone.utc)
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return dt.datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}")


def wait_scraped_up(base_url: str, instances: set[str], since: str, deadline_seconds: float) -> set[str]:
    """Wait until every instance had a successful scrape after `since` (RFC 3339); the ones that did not."""
    deadline = time.monotonic() + deadline_seconds
    pending = set(instances)
    while pending and time.monotonic() < deadline:
        targets = fleet_targets(base_url) or {}
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
