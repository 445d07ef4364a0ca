#!/usr/bin/env python3
"""Benchmark: a labelled container starts → Prometheus scrapes it for the first time (docker discovery).

    python bench/docker_discovery.py [--rounds 5] [--refresh 5s] [--interval 15s]

Brings up a stack with `apply` (local images: Prometheus and Alertmanager) with `discovery: {docker:
{refresh_interval: --refresh}}` and scrape_interval --interval, then, one at a time, starts a
container labelled io.stackgen.scrape=true that serves prometheus_client metrics
(tests/fakes/container_app.py on the local Python image), published on docker0's address. For each:

  container started (StartedAt) ─▶ target listed by Prometheus ─▶ first successful scrape (lastScrape)

Prometheus lists containers every refresh interval, its scrape manager passes new targets on every 5 s
at most, and a new target's first scrape waits for its slot in the scrape interval: the sum bounds
the figure. Prints median and max; asserts nothing. Everything it made is removed at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import prometheus_client  # noqa: E402

from tests.helpers import epoch_seconds, network_gateway, remove_compose_project, unique_project_name  # noqa: E402
from tests.integration.conftest import local_image_tags  # noqa: E402
from tests.integration.runtime_stack import TestStack, free_port, get_json  # noqa: E402


def spec(project: str, images: dict[str, str], refresh: str, interval: str) -> dict[str, Any]:
    return {
        "version": 1, "name": project,
        "images": {role: images[role] for role in ("prometheus", "alertmanager")},
        "prometheus": {"port": free_port(), "scrape_interval": interval},
        "alertmanager": {"port": free_port()},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "tracing": {"enabled": False},
        "discovery": {"docker": {"refresh_interval": refresh}},
        "rules": {"include": []},
        "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/hook"}}],
        "route": {"receiver": "hook"},
    }


def start_app(client: Any, image: str, project: str, name: str, gateway: str) -> Any:
    library = Path(prometheus_client.__file__).parent
    return client.containers.run(
        image, ["python3", "/fakes/container_app.py", "8000", name], detach=True, name=f"{project}-{name}-1",
        environment={"PYTHONPATH": "/pylib", "PYTHONDONTWRITEBYTECODE": "1"},
        volumes={str(ROOT / "tests" / "fakes"): {"bind": "/fakes", "mode": "ro"},
                 str(library): {"bind": "/pylib/prometheus_client", "mode": "ro"}},
        ports={"8000/tcp": (gateway, None)},
        labels={"io.stackgen.scrape": "true", "io.stackgen.port": "8000",
                "com.docker.compose.project": project, "com.docker.compose.service": name})


def target_of(stack: TestStack, container: str) -> dict[str, Any] | None:
    targets = get_json(f"{stack.prometheus_url}/api/v1/targets?state=active")["data"]["activeTargets"]
    return next((t for t in targets if t["labels"].get("container") == container), None)


def measure(client: Any, stack: TestStack, image: str, project: str, name: str,
            gateway: str) -> tuple[float, float]:
    """(started → listed, started → first successful scrape) in seconds."""
    container = start_app(client, image, project, name, gateway)
    container.reload()
    started = epoch_seconds(container.attrs["State"]["StartedAt"])
    listed = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            target = target_of(stack, container.name)
            if target is not None and listed is None:
                listed = time.time()
            if target is not None and target["health"] == "up":
                return (listed or time.time()) - started, epoch_seconds(target["lastScrape"]) - started
            time.sleep(0.05)
        raise SystemExit(f"{container.name} was not scraped within 120 s")
    finally:
        container.remove(force=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--refresh", default="5s", help="discovery.docker.refresh_interval")
    parser.add_argument("--interval", default="15s", help="prometheus.scrape_interval")
    args = parser.parse_args()

    import docker

    client = docker.from_env(timeout=120)
    images = local_image_tags()
    gateway = network_gateway(client, "bridge")
    stack_project, app_project = unique_project_name(), unique_project_name()
    listed: list[float] = []
    scraped: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="docker-discovery-") as directory:
            stack = TestStack(Path(directory), spec(stack_project, images, args.refresh, args.interval))
            stack.apply()
            for round_number in range(args.rounds):
                name = f"app{round_number}"
                seen, first = measure(client, stack, images["python"], app_project, name, gateway)
                listed.append(seen)
                scraped.append(first)
    finally:
        remove_compose_project(client, app_project)
        remove_compose_project(client, stack_project)
        client.close()
    print(f"{len(scraped)} labelled containers, one at a time "
          f"(refresh {args.refresh}, scrape every {args.interval}):")
    for what, values in (("started -> listed as a target", listed),
                         ("started -> first successful scrape", scraped)):
        print(f"  {what:<36} median {statistics.median(values):6.2f} s   max {max(values):6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
