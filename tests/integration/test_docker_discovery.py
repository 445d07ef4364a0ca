"""docker discovery live: a developer's own compose project is scraped as its containers come and go.

One stack for the module (Prometheus and Alertmanager on the local images, `discovery: {docker:
{refresh_interval: 2s}}`), and a separate compose project started with `docker compose up -d`, not by
stackgen, whose services run tests/fakes/container_app.py (prometheus_client metrics) on the local
Python image. Its ports are published on docker0's address only (not on every interface of this
shared machine), which is where host.docker.internal leads. Traffic: loopback, docker0's address and
the containers the test made; both projects are removed at the end, even on failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
import yaml

from tests.helpers import REPO_ROOT, remove_compose_project, unavailable, unique_project_name, wait_until
from tests.integration.runtime_stack import TestStack, free_port, get_json

pytestmark = pytest.mark.integration

# Refresh 2 s, then the scrape manager's own 5 s throttle, then a 1 s scrape interval.
DISCOVERED_WITHIN = 30.0


@dataclass
class App:
    """The developer's compose project."""

    project: str
    directory: Path
    services: dict[str, Any]

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        (self.directory / "docker-compose.yml").write_text(yaml.safe_dump({"services": self.services}))
        return subprocess.run(["docker", "compose", "-p", self.project, *args], cwd=self.directory,
                              capture_output=True, text=True, timeout=180, check=False)

    def up(self) -> None:
        done = self.compose("up", "-d")
        assert done.returncode == 0, done.stderr


def app_service(image: str, port: int, name: str, labels: dict[str, str],
                published_on: str | None) -> dict[str, Any]:
    library = Path(prometheus_client.__file__).parent
    service: dict[str, Any] = {
        "image": image,
        "command": ["python3", "/fakes/container_app.py", str(port), name],
        "environment": {"PYTHONPATH": "/pylib", "PYTHONDONTWRITEBYTECODE": "1"},
        "volumes": [f"{REPO_ROOT / 'tests' / 'fakes'}:/fakes:ro", f"{library}:/pylib/prometheus_client:ro"],
        "labels": labels,
    }
    if published_on:
        service["ports"] = [f"{published_on}::{port}"]  # any free host port, on that address only
    return service


@dataclass
class Live:
    stack: TestStack
    app: App


@pytest.fixture(scope="module")
def live(docker_client: Any, local_images: dict[str, str], host_gateway_ip: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if shutil.which("docker") is None or subprocess.run(["docker", "compose", "version"],
                                                        capture_output=True, check=False).returncode != 0:
        unavailable("`docker compose` (Compose v2) is not installed")
    stack_project, app_project = unique_project_name(), unique_project_name()
    spec = {
        "version": 1, "name": stack_project,
        "images": {role: local_images[role] for role in ("prometheus", "alertmanager")},
        "prometheus": {"port": free_port(), "scrape_interval": "1s", "evaluation_interval": "1s"},
        "alertmanager": {"port": free_port()},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "tracing": {"enabled": False},
        "discovery": {"docker": {"refresh_interval": "2s"}},
        "rules": {"include": []},
        "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/hook"}}],
        "route": {"receiver": "hook"},
    }
    image = local_images["python"]
    app = App(app_project, tmp_path_factory.mktemp("app"), {
        "api": app_service(image, 8000, "api", {"io.stackgen.scrape": "true", "io.stackgen.port": "8000"},
                           host_gateway_ip),
        "db": app_service(image, 5432, "db", {"io.stackgen.scrape": "true", "io.stackgen.port": "5432"},
                          None),
    })
    try:
        stack = TestStack(tmp_path_factory.mktemp("stack"), spec)
        stack.apply()
        app.up()
        yield Live(stack, app)
    finally:
        failures = remove_compose_project(docker_client, app_project)
        failures += remove_compose_project(docker_client, stack_project)
        assert not failures, failures


def discovered_targets(live: Live) -> list[dict[str, Any]]:
    targets = get_json(f"{live.stack.prometheus_url}/api/v1/targets?state=active")["data"]["activeTargets"]
    return [t for t in targets if t["scrapePool"] == "docker-discovery"]


def healthy(live: Live, job: str) -> dict[str, Any] | None:
    up = [t for t in discovered_targets(live) if t["labels"]["job"] == job and t["health"] == "up"]
    return up[0] if up else None


def query(live: Live, expr: str) -> list[dict[str, Any]]:
    from urllib.parse import quote

    return list(get_json(f"{live.stack.prometheus_url}/api/v1/query?query={quote(expr)}")["data"]["result"])


def test_a_labelled_service_is_scraped_through_its_published_port_with_compose_labels(live: Live) -> None:
    target = wait_until(lambda: healthy(live, "api"), timeout=DISCOVERED_WITHIN, message="api scraped")
    assert target is not None
    labels = target["labels"]
    assert labels["compose_project"] == live.app.project
    assert labels["compose_service"] == "api"
    assert labels["container"] == f"{live.app.project}-api-1"
    assert labels["instance"] == f"{live.app.project}-api-1:8000"
    assert target["scrapeUrl"].startswith("http://host.docker.internal:")
    selector = f'job="api",compose_project="{live.app.project}",compose_service="api"'
    assert wait_until(lambda: query(live, f"fake_app_requests_total{{{selector}}}"))
    # The stack's own containers are scraped by its own jobs only; the unpublished db is not a target.
    assert {t["labels"]["job"] for t in discovered_targets(live)} == {"api"}


def test_status_lists_the_discovered_containers_and_why_one_cannot_be_reached(live: Live) -> None:
    wait_until(lambda: healthy(live, "api"), timeout=DISCOVERED_WITHIN, message="api scraped")
    done = subprocess.run(live.stack.cli_argv("status", "--json"), capture_output=True, text=True,
                          env=live.stack.cli_env(), cwd=live.stack.directory, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    found = {entry["service"]: entry for entry in json.loads(done.stdout)["discovered"]}
    assert found["api"]["address"].startswith("host.docker.internal:")
    assert found["api"]["health"] == "up" and found["api"]["job"] == "api"
    assert found["db"]["address"] is None
    assert found["db"]["reason"] == 'port 5432 is neither exposed nor published: publish it (ports: ["5432"])'


def test_a_second_service_appears_and_disappears_when_stopped(live: Live, host_gateway_ip: str) -> None:
    live.app.services["worker"] = app_service(
        live.app.services["api"]["image"], 9100, "worker",
        {"prometheus.io/scrape": "true", "prometheus.io/port": "9100",
         "prometheus.io/path": "/other/metrics"},
        host_gateway_ip)
    live.app.up()
    target = wait_until(lambda: healthy(live, "worker"), timeout=DISCOVERED_WITHIN, message="worker scraped")
    assert target is not None
    assert target["scrapeUrl"].endswith("/other/metrics")
    assert healthy(live, "api")  # still there

    done = live.app.compose("stop", "worker")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: not [t for t in discovered_targets(live) if t["labels"]["job"] == "worker"],
               timeout=DISCOVERED_WITHIN, message="the stopped worker to leave the targets")
    # Gone, not down: its `up` series ends (stale), so TargetDown (up == 0) does not fire for it.
    wait_until(lambda: not query(live, 'up{job="worker"}'), timeout=DISCOVERED_WITHIN,
               message="up{job=worker} to go stale")
    assert not query(live, 'up{job="worker"} == 0')
