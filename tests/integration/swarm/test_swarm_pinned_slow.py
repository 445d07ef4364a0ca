"""Slow lane: the default placement (no shared output dir) and a data volume that stays with its service.

Without deploy.shared_output every service that reads config is pinned to the node apply talks to;
node-exporter still runs on every node. A definition change (retention) rolls Prometheus to a new task
on the same node, with the same volume: a sample written before the roll is still there after it.
Runs on the session's swarm with its own project and ports.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.integration.runtime_stack import TestStack, get_json
from tests.integration.swarm.conftest import swarm_images, talking_to
from tests.integration.swarm.swarm_nodes import Swarm, docker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROMETHEUS_PORT = 29090


@pytest.fixture(scope="module")
def pinned(swarm: Swarm, local_images: dict[str, str]) -> Iterator[TestStack]:
    directory = swarm.work_dir / "pinned"
    directory.mkdir()
    project = f"sgp{swarm.name[-6:]}"
    images = {role: image for role, image in swarm_images(local_images).items() if role != "relay-base"}
    spec: dict[str, Any] = {
        "version": 1,
        "name": project,
        "images": images,
        "deploy": {"engine": "swarm"},
        "prometheus": {"port": PROMETHEUS_PORT, "scrape_interval": "2s", "evaluation_interval": "2s"},
        "alertmanager": {"port": 29093},
        "grafana": {"enabled": False},
        "tracing": {"enabled": False},
        "exporters": {"node": True, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "rules": {"include": ["swarm"]},
        "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/hook"}}],
        "route": {"receiver": "hook"},
    }
    stack = TestStack(directory, spec)
    try:
        yield stack
    finally:
        docker("stack", "rm", project, host=swarm.manager.docker_host, check=False)


def placed(swarm: Swarm, project: str) -> dict[str, str]:
    out = docker(
        "stack",
        "ps",
        project,
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Name}} {{.Node}}",
        host=swarm.manager.docker_host,
    ).stdout.decode()
    return dict(line.split() for line in out.splitlines())


def test_everything_but_the_exporters_stays_on_the_apply_node_with_its_data(
    pinned: TestStack, swarm: Swarm
) -> None:
    url = f"http://{swarm.manager.address}:{PROMETHEUS_PORT}"
    with talking_to(swarm):
        pinned.apply()
    where = placed(swarm, pinned.project)
    assert where[f"{pinned.project}_prometheus.1"] == swarm.manager.hostname
    assert where[f"{pinned.project}_alertmanager.1"] == swarm.manager.hostname
    exporters = {node for name, node in where.items() if "node-exporter" in name}
    assert exporters == {node.hostname for node in swarm.nodes}
    wait_until(
        lambda: (
            get_json(url + '/api/v1/query?query=count(up{job="node-exporter"}==1)')["data"]["result"][0][
                "value"
            ][1]
            == "3"
        ),
        timeout=90,
        interval=1,
        message="3 node-exporters up",
    )
    marker = time.time()
    time.sleep(3)  # a few scrapes land in the TSDB
    with talking_to(swarm):
        pinned.edit(lambda spec: spec["prometheus"].update(retention="14d"))
        report, _ = pinned.apply()
    assert report.result.summary()["recreate"] == ["prometheus"]
    assert placed(swarm, pinned.project)[f"{pinned.project}_prometheus.1"] == swarm.manager.hostname
    query = f'{url}/api/v1/query?query=up{{job="node-exporter"}}&time={marker:.3f}'
    result = wait_until(
        lambda: get_json(query)["data"]["result"],
        timeout=60,
        interval=1,
        message="the sample from before the roll, read by the new task",
    )
    assert len(result) == 3
