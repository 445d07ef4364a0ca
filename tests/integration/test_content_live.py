"""Rule packs and dashboards against a real stack: rules evaluate cleanly, alerts fire, panels have data.

One stack applied with `apply` (Prometheus 2.42, Alertmanager 0.25, node_exporter 1.5, blackbox,
the relay). A TCP probe of a closed port fires ProbeFailed, routed to a DingTalk receiver whose robot
is a fake on docker0's address, so notifications flow Prometheus -> Alertmanager -> relay ->
"DingTalk"; the same alert also goes to a second receiver whose token the robot refuses, so the relay
counts failed deliveries. On this host, at docker0's address: an HTTPS server with a self-signed
certificate (probed through a custom blackbox module that verifies it against the spec's ca_file), and
an instrumented HTTP service under steady traffic from the test; both are written in the spec as
`localhost:PORT`, the way a developer names a service on their machine, so host_access proves it reaches
them (host.docker.internal through host-gateway). An ICMP probe pings the Prometheus container; a DNS
probe asks Docker's embedded DNS for it. Then every query of the dashboards whose exporters run here
must return data. Traffic: loopback, the stack's containers and the fakes on the docker bridge.
"""

from __future__ import annotations

import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from stackgen.content.dashboards import concrete_query, queries
from stackgen.content.rules import load_pack
from tests.fakes.chat_apis import FakeDingTalk
from tests.fakes.http_service import InstrumentedService, Traffic
from tests.fakes.https_server import HTTPSServer, self_signed_certificate
from tests.helpers import remove_compose_project, unavailable, wait_until
from tests.integration.runtime_stack import TestStack, free_port, get_json, targets_by_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGE_ROLES = ("prometheus", "alertmanager", "node-exporter", "blackbox-exporter", "relay-base")
PACKS = ["prometheus-self", "alertmanager", "node", "blackbox", "go-runtime", "relay", "watchdog", "http-red"]
LIVE_DASHBOARDS = ["overview", "prometheus", "alertmanager", "node", "blackbox", "go-runtime", "relay",
                   "http-red"]
# Panels that only have data in some situations ("needs:" in the dashboard file): this stack makes these.
SATISFIED_NEEDS = {
    "a notification through the relay",
    "a DingTalk or WeCom robot receiver",
    "a notification sent by Alertmanager in the time range",
    "an https probe",
    "an icmp probe",
    "a failed delivery",
}
# Grafana widens $__rate_interval with the time range; 2m is what a few-hours view gets.
RATE_INTERVAL = "2m"
DINGTALK_TOKEN = "content-live-token"
REVOKED_TOKEN = "revoked-token"  # the robot answers errcode 300001: a permanent failure for the relay
# Between the blackbox pack's 3 and 14 days: ProbeCertificateExpiringSoon is pending (it fires after 1h).
CERT_DAYS = 10
SERVICE_JOB = "shop-api"
# 10 requests/s, one in ten a 500: above http-red's min_request_rate and error_percent.
SERVICE_TRAFFIC = ["/ok"] * 9 + ["/fail"]


@dataclass
class LiveStack:
    stack: TestStack
    robot: FakeDingTalk
    https: HTTPSServer
    service: InstrumentedService


def query(stack: TestStack, expr: str) -> list[dict[str, Any]]:
    answer = get_json(f"{stack.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    return list(answer["data"]["result"])


@pytest.fixture(scope="module")
def live(docker_client: Any, local_images: dict[str, str], host_gateway_ip: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    project = f"sgcontent{uuid.uuid4().hex[:8]}"
    gateway = host_gateway_ip
    try:
        certificate = self_signed_certificate(tmp_path_factory.mktemp("tls"), gateway, CERT_DAYS)
    except (OSError, subprocess.CalledProcessError) as error:
        unavailable(f"no self-signed certificate for the HTTPS probe: {error}")
    robot = FakeDingTalk(DINGTALK_TOKEN, host=gateway).start()
    https = HTTPSServer(certificate, host=gateway).start()
    service = InstrumentedService(host=gateway).start()
    traffic = Traffic(service.url(), SERVICE_TRAFFIC).start()
    robot_url = f"{robot.url(gateway)}/robot/send"
    spec = {
        "version": 1,
        "name": project,
        # relay-base: the local Python image the relay is built on (no registry here)
        "images": {role: local_images[role] for role in IMAGE_ROLES if role in local_images},
        "prometheus": {"port": free_port(), "scrape_interval": "2s", "evaluation_interval": "2s"},
        "alertmanager": {"port": free_port()},
        "relay": {"port": free_port()},  # not 9095: another stack on this host may publish that
        "grafana": {"enabled": False},
        "exporters": {"node": True, "cadvisor": False, "blackbox": True, "pushgateway": False},
        "tracing": {"enabled": False},
        # a developer's service on this machine, as they would write it
        "targets": [{"job": SERVICE_JOB, "targets": [f"localhost:{service.port}"]}],
        "probes": [
            {"name": "healthy", "module": "http_2xx", "targets": ["http://prometheus:9090/-/healthy"]},
            {"name": "closed-port", "module": "tcp_connect", "targets": ["alertmanager:1"]},
            {"name": "https", "module": "https_self_signed", "targets": [f"https://localhost:{https.port}/"]},
            {"name": "ping", "module": "icmp", "targets": ["prometheus"]},
            # Docker's embedded DNS, inside the blackbox container: the stack's own names
            {"name": "dns", "module": "dns_stack", "targets": ["127.0.0.11:53"]},
        ],
        "blackbox": {"modules": {
            # The certificate is verified: the spec's ca_file is copied into blackbox's secrets. It is
            # made for the bridge address, which the probe reaches as host.docker.internal.
            "https_self_signed": {"prober": "http", "timeout": "5s", "http": {
                "preferred_ip_protocol": "ip4", "fail_if_not_ssl": True,
                "tls_config": {"ca_file": str(certificate.cert_file), "server_name": gateway}}},
            "dns_stack": {"prober": "dns", "timeout": "5s", "dns": {
                "query_name": "prometheus", "query_type": "A", "preferred_ip_protocol": "ip4",
                "valid_rcodes": ["NOERROR"],
                "validate_answer_rrs": {"fail_if_none_matches_regexp": [r".*\tIN\tA\t.*"]}}},
        }},
        "rules": {"include": PACKS, "params": {
            "blackbox": {"probe_failed_for": "10s"},
            # the week-long statistics every 2 s like the other groups here, not every minute
            "http-red": {"baseline_interval": "2s"},
        }},
        "dashboards": {"include": LIVE_DASHBOARDS},
        "receivers": [
            {"name": "ding", "dingtalk": {"url": f"{robot_url}?access_token={DINGTALK_TOKEN}"}},
            {"name": "ding-revoked", "dingtalk": {"url": f"{robot_url}?access_token={REVOKED_TOKEN}"}},
        ],
        # Repeat often: rate() panels over the relay and Alertmanager need recent notifications.
        "route": {"receiver": "ding", "group_wait": "1s", "group_interval": "5s", "repeat_interval": "10s",
                  "routes": [{"matchers": ['alertname="ProbeFailed"'],
                              "receivers": ["ding", "ding-revoked"]}]},
    }
    try:
        stack = TestStack(tmp_path_factory.mktemp("content"), spec)
        stack.apply()
        yield LiveStack(stack, robot, https, service)
    finally:
        traffic.stop()
        for server in (robot, https, service):
            server.stop()
        failures = remove_compose_project(docker_client, project)
        assert not failures, f"cleanup of project {project} left: {failures}"


@pytest.fixture(scope="module")
def converged(live: LiveStack) -> LiveStack:
    """Every target up, alerts delivered through the relay, and a few evaluations behind us."""
    expected_jobs = {"prometheus", "alertmanager", "node-exporter", "blackbox-exporter", "relay", "healthy",
                     "closed-port", "https", "ping", "dns", SERVICE_JOB}

    def all_up() -> bool:
        jobs = targets_by_job(live.stack.prometheus_url)
        return set(jobs) >= expected_jobs and all(t["health"] == "up" for ts in jobs.values() for t in ts)

    wait_until(all_up, timeout=120, interval=1, message="every target up")
    wait_until(lambda: sum(1 for request in live.robot.received if request.ok) >= 2, timeout=120,
               interval=1, message="two DingTalk messages from the relay")
    wait_until(lambda: query(live.stack, "stackgen_relay_messages_sent_total > 0"), timeout=60,
               interval=1, message="Prometheus to scrape the relay's deliveries")
    return live


def test_every_pack_rule_evaluates_without_error(converged: LiveStack) -> None:
    shipped = {group["name"] for pack in PACKS for group in load_pack(pack)}

    def evaluated() -> dict[str, Any]:
        groups = get_json(converged.stack.prometheus_url + "/api/v1/rules")["data"]["groups"]
        rules = {rule["name"]: rule for group in groups if group["name"] in shipped
                 for rule in group["rules"]}
        return rules if rules and all(rule["health"] != "unknown" for rule in rules.values()) else {}

    rules = wait_until(evaluated, timeout=60, interval=1, message="every pack rule evaluated at least once")
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

    wait_until(lambda: {("Watchdog", ""), ("ProbeFailed", "alertmanager:1")} <= firing(), timeout=60,
               interval=1, message="Watchdog and ProbeFailed for the closed port")
    assert ("ProbeFailed", "http://prometheus:9090/-/healthy") not in firing()


def test_delivered_message_is_the_blackbox_alert(converged: LiveStack) -> None:
    texts = [str(request.body) for request in converged.robot.received if request.ok]
    assert any("ProbeFailed" in text for text in texts), texts[:1]


def test_a_revoked_robot_token_is_a_permanent_failure_of_the_relay(converged: LiveStack) -> None:
    failed = ('stackgen_relay_messages_failed_total'
              '{receiver="ding-revoked", channel="dingtalk", reason="permanent"}')
    wait_until(lambda: query(converged.stack, f"{failed} > 0"), timeout=60, interval=1,
               message="the relay to count the refused message")
    refused = [r for r in converged.robot.received if r.query.get("access_token") == REVOKED_TOKEN]
    assert refused and {r.answer["errcode"] for r in refused} == {300001}
    assert any("ProbeFailed" in str(r.body) for r in refused)


def test_the_service_on_this_host_is_scraped_through_the_host_gateway(converged: LiveStack) -> None:
    port = converged.service.port
    [target] = targets_by_job(converged.stack.prometheus_url)[SERVICE_JOB]
    assert target["health"] == "up", target["lastError"]
    assert target["labels"] == {"instance": f"host.docker.internal:{port}", "job": SERVICE_JOB}
    assert target["scrapeUrl"] == f"http://host.docker.internal:{port}/metrics"
    served = query(converged.stack, f'sum by (code) (http_requests_total{{job="{SERVICE_JOB}"}})')
    assert {series["metric"]["code"] for series in served} == {"200", "500"}


def test_the_https_icmp_and_dns_probes_succeed(converged: LiveStack) -> None:
    # Checked here, not only by the panels: a failed ping still reports its rtt phase (as 0).
    def success() -> dict[str, str]:
        results = query(converged.stack, 'probe_success{job=~"https|ping|dns"}')
        return {r["metric"]["job"]: r["value"][1] for r in results}

    expected = {"https": "1", "ping": "1", "dns": "1"}
    deadline = time.monotonic() + 30
    while (outcome := success()) != expected and time.monotonic() < deadline:
        time.sleep(1)
    assert outcome == expected
    assert query(converged.stack, 'probe_dns_answer_rrs{job="dns"} > 0')
    [expiry] = query(converged.stack, 'probe_ssl_earliest_cert_expiry{job="https"}')
    assert expiry["metric"]["instance"] == f"https://host.docker.internal:{converged.https.port}/"
    assert float(expiry["value"][1]) == converged.https.certificate.not_after  # the test's own certificate
    assert query(converged.stack, 'probe_icmp_duration_seconds{job="ping", phase="rtt"} > 0')


def test_alerts_on_the_certificate_and_the_failing_service_are_pending(converged: LiveStack) -> None:
    def active() -> set[tuple[str, str]]:
        alerts = get_json(converged.stack.prometheus_url + "/api/v1/alerts")["data"]["alerts"]
        return {(alert["labels"]["alertname"], alert["labels"].get("job", "")) for alert in alerts
                if alert["state"] in ("pending", "firing")}

    # Their `for` (1h, 5m) is longer than this test: pending shows the expressions match live data.
    expected = {("ProbeCertificateExpiringSoon", "https"), ("HTTPHighErrorRatio", SERVICE_JOB)}
    wait_until(lambda: expected <= active(), timeout=60, interval=1,
               message="ProbeCertificateExpiringSoon and HTTPHighErrorRatio pending")


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
