"""The stack on a 3-node Docker Swarm (two managers, one worker), live.

One stack, deployed once by `apply` with deploy.engine swarm: 2 Prometheus replicas on the two
managers, 2 Alertmanagers gossiping across them, node-exporter global, the relay delivering to a fake
DingTalk on this host. In order, each test building on the state the previous left:
- every node's node-exporter is up, with the node's hostname as `instance`; `docker stack
  services|ps` know the stack;
- a second apply changes nothing (no deploy, same tasks);
- a target edit and a rule edit are served without a new task (file_sd; reload);
- the worker stopped: SwarmNodeDown fires and reaches DingTalk through the relay, once although two
  Prometheus fire it and two Alertmanagers hold it; the worker started: resolved;
- status, logs and down through the CLI.
Traffic: the node containers (their addresses on the test network) and the fake on its gateway.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stackgen.runtime.plan import ActionKind
from tests.fakes.chat_apis import FakeDingTalk
from tests.helpers import wait_until
from tests.integration.runtime_stack import TestStack, get_json
from tests.integration.swarm.conftest import swarm_images, talking_to
from tests.integration.swarm.swarm_nodes import Swarm, docker

pytestmark = pytest.mark.integration

TOKEN = "sgswarm-token"
PROMETHEUS_PORT = 9090  # host-mode ports, on each node's own address: no clash with this host's
ALERTMANAGER_PORT = 19093
RELAY_PORT = 19095


def build_spec(project: str, images: dict[str, str], ding_url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "name": project,
        "language": "en",
        "images": images,
        "deploy": {
            "engine": "swarm",
            "shared_output": True,
            "placement": {"alertmanager": ["node.role == manager"]},
        },
        "prometheus": {
            "port": PROMETHEUS_PORT,
            "scrape_interval": "2s",
            "evaluation_interval": "2s",
            "replicas": 2,
        },
        "alertmanager": {"port": ALERTMANAGER_PORT, "replicas": 2},
        "relay": {"port": RELAY_PORT},
        "grafana": {"enabled": False},
        "exporters": {"node": True, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "tracing": {"enabled": False},
        "targets": [{"job": "stack-self", "targets": ["prometheus-1:9090"]}],
        "rules": {"include": ["swarm"], "params": {"swarm": {"node_down_for": "4s"}}},
        "receivers": [{"name": "ops", "dingtalk": {"url": f"{ding_url}/robot/send?access_token={TOKEN}"}}],
        "route": {
            "receiver": "ops",
            "group_by": ["alertname", "instance"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "4h",
        },
    }


class SwarmStack(TestStack):
    """A TestStack applied to the swarm (DOCKER_HOST at its leader while it acts)."""

    __test__ = False

    def __init__(self, directory: Path, spec: dict[str, Any], swarm: Swarm) -> None:
        super().__init__(directory, spec)
        self.swarm = swarm

    def apply(self, files: Any = None) -> Any:
        with talking_to(self.swarm):
            return super().apply(files)

    def plan(self) -> Any:
        with talking_to(self.swarm):
            return super().plan()

    def cli(self, *args: str) -> Any:
        import subprocess

        return subprocess.run(
            self.cli_argv(*args),
            capture_output=True,
            text=True,
            cwd=self.directory,
            timeout=300,
            env=self.cli_env(DOCKER_HOST=self.swarm.manager.docker_host),
        )

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.swarm.manager.address}:{PROMETHEUS_PORT}"

    def replica_urls(self) -> list[str]:
        """http://NODE:PORT of each Prometheus replica, found as apply finds them."""
        from stackgen.runtime.swarm.cluster import SwarmCluster
        from stackgen.runtime.swarm.converge import task_urls
        from stackgen.runtime.swarm.stack_file import parse_stack
        from stackgen.spec.load import read_yaml_data

        document = read_yaml_data((self.out_dir / "docker-stack.yml").read_text(encoding="utf-8"))
        with talking_to(self.swarm):
            cluster = SwarmCluster.connect()
            definition = parse_stack(document, self.project)
            return [
                url
                for name in ("prometheus-1", "prometheus-2")
                for url in task_urls(cluster, definition, name)
            ]

    def task_ids(self) -> dict[str, str]:
        """task name -> id of every running task (a new id: a restarted task)."""
        out = docker(
            "stack",
            "ps",
            self.project,
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Name}} {{.Node}} {{.ID}}",
            host=self.swarm.manager.docker_host,
        )
        return {" ".join(line.split()[:2]): line.split()[2] for line in out.stdout.decode().splitlines()}


def node_exporter_instances(url: str) -> dict[str, str]:
    targets = get_json(url + "/api/v1/targets?state=active")["data"]["activeTargets"]
    return {t["labels"]["instance"]: t["health"] for t in targets if t["labels"]["job"] == "node-exporter"}


@pytest.fixture(scope="module")
def ding(swarm: Swarm) -> Iterator[FakeDingTalk]:
    fake = FakeDingTalk(TOKEN, host="0.0.0.0").start()  # reached from the swarm through its gateway
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(swarm: Swarm, local_images: dict[str, str], ding: FakeDingTalk) -> Iterator[SwarmStack]:
    directory = swarm.work_dir / "stack"
    directory.mkdir()
    project = f"sgs{swarm.name[-6:]}"
    made = SwarmStack(
        directory, build_spec(project, swarm_images(local_images), ding.url(swarm.gateway())), swarm
    )
    try:
        yield made
    finally:
        docker("stack", "rm", project, host=swarm.manager.docker_host, check=False)


def test_apply_brings_every_node_exporter_up_named_after_its_node(stack: SwarmStack, swarm: Swarm) -> None:
    report, _ = stack.apply()
    assert set(report.result.summary()["create"]) >= {
        "prometheus-1",
        "prometheus-2",
        "alertmanager-1",
        "alertmanager-2",
        "node-exporter",
        "relay",
    }
    hostnames = {node.hostname for node in swarm.nodes}
    wait_until(
        lambda: node_exporter_instances(stack.prometheus_url) == dict.fromkeys(hostnames, "up"),
        timeout=90,
        interval=1,
        message="node-exporter up on every node, instance = hostname",
    )
    # what node-exporter itself reports names the node too ({{.Node.Hostname}})
    answer = get_json(stack.prometheus_url + "/api/v1/query?query=node_uname_info")["data"]["result"]
    assert {r["metric"]["instance"]: r["metric"]["nodename"] for r in answer} == {h: h for h in hostnames}
    services = docker(
        "stack",
        "services",
        stack.project,
        "--format",
        "{{.Name}} {{.Mode}} {{.Replicas}}",
        host=swarm.manager.docker_host,
    ).stdout.decode()
    assert f"{stack.project}_node-exporter global 3/3" in services
    placed = stack.task_ids()
    nodes_of = {name.split()[0].split(".")[0]: name.split()[1] for name in placed}
    assert nodes_of[f"{stack.project}_prometheus-1"] != nodes_of[f"{stack.project}_prometheus-2"]
    assert nodes_of[f"{stack.project}_alertmanager-1"] != nodes_of[f"{stack.project}_alertmanager-2"]
    peers = get_json(f"http://{swarm.manager.address}:{ALERTMANAGER_PORT}/api/v2/status")["cluster"]["peers"]
    assert len(peers) == 2  # gossip across the two managers


def test_a_second_apply_changes_nothing(stack: SwarmStack) -> None:
    before = stack.task_ids()
    assert not stack.plan().plan.changes_anything
    report, events = stack.apply()
    assert not any(report.result.summary()[kind.value] for kind in ActionKind if kind is not ActionKind.NOOP)
    assert not any("deploying" in event for event in events)
    assert stack.task_ids() == before


def test_target_and_rule_edits_are_served_without_a_new_task(stack: SwarmStack, swarm: Swarm) -> None:
    before = stack.task_ids()
    stack.edit(lambda spec: spec["targets"][0]["targets"].append("prometheus-2:9090"))
    report, _ = stack.apply()
    assert report.result.summary()["reload"] == []  # file_sd: Prometheus reads it by itself
    wait_until(
        lambda: (
            {
                t["labels"]["instance"]
                for t in get_json(stack.prometheus_url + "/api/v1/targets")["data"]["activeTargets"]
                if t["labels"]["job"] == "stack-self"
            }
            == {"prometheus-1:9090", "prometheus-2:9090"}
        ),
        timeout=30,
        message="the added target",
    )
    stack.edit(
        lambda spec: spec["rules"].update(
            groups=[{"name": "edited", "rules": [{"record": "sgswarm:edited", "expr": "vector(1)"}]}]
        )
    )
    report, _ = stack.apply()
    assert set(report.result.summary()["reload"]) == {"prometheus-1", "prometheus-2"}
    for url in stack.replica_urls():
        assert "edited" in {g["name"] for g in get_json(url + "/api/v1/rules")["data"]["groups"]}, url
    assert stack.task_ids() == before


def test_a_stopped_worker_alerts_once_through_the_relay_and_resolves(
    stack: SwarmStack, swarm: Swarm, ding: FakeDingTalk
) -> None:
    worker = swarm.nodes[2]

    def messages(status: str) -> list[str]:
        texts = [json.dumps(r.body, ensure_ascii=False) for r in ding.accepted]
        return [t for t in texts if "SwarmNodeDown" in t and worker.hostname in t and status in t]

    stopped = time.monotonic()
    swarm.stop(worker)
    try:
        wait_until(lambda: messages("FIRING"), timeout=90, interval=0.5, message="SwarmNodeDown delivered")
        fired = time.monotonic() - stopped
        # both replicas fire it and both Alertmanagers hold it; the second waits one peer timeout
        # (15 s) and finds the first one's notification in the gossiped log
        time.sleep(20)
        delivered = [
            (round(r.time - stopped, 1), r.body)
            for r in ding.accepted
            if "SwarmNodeDown" in json.dumps(r.body) and "FIRING" in json.dumps(r.body)
        ]
        assert len(messages("FIRING")) == 1, (
            f"delivered {len(delivered)} times (first after {fired:.1f} s): {delivered}"
        )
    finally:
        swarm.start(worker)
    wait_until(lambda: messages("RESOLVED"), timeout=120, interval=0.5, message="SwarmNodeDown resolved")


def test_status_logs_and_down_through_the_cli(stack: SwarmStack, swarm: Swarm) -> None:
    status = stack.cli("status", "--json")
    data = json.loads(status.stdout)
    on_nodes = {s["container"] for s in data["services"] if s["service"] == "node-exporter"}
    assert on_nodes == {f"node-exporter on {node.hostname}" for node in swarm.nodes}, status.stderr
    assert any(job["job"] == "node-exporter" and job["up"] == 3 for job in data["targets"]), data["targets"]
    logs = stack.cli("logs", "prometheus-1", "-n", "5")
    assert logs.returncode == 0 and "prometheus-1" in logs.stdout, logs.stderr
    down = stack.cli("down")
    assert down.returncode == 0, down.stderr
    left = docker("stack", "services", stack.project, "-q", host=swarm.manager.docker_host, check=False)
    assert left.stdout.decode().strip() == ""
