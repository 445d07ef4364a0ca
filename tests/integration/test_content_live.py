"""Rule packs and dashboards against a real stack: rules evaluate cleanly, alerts fire, panels have data.

One stack applied with `apply` (Prometheus 2.42, Alertmanager 0.25, node_exporter 1.5, blackbox,
the relay). A TCP probe
of a closed port fires ProbeFailed, routed to a DingTalk receiver whose robot is a fake on docker0's
address, so notifications flow Prometheus -> Alertmanager -> relay -> "DingTalk". Then every query of
the dashboards whose exporters run here must return data. Traffic: loopback, the stack's containers
and the fake on the docker bridge.
"""

from __future__ import annotations

import ipaddress
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from stackgen.content.dashboards import concrete_query, queries
from stackgen.content.rules import load_pack
from tests.fakes.chat_apis import FakeDingTalk
from tests.integration.runtime_stack import TestStack, free_port, get_json, targets_by_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGE_ROLES = ("prometheus", "alertmanager", "node-exporter", "blackbox-exporter", "relay-base")
PACKS = ["prometheus-self", "alertmanager", "node", "blackbox", "go-runtime", "relay", "watchdog"]
LIVE_DASHBOARDS = ["overview", "prometheus", "alertmanager", "node", "blackbox", "go-runtime", "relay"]
# Panels that only have data in some situations ("needs:" in the dashboard file): this stack makes these.
SATISFIED_NEEDS = {
    "a notification through the relay",
    "a DingTalk or WeCom robot receiver",
    "a notification sent by Alertmanager in the time range",
}
# Grafana widens $__rate_interval with the time range; 2m is what a few-hours view gets.
RATE_INTERVAL = "2m"
DINGTALK_TOKEN = "content-live-token"


@dataclass
class LiveStack:
    stack: TestStack
    robot: FakeDingTalk


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll until `condition()` is truthy; fail with `what` and the last value at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {value!r})")
        time.sleep(1)


def query(stack: TestStack, expr: str) -> list[dict[str, Any]]:
    answer = get_json(f"{stack.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    return list(answer["data"]["result"])


def remove_project(docker_client: Any, project: str) -> None:
    label = {"label": f"com.docker.compose.project={project}"}
    for container in docker_client.containers.list(all=True, filters=label):
        container.remove(force=True)
    for network in docker_client.networks.list(filters={"label": f"com.docker.compose.project={project}"}):
        network.remove()
    for volume in docker_client.volumes.list(filters={"label": f"com.docker.compose.project={project}"}):
        volume.remove(force=True)


def bridge_gateway(docker_client: Any) -> str:
    """docker0's address: where containers reach a server of this host."""
    config = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    # The default bridge often lists only its subnet; its gateway is then the subnet's first address.
    return str(config.get("Gateway") or ipaddress.ip_network(config["Subnet"])[1])


@pytest.fixture(scope="module")
def live(docker_client: Any, local_images: dict[str, str],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    project = f"sgcontent{uuid.uuid4().hex[:8]}"
    gateway = bridge_gateway(docker_client)
    robot = FakeDingTalk(DINGTALK_TOKEN, host=gateway).start()
    spec = {
        "version": 1,
        "name": project,
        # relay-base: the local Python image the relay is built on (no registry here)
        "images": {role: local_images[role] for role in IMAGE_ROLES if role in local_images},
        "prometheus": {"port": free_port(), "scrape_interval": "2s", "evaluation_interval": "2s"},
        "alertmanager": {"port": free_port()},
        "grafana": {"enabled": False},
        "exporters": {"node": True, "cadvisor": False, "blackbox": True, "pushgateway": False},
        "tracing": {"enabled": False},
        "probes": [
            {"name": "healthy", "module": "http_2xx", "targets": ["http://prometheus:9090/-/healthy"]},
            {"name": "closed-port", "module": "tcp_connect", "targets": ["alertmanager:1"]},
        ],
        "rules": {"include": PACKS, "params": {"blackbox": {"probe_failed_for": "10s"}}},
        "dashboards": {"include": LIVE_DASHBOARDS},
        "receivers": [{"name": "ding", "dingtalk": {
            "url": f"{robot.url(gateway)}/robot/send?access_token={DINGTALK_TOKEN}"}}],
        # Repeat often: rate() panels over the relay and Alertmanager need recent notifications.
        "route": {"receiver": "ding", "group_wait": "1s", "group_interval": "5s", "repeat_interval": "10s"},
    }
    try:
        stack = TestStack(tmp_path_factory.mktemp("content"), spec)
        stack.apply()
        yield LiveStack(stack, robot)
    finally:
        robot.stop()
        remove_project(docker_client, project)


@pytest.fixture(scope="module")
def converged(live: LiveStack) -> LiveStack:
    """Every target up, alerts delivered through the relay, and a few evaluations behind us."""
    expected_jobs = {"prometheus", "alertmanager", "node-exporter", "blackbox-exporter", "relay", "healthy",
                     "closed-port"}

    def all_up() -> bool:
        jobs = targets_by_job(live.stack.prometheus_url)
        return set(jobs) >= expected_jobs and all(t["health"] == "up" for ts in jobs.values() for t in ts)

    wait_for(all_up, 120, "every target up")
    wait_for(lambda: sum(1 for request in live.robot.received if request.ok) >= 2, 120,
             "two DingTalk messages from the relay")
    wait_for(lambda: query(live.stack, "stackgen_relay_messages_sent_total > 0"), 60,
             "Prometheus to scrape the relay's deliveries")
    return live


def test_every_pack_rule_evaluates_without_error(converged: LiveStack) -> None:
    shipped = {group["name"] for pack in PACKS for group in load_pack(pack)}

    def evaluated() -> dict[str, Any]:
        groups = get_json(converged.stack.prometheus_url + "/api/v1/rules")["data"]["groups"]
        rules = {rule["name"]: rule for group in groups if group["name"] in shipped
                 for rule in group["rules"]}
        return rules if rules and all(rule["health"] != "unknown" for rule in rules.values()) else {}

    rules = wait_for(evaluated, 60, "every pack rule evaluated at least once")
    expected = {rule.get("alert") or rule["record"]
                for pack in PACKS for group in load_pack(pack) for rule in group["rules"]}
    assert set(rules) == expected
    broken = {name: rule.get("lastError") for name, rule in rules.items() if rule["health"] != "ok"}
    assert broken == {}


def test_watchdog_and_the_blackbox_alert_fire(converged: LiveStack) -> None:
    def firing() -> set[tuple[str, str]]:
        alerts = get_json(converged.stack.prometheus_url + "/api/v1/alerts")["data"]["alerts"]
        return {(alert["labels"]["alertname"], alert["labels"].get("instance", ""))
                for alert in alerts if alert["state"] == "firing"}

    wait_for(lambda: {("Watchdog", ""), ("ProbeFailed", "alertmanager:1")} <= firing(), 60,
             "Watchdog and ProbeFailed for the closed port")
    assert ("ProbeFailed", "http://prometheus:9090/-/healthy") not in firing()


def test_delivered_message_is_the_blackbox_alert(converged: LiveStack) -> None:
    texts = [str(request.body) for request in converged.robot.received if request.ok]
    assert any("ProbeFailed" in text for text in texts), texts[:1]


@pytest.mark.parametrize("dashboard", LIVE_DASHBOARDS)
def test_every_dashboard_query_returns_data(converged: LiveStack, dashboard: str) -> None:
    checked = [q for q in queries(dashboard) if q["needs"] is None or q["needs"] in SATISFIED_NEEDS]

    def empty_panels() -> list[str]:
        return [
            f"{q['panel']}: {q['expr']}" for q in checked
            if not query(converged.stack, concrete_query(q["expr"], {"__rate_interval": RATE_INTERVAL}))
        ]

    # Rates need two samples in their window and counters need a first increment: poll, then report all.
    deadline = time.monotonic() + 60
    missing = empty_panels()
    while missing and time.monotonic() < deadline:
        time.sleep(2)
        missing = empty_panels()
    assert missing == [], f"{dashboard}: {len(missing)} of {len(checked)} queries return no data"
