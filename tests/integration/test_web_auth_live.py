"""TLS and basic auth on every endpoint, on real containers: `listen: 0.0.0.0` with `web.users`.

One stack for the module (Prometheus, Alertmanager, Pushgateway, blackbox and the relay from the local
images; Grafana has no image here and is checked statically in tests/unit/render/test_web.py). Every
published port must refuse a request without credentials (401) and answer one with them (200), over
HTTPS verified against the CA `stackgen ca export` prints; inside, Prometheus scrapes every neighbour,
Alertmanager reaches the relay and the relay a fake DingTalk; status, notify test and silence work.
Then the admin password, the server certificates and the internal user's password (`apply
--rotate-credentials`: accept both, switch the clients, drop the old) are rotated while Prometheus
scrapes every second:
no container is recreated or restarted and min_over_time(up[...]) stays 1.

Ports bind 0.0.0.0 (the point of the test), but the test only connects through 127.0.0.1; the fake chat
API listens on docker0's address. Traffic: loopback, the bridge address and the stack's containers.
"""

# ruff: noqa: E501  (whole URLs and messages)

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes.chat_apis import FakeDingTalk
from tests.helpers import remove_compose_project, unique_project_name, wait_until
from tests.integration.runtime_stack import TestStack, free_port

pytestmark = [pytest.mark.integration]

IMAGE_ROLES = ("prometheus", "alertmanager", "pushgateway", "blackbox-exporter", "relay-base")
PASSWORD, NEW_PASSWORD = "web-admin-Pass-0001", "web-admin-Pass-0002"
TOKEN = "web-ding-token"
# the published endpoints: spec section -> (path, container port)
ENDPOINTS = {"prometheus": "/-/healthy", "alertmanager": "/-/healthy", "pushgateway": "/-/healthy",
             "blackbox": "/-/healthy", "relay": "/-/healthy"}


@dataclass
class Web:
    stack: TestStack
    ding: FakeDingTalk
    docker_client: Any
    ports: dict[str, int]
    ca_pem: str

    def call(self, port: int, path: str, user: str | None = "admin", password: str = PASSWORD,
             ca_pem: str | None = None) -> tuple[int, bytes]:
        """GET https://127.0.0.1:PORT/PATH verified against the stack CA; (status, body)."""
        context = ssl.create_default_context(cadata=ca_pem or self.ca_pem)
        request = urllib.request.Request(f"https://127.0.0.1:{port}{path}")
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(request, timeout=10) as answer:
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def query(self, expr: str, password: str = PASSWORD) -> list[dict[str, Any]]:
        from urllib.parse import quote

        status, body = self.call(self.ports["prometheus"], f"/api/v1/query?query={quote(expr)}", password=password)
        assert status == 200, body
        return list(json.loads(body)["data"]["result"])

    def containers(self) -> dict[str, tuple[str, str, int]]:
        """service -> (container id, StartedAt, RestartCount)."""
        found = {}
        for container in self.docker_client.containers.list(
                all=True, filters={"label": f"com.docker.compose.project={self.stack.project}"}):
            container.reload()
            state = container.attrs["State"]
            found[container.labels["com.docker.compose.service"]] = (
                container.id, state["StartedAt"], container.attrs["RestartCount"])
        return found


def build_spec(project: str, images: dict[str, str], ports: dict[str, int], ding_url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "name": project,
        "listen": "0.0.0.0",
        "web": {"tls": {}, "users": {"admin": "${WEB_ADMIN_PASSWORD}"}},
        "images": {role: images[role] for role in IMAGE_ROLES},
        "prometheus": {"port": ports["prometheus"], "scrape_interval": "1s", "evaluation_interval": "1s"},
        "alertmanager": {"port": ports["alertmanager"]},
        "relay": {"port": ports["relay"]},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": {"enabled": True, "port": ports["blackbox"]},
                      "pushgateway": {"enabled": True, "port": ports["pushgateway"]}},
        "tracing": {"enabled": False},
        "rules": {"include": [], "groups": [{"name": "web", "rules": [
            {"alert": "WebAlwaysFiring", "expr": "vector(1)", "for": "0s",
             "annotations": {"summary": "web auth e2e"}}]}]},
        "receivers": [{"name": "chat", "dingtalk": {"url": f"{ding_url}/robot/send?access_token={TOKEN}"}}],
        "route": {"receiver": "chat", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "2s",
                  "repeat_interval": "1h"},
    }


@pytest.fixture(scope="module")
def web(docker_client: Any, local_images: dict[str, str], host_gateway_ip: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    project = unique_project_name()
    directory = tmp_path_factory.mktemp("web")
    ding = FakeDingTalk(TOKEN, host=host_gateway_ip)
    ports = {name: free_port() for name in ENDPOINTS}
    ding.start()
    try:
        (directory / ".env").write_text(f"WEB_ADMIN_PASSWORD={PASSWORD}\n", encoding="utf-8")
        stack = TestStack(directory, build_spec(project, local_images, ports, ding.url(host_gateway_ip)))
        stack.apply()
        exported = stack.cli("ca", "export")
        assert exported.returncode == 0, exported.stderr
        yield Web(stack, ding, docker_client, ports, exported.stdout)
    finally:
        ding.stop()
        failures = remove_compose_project(docker_client, project)
        assert not failures, f"cleanup of project {project} left: {failures}"


def test_every_published_port_answers_401_without_credentials_and_200_with_them(web: Web) -> None:
    assert "BEGIN CERTIFICATE" in web.ca_pem
    for name, path in ENDPOINTS.items():
        port = web.ports[name]
        assert web.call(port, path, user=None)[0] == 401, name
        assert web.call(port, path, password="not-the-password")[0] == 401, name
        assert web.call(port, path)[0] == 200, name
        assert web.call(port, "/metrics")[0] == 200, name
    # and no plain HTTP beside it
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"http://127.0.0.1:{web.ports['prometheus']}/-/healthy", timeout=5).read()


def test_every_internal_target_is_up_over_tls_with_basic_auth(web: Web) -> None:
    expected = {"prometheus", "alertmanager", "pushgateway", "blackbox-exporter", "relay"}

    def all_up() -> dict[str, str] | None:
        status, body = web.call(web.ports["prometheus"], "/api/v1/targets?state=active")
        assert status == 200
        health = {t["labels"]["job"]: t["health"] for t in json.loads(body)["data"]["activeTargets"]}
        return health if set(health) == expected and set(health.values()) == {"up"} else None

    wait_until(all_up, timeout=60, interval=0.5, message="every internal target up")
    # Prometheus itself reaches Alertmanager with its credentials
    wait_until(lambda: web.query("prometheus_notifications_alertmanagers_discovered") and
               web.query("prometheus_notifications_alertmanagers_discovered")[0]["value"][1] == "1",
               timeout=30, message="Prometheus discovers its Alertmanager")


def test_an_alert_reaches_the_relay_and_the_chat_api(web: Web) -> None:
    wait_until(lambda: [r for r in web.ding.accepted if "WebAlwaysFiring" in json.dumps(r.body)],
               timeout=90, interval=0.5, message="the alert at the fake DingTalk")
    # Alertmanager counted it (Prometheus scrapes its metrics with the internal user)
    wait_until(lambda: [s for s in web.query('alertmanager_notifications_total{integration="webhook"}')
                        if float(s["value"][1]) >= 1], timeout=30, message="Alertmanager's webhook count")
    failed = web.query('sum(alertmanager_notifications_failed_total{integration="webhook"})')
    assert float(failed[0]["value"][1]) == 0


def test_status_notify_test_and_silence_use_the_credentials(web: Web) -> None:
    status = web.stack.cli("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    data = json.loads(status.stdout)
    assert data["notes"] == [] and {t["job"] for t in data["targets"]} >= {"prometheus", "relay"}
    assert all(t["down"] == 0 for t in data["targets"]), data["targets"]

    notified = web.stack.cli("notify", "test", "chat", "--timeout", "60")
    assert notified.returncode == 0, notified.stdout + notified.stderr
    assert "delivered" in notified.stdout + notified.stderr

    added = web.stack.cli("silence", "add", "alertname=WebAuthSilenced", "-c", "web auth test", "-d", "5m")
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.strip()
    listed = web.stack.cli("silence", "list", "--json")
    assert silence_id in {s["id"] for s in json.loads(listed.stdout)}
    expired = web.stack.cli("silence", "expire", silence_id)
    assert expired.returncode == 0, expired.stderr


def assert_nothing_recreated(report: Any) -> None:
    recreated = [(a.service, a.reasons) for a in report.plan.actions if a.kind.value in ("create", "recreate")]
    assert recreated == [], recreated


def peer_certificate(port: int) -> bytes:
    import socket

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        return tls.getpeercert(binary_form=True) or b""


def test_rotating_the_password_and_the_certificates_restarts_nothing_and_loses_no_scrape(web: Web) -> None:
    test_every_internal_target_is_up_over_tls_with_basic_auth(web)
    before = web.containers()
    served = {name: peer_certificate(web.ports[name]) for name in ENDPOINTS}
    started = time.monotonic()

    (web.stack.directory / ".env").write_text(f"WEB_ADMIN_PASSWORD={NEW_PASSWORD}\n", encoding="utf-8")
    report, _ = web.stack.apply()
    assert_nothing_recreated(report)
    for name, path in ENDPOINTS.items():
        assert web.call(web.ports[name], path, password=NEW_PASSWORD)[0] == 200, name
        assert web.call(web.ports[name], path, password=PASSWORD)[0] == 401, name

    # a new name for the certificates: every server certificate is issued again
    web.stack.edit(lambda spec: spec["web"]["tls"].update(names=["monitor.sgweb.test"]))
    report, _ = web.stack.apply()
    assert_nothing_recreated(report)
    for name, path in ENDPOINTS.items():
        assert peer_certificate(web.ports[name]) != served[name], f"{name} still serves the old certificate"
        assert web.call(web.ports[name], path, password=NEW_PASSWORD)[0] == 200, name

    # the internal user Prometheus, Alertmanager and the healthchecks use: the three-step overlap
    record = web.stack.out_dir / "secrets" / "stackgen" / "client.json"
    old_user = json.loads(record.read_text())["username"]
    rotated = web.stack.cli("apply", "--rotate-credentials", "-q")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    new_user = json.loads(record.read_text())["username"]
    assert new_user != old_user
    prometheus = (web.stack.out_dir / "prometheus" / "prometheus.yml").read_text()
    assert new_user in prometheus and old_user not in prometheus
    assert old_user not in (web.stack.out_dir / "secrets" / "relay" / "web.yml").read_text()

    assert web.containers() == before, "a container was recreated or restarted"
    time.sleep(3)  # scrapes after the last change
    window = int(time.monotonic() - started) + 2
    lowest = web.query(f"min_over_time(up[{window}s])", password=NEW_PASSWORD)
    assert lowest and {s["metric"]["job"]: s["value"][1] for s in lowest if s["value"][1] != "1"} == {}
