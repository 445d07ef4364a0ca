"""High availability on plain Docker, live: 2 Prometheus replicas, a 3-member Alertmanager cluster.

One stack brought up by `apply` (Prometheus 2.42, Alertmanager 0.25) with short timings and a webhook
receiver that is a tiny HTTP server on docker0's address. Proven here:
- an alert fired by both Prometheus replicas reaches the receiver once: one notification per group
  key over a window longer than the cluster's dedup delay (Alertmanager member i waits
  i x peer_timeout = 15 s before it consults the gossiped notification log), with one alert in it (the
  replicas' `replica` label is dropped before sending, so their two copies are one alert);
- stopping one Alertmanager member (the one that sent) keeps notifications flowing: the alert that
  the stop itself raises arrives, once;
- `stackgen status --json` shows the cluster: every member, its peer count and gossip state;
- the Alertmanager dashboard's panels that need clustering have data, each member counting all three.
Traffic: loopback, docker0's address (the webhook sink) and the stack's own containers.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stackgen.content.dashboards import concrete_query, queries
from tests.helpers import network_gateway, remove_compose_project, wait_until
from tests.integration.runtime_stack import TestStack, free_port_run, get_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROMETHEUS_REPLICAS = 2
ALERTMANAGER_REPLICAS = 3
# Alertmanager's default --cluster.peer-timeout: member at position i sends only after i x this, and
# only if the notification log gossiped by the others does not already hold the notification.
PEER_TIMEOUT = 15.0
# Long enough for the last member (position 2) to have sent a duplicate if dedup failed.
DEDUP_WINDOW = (ALERTMANAGER_REPLICAS - 1) * PEER_TIMEOUT + 6.0
EVERY_MEMBER_WAS_UP = (
    f'max_over_time((count(up{{job="alertmanager"}} == 1))[10m:1s]) == {ALERTMANAGER_REPLICAS}'
)
ALWAYS_FIRING_ONCE_UP = f"vector(1) and on() ({EVERY_MEMBER_WAS_UP})"
# The `needs:` of the Alertmanager dashboard's panels that only a cluster has data for.
CLUSTERING = "clustering (alertmanager.replicas above 1)"


@dataclass(frozen=True)
class Notification:
    """One webhook POST from Alertmanager."""

    received_at: float  # time.monotonic()
    body: dict[str, Any]

    @property
    def group_key(self) -> str:
        return str(self.body.get("groupKey", ""))

    @property
    def sender(self) -> str:
        """The sending member's --web.external-url (stackgen gives each member its own)."""
        return str(self.body.get("externalURL", ""))

    @property
    def alertnames(self) -> set[str]:
        return {alert["labels"].get("alertname", "") for alert in self.body.get("alerts", [])}


class WebhookSink(ThreadingHTTPServer):
    """Records every POST of Alertmanager's webhook; answers 200."""

    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _SinkHandler)
        self.received: list[Notification] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def url(self, host: str) -> str:
        return f"http://{host}:{self.server_address[1]}/hook"

    def notifications(self, alertname: str, status: str = "firing") -> list[Notification]:
        """Notifications whose alerts include `alertname`, in one status."""
        with self.lock:
            return [n for n in self.received if alertname in n.alertnames and n.body.get("status") == status]


class _SinkHandler(BaseHTTPRequestHandler):
    server: WebhookSink

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            self.server.received.append(Notification(time.monotonic(), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def ha_spec(project: str, images: dict[str, str], webhook_url: str) -> dict[str, Any]:
    """2 Prometheus, 3 Alertmanager; an always-firing alert and one raised by a stopped member."""
    return {
        "version": 1,
        "name": project,
        "images": {role: images[role] for role in ("prometheus", "alertmanager")},
        "prometheus": {
            "port": free_port_run(PROMETHEUS_REPLICAS),
            "replicas": PROMETHEUS_REPLICAS,
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "evaluation_interval": "1s",
        },
        "alertmanager": {"port": free_port_run(ALERTMANAGER_REPLICAS), "replicas": ALERTMANAGER_REPLICAS},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "tracing": {"enabled": False},
        "rules": {
            "include": [],
            "groups": [
                {
                    "name": "ha",
                    "rules": [
                        # Fires once every member has been up, and stays: Prometheus sends a new
                        # alert at once but resends only after --rules.alert.resend-delay (1m), so a
                        # first send to a member still starting would be lost for a minute.
                        {
                            "alert": "HAAlwaysFiring",
                            "expr": ALWAYS_FIRING_ONCE_UP,
                            "for": "0s",
                            "labels": {"severity": "info"},
                            "annotations": {"summary": "fired by every replica"},
                        },
                        # Raised by the failover itself: a stopped member's scrape fails.
                        {
                            "alert": "HAMemberDown",
                            "expr": 'up{job="alertmanager"} == 0',
                            "for": "0s",
                            "labels": {"severity": "warning"},
                            "annotations": {"summary": "{{ $labels.instance }} is down"},
                        },
                    ],
                }
            ],
        },
        "receivers": [{"name": "hook", "webhook": {"url": webhook_url}}],
        # repeat_interval long: within the test every POST is a new notification, never a repeat
        "route": {
            "receiver": "hook",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "4h",
        },
    }


@dataclass
class HAStack:
    stack: TestStack
    sink: WebhookSink

    def member_urls(self) -> dict[str, str]:
        """alertmanager-i -> its API on 127.0.0.1 (replicas take the ports after the first)."""
        first = int(self.stack.spec["alertmanager"]["port"])
        return {
            f"alertmanager-{i + 1}": f"http://127.0.0.1:{first + i}" for i in range(ALERTMANAGER_REPLICAS)
        }

    def prometheus_urls(self) -> list[str]:
        first = int(self.stack.spec["prometheus"]["port"])
        return [f"http://127.0.0.1:{first + i}" for i in range(PROMETHEUS_REPLICAS)]


def wait_for_cluster(ha: HAStack, members: int, timeout: float = 60) -> None:
    """Every member answers and sees `members` peers, gossip settled."""

    def formed() -> bool:
        for url in ha.member_urls().values():
            cluster = get_json(url + "/api/v2/status")["cluster"]
            if cluster["status"] != "ready" or len(cluster.get("peers") or []) != members:
                return False
        return True

    wait_until(formed, timeout=timeout, interval=0.5, message=f"an Alertmanager cluster of {members}")


def start_ha_stack(docker_client: Any, images: dict[str, str], directory: Any, project: str) -> HAStack:
    """Sink on docker0's address, then the stack through apply; the caller removes both."""
    gateway = network_gateway(docker_client, "bridge")
    sink = WebhookSink(gateway).start()
    stack = TestStack(Path(directory), ha_spec(project, images, sink.url(gateway)))
    try:
        stack.apply()
    except BaseException:
        sink.stop()
        raise
    return HAStack(stack, sink)


@pytest.fixture(scope="module")
def ha(
    docker_client: Any, local_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HAStack]:
    project = f"sgt-ha{uuid.uuid4().hex[:8]}"
    started: HAStack | None = None
    try:
        started = start_ha_stack(docker_client, local_images, tmp_path_factory.mktemp("ha"), project)
        wait_for_cluster(started, ALERTMANAGER_REPLICAS)
        yield started
    finally:
        if started is not None:
            started.sink.stop()
        failures = remove_compose_project(docker_client, project)
        assert not failures, failures


def test_both_replicas_fire_the_alert_with_their_replica_label(ha: HAStack) -> None:
    replicas: set[str] = set()
    for url in ha.prometheus_urls():

        def firing(url: str = url) -> list[dict[str, Any]]:
            alerts = get_json(url + "/api/v1/alerts")["data"]["alerts"]
            return [
                a for a in alerts if a["labels"]["alertname"] == "HAAlwaysFiring" and a["state"] == "firing"
            ]

        wait_until(firing, timeout=60, message=f"HAAlwaysFiring firing on {url}")
        config = get_json(url + "/api/v1/status/config")["data"]["yaml"]
        replicas |= {
            line.split(":", 1)[1].strip()
            for line in config.splitlines()
            if line.strip().startswith("replica:")
        }
    # two distinct replica labels: without the labeldrop, Alertmanager would hold two alerts
    assert replicas == {"prometheus-1", "prometheus-2"}


def test_alert_from_both_replicas_reaches_the_receiver_once(ha: HAStack) -> None:
    first = wait_until(
        lambda: ha.sink.notifications("HAAlwaysFiring"),
        timeout=90,
        message="the first HAAlwaysFiring notification",
    )[0]
    # every Alertmanager got it from both Prometheus replicas, as one alert
    for name, url in ha.member_urls().items():
        alerts = get_json(url + "/api/v2/alerts?filter=" + "alertname%3D%22HAAlwaysFiring%22")
        assert len(alerts) == 1, (name, alerts)
        assert "replica" not in alerts[0]["labels"]
    # let every member's dedup delay pass: a broken gossip would show as more POSTs
    remaining = DEDUP_WINDOW - (time.monotonic() - first.received_at)
    if remaining > 0:
        time.sleep(remaining)
    notifications = ha.sink.notifications("HAAlwaysFiring")
    by_group: dict[str, int] = {}
    for notification in notifications:
        by_group[notification.group_key] = by_group.get(notification.group_key, 0) + 1
    assert by_group == {first.group_key: 1}, [(n.sender, n.group_key) for n in notifications]
    assert len(first.body["alerts"]) == 1
    assert "replica" not in first.body["alerts"][0]["labels"]
    assert first.sender in ha.member_urls().values()


def test_status_json_shows_the_cluster(ha: HAStack) -> None:
    result = ha.stack.cli("status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    status = json.loads(result.stdout)
    members = {s["service"] for s in status["services"] if s["role"] == "alertmanager"}
    assert members == set(ha.member_urls())
    cluster = status["alertmanager_cluster"]
    assert cluster["size"] == ALERTMANAGER_REPLICAS
    assert {m["service"]: (m["status"], m["peers"]) for m in cluster["members"]} == {
        name: ("ready", ALERTMANAGER_REPLICAS) for name in ha.member_urls()
    }
    text = ha.stack.cli("status")
    assert f"alertmanager cluster: {ALERTMANAGER_REPLICAS} members" in text.stdout, text.stdout


def test_alertmanager_dashboard_cluster_panels_have_data(ha: HAStack) -> None:
    clustered = [q for q in queries("alertmanager") if q["needs"] == CLUSTERING]
    assert clustered, f"no panel of the alertmanager dashboard needs {CLUSTERING!r} any more"
    # each member, by its instance label, sees the whole cluster
    expected = {"Cluster members": {f"{name}:9093": str(ALERTMANAGER_REPLICAS) for name in ha.member_urls()}}

    def answers() -> dict[str, dict[str, str]]:
        found = {}
        for q in clustered:
            expr = concrete_query(q["expr"], {"__rate_interval": "2m"})
            url = ha.prometheus_urls()[0] + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            found[q["panel"]] = {r["metric"].get("instance", ""): r["value"][1]
                                 for r in get_json(url)["data"]["result"]}
        return found

    # Without clustering Alertmanager has no alertmanager_cluster_members at all: the panel is empty.
    deadline = time.monotonic() + 30
    while (found := answers()) != expected and time.monotonic() < deadline:
        time.sleep(1)
    assert found == expected


def test_notifications_keep_flowing_after_a_member_stops(ha: HAStack, docker_client: Any) -> None:
    # stop the member that sent: the others must take over
    sender = wait_until(lambda: ha.sink.notifications("HAAlwaysFiring"), timeout=90)[0].sender
    stopped = next(name for name, url in ha.member_urls().items() if url == sender)
    container = docker_client.containers.get(f"{ha.stack.project}-{stopped}-1")
    container.stop(timeout=5)
    stopped_at = time.monotonic()

    down = wait_until(
        lambda: ha.sink.notifications("HAMemberDown"),
        timeout=90,
        message="HAMemberDown notification after the stop",
    )[0]
    instances = {alert["labels"].get("instance") for alert in down.body["alerts"]}
    assert instances == {f"{stopped}:9093"}
    assert down.sender != sender
    remaining = DEDUP_WINDOW - (time.monotonic() - down.received_at)
    if remaining > 0:
        time.sleep(remaining)
    assert len(ha.sink.notifications("HAMemberDown")) == 1, [
        (n.sender, n.received_at - stopped_at) for n in ha.sink.notifications("HAMemberDown")
    ]
    # the always-firing group was not sent again by the survivors (their notification log knows it)
    assert len(ha.sink.notifications("HAAlwaysFiring")) == 1
