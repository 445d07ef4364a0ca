"""Notifications end to end on real containers: rule → Prometheus → Alertmanager → relay → chat APIs, email.

One stack for the module, brought up by `apply` (Prometheus 2.42, Alertmanager 0.25, the relay built on
the local Python image), with short timings: scrape and evaluation every 1 s, rules `for: 0s`, routes
group_wait 1 s and group_interval 2 s. The alerts come from a scrape target on this host whose series the
tests set and remove (tests/fakes/metrics_target.py), one `scenario` label per test, routed to its own
receiver, so that the scenarios do not share a robot's rate limit or a fake's records. Every fake
(DingTalk with 加签, WeCom robot, WeCom app with gettoken, Feishu with signing, SMTP with STARTTLS and
AUTH) listens on docker0's address, which the containers reach directly (host_access only rewrites localhost).

Every scenario's series exist from the start, so the stack works on all of them at once; the rate-limit
test, which must wait out DingTalk's minute, runs last and has had the time of the others to progress.
Traffic: loopback, the bridge address, and the stack's own containers.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.chat_apis import FakeDingTalk, FakeFeishu, FakeWeComApp, FakeWeComRobot, Received
from tests.fakes.https_server import self_signed_certificate
from tests.fakes.metrics_target import MetricsTarget
from tests.fakes.smtp import FakeSMTP
from tests.helpers import remove_compose_project, unique_project_name, wait_until
from tests.integration.runtime_stack import TestStack, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.compat]

IMAGE_ROLES = ("prometheus", "alertmanager", "relay-base")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

DINGTALK_TOKEN, DINGTALK_SECRET = "e2e-ding-token", "SECe2e0123456789abcdef"
BURST_TOKEN = "e2e-burst-token"
BAD_TOKEN, BAD_SECRET = "e2e-bad-token", "SECthe-robots-real-secret"
WECOM_KEY, SPLIT_KEY, RETRY_KEY = "e2e-wecom-key", "e2e-split-key", "e2e-retry-key"
CORP_ID, CORP_SECRET, AGENT_ID = "wwe2ecorp", "e2e-corp-secret", "1000002"
FEISHU_TOKEN, FEISHU_SECRET = "e2e-feishu-hook", "e2e-feishu-secret"
SMTP_USER, SMTP_PASSWORD = "alerts@example.com", "e2e-Smtp#pass"
SMTP_CA_FILE = "tls/cert.pem"  # relative to the spec (self_signed_certificate names it cert.pem)

SPLIT_ALERTS = 300
BURST_GROUPS = 30
PERMANENT_GROUP_INTERVAL = 5.0

SUMMARY = "支付服务错误率过高：{{ $labels.instance }}"
DESCRIPTION = "错误率 {{ $value }}，请立即处理（值班：张三）"


@dataclass
class Fakes:
    """Every endpoint outside the stack, all on this host."""

    target: MetricsTarget
    ding: FakeDingTalk          # receiver chat: signed
    wecom: FakeWeComRobot       # receiver chat
    app: FakeWeComApp           # receiver chat: gettoken then message/send
    feishu: FakeFeishu          # receiver chat: signed
    smtp: FakeSMTP              # receiver mail
    split: FakeWeComRobot       # receiver split-robot: one group of 300 alerts
    burst: FakeDingTalk         # receiver burst-ding: many groups at once
    retry: FakeWeComRobot       # receiver retry-robot: answers 500 twice first
    bad: FakeDingTalk           # receiver bad-ding: the spec's secret is wrong → 310000

    def servers(self) -> list[Any]:
        return [self.ding, self.wecom, self.app, self.feishu, self.split, self.burst, self.retry, self.bad]


@dataclass
class Live:
    stack: TestStack
    fakes: Fakes
    docker_client: Any
    started: float              # time.monotonic() when the stack was up

    @property
    def relay_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.spec['relay']['port']}"

    def relay_metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = _get_text(self.relay_url + "/metrics")
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(text) for sample in family.samples}

    def relay_metric(self, name: str, **labels: str) -> float:
        """Sum of the relay's samples of `name` whose labels include `labels`."""
        return sum(value for (sample, sample_labels), value in self.relay_metrics().items()
                   if sample == name and set(labels.items()) <= set(sample_labels))

    def relay_log(self) -> str:
        containers = self.docker_client.containers.list(all=True, filters={"label": [
            f"com.docker.compose.project={self.stack.project}", "io.stackgen.role=relay"]})
        assert containers, "no relay container"
        return str(containers[0].logs().decode("utf-8", "replace"))


def _get_text(url: str) -> str:
    with _NO_PROXY.open(url, timeout=10) as answer:
        return str(answer.read().decode("utf-8"))


def text_of(request: Received) -> str:
    """Everything a person would read in one request, as one string (Chinese kept as is)."""
    return json.dumps(request.body, ensure_ascii=False)


def rules() -> list[dict[str, Any]]:
    def rule(alert: str, metric: str, **extra: Any) -> dict[str, Any]:
        return {"alert": alert, "expr": f"{metric} > 0", "for": "0s", **extra}

    return [
        rule("E2EContent", "e2e_content", labels={"severity": "critical", "team": "支付"},
             annotations={"summary": SUMMARY, "description": DESCRIPTION}),
        rule("E2EMail", "e2e_mail", labels={"severity": "warning"},
             annotations={"summary": "邮件告警测试：{{ $labels.instance }}", "description": DESCRIPTION}),
        rule("E2ESplit", "e2e_split", annotations={"summary": "大量节点不可达"}),
        rule("E2EBurst", "e2e_burst", annotations={"summary": "突发告警"}),
        rule("E2ERetry", "e2e_retry", annotations={"summary": "重试测试"}),
        rule("E2EPermanent", "e2e_permanent", annotations={"summary": "签名错误测试"}),
    ]


def build_spec(project: str, images: dict[str, str], gateway: str, fakes: Fakes) -> dict[str, Any]:
    """The stack: only what the scenarios need, every timing short, every endpoint a fake."""
    def on(server: Any) -> str:
        return server.url(gateway)

    return {
        "version": 1,
        "name": project,
        "images": {role: images[role] for role in IMAGE_ROLES},
        "prometheus": {"port": free_port(), "scrape_interval": "1s", "evaluation_interval": "1s"},
        "alertmanager": {"port": free_port()},
        # message times in China's zone (the relay image also carries tzdata for bases without zoneinfo)
        "relay": {"port": free_port(), "timezone": "Asia/Shanghai"},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "tracing": {"enabled": False},
        "targets": [{"job": "e2e", "targets": [fakes.target.address(gateway)]}],
        "rules": {"include": [], "groups": [{"name": "e2e", "rules": rules()}]},
        "receivers": [
            {"name": "nowhere"},
            {"name": "chat",
             "dingtalk": {"url": f"{on(fakes.ding)}/robot/send?access_token={DINGTALK_TOKEN}",
                          "secret": DINGTALK_SECRET},
             "wecom_robot": {"key": WECOM_KEY, "api_url": on(fakes.wecom)},
             "wecom": {"corp_id": CORP_ID, "agent_id": AGENT_ID, "secret": CORP_SECRET, "to_party": "2",
                       "api_url": on(fakes.app)},
             "feishu": {"url": f"{on(fakes.feishu)}/open-apis/bot/v2/hook/{FEISHU_TOKEN}",
                        "secret": FEISHU_SECRET}},
            {"name": "mail",
             "email": {"to": ["oncall@example.com"], "from": SMTP_USER,
                       "smarthost": f"{gateway}:{fakes.smtp.port}", "username": SMTP_USER,
                       # from .env beside the spec; rendered as auth_password_file
                       "password": "${SMTP_PASSWORD}",
                       # require_tls stays true (the default): STARTTLS, trusting the server's certificate
                       "tls_config": {"ca_file": SMTP_CA_FILE}}},
            {"name": "split-robot", "wecom_robot": {"key": SPLIT_KEY, "api_url": on(fakes.split)}},
            {"name": "burst-ding",
             "dingtalk": {"url": f"{on(fakes.burst)}/robot/send?access_token={BURST_TOKEN}"}},
            {"name": "retry-robot", "wecom_robot": {"key": RETRY_KEY, "api_url": on(fakes.retry)}},
            {"name": "bad-ding",
             "dingtalk": {"url": f"{on(fakes.bad)}/robot/send?access_token={BAD_TOKEN}",
                          "secret": "SECnot-the-robots-secret"}},
        ],
        "route": {
            "receiver": "nowhere",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "1h",
            "routes": [
                {"matchers": ['scenario="content"'], "receiver": "chat"},
                {"matchers": ['scenario="mail"'], "receiver": "mail"},
                {"matchers": ['scenario="split"'], "receiver": "split-robot"},
                {"matchers": ['scenario="burst"'], "receiver": "burst-ding",
                 "group_by": ["alertname", "grp"]},
                {"matchers": ['scenario="retry"'], "receiver": "retry-robot"},
                {"matchers": ['scenario="permanent"'], "receiver": "bad-ding",
                 "group_interval": f"{PERMANENT_GROUP_INTERVAL:g}s"},
            ],
        },
    }


@pytest.fixture(scope="module")
def live(docker_client: Any, local_images: dict[str, str], host_gateway_ip: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    gateway = host_gateway_ip
    project = unique_project_name()
    directory = tmp_path_factory.mktemp("notifications")
    # beside the spec, where tls_config.ca_file names it: the SMTP fake's self-signed certificate
    smtp_certificate = self_signed_certificate(directory / Path(SMTP_CA_FILE).parent, gateway, days=30)
    fakes = Fakes(
        target=MetricsTarget(gateway),
        ding=FakeDingTalk(DINGTALK_TOKEN, DINGTALK_SECRET, host=gateway),
        wecom=FakeWeComRobot(WECOM_KEY, host=gateway),
        app=FakeWeComApp(CORP_ID, CORP_SECRET, host=gateway),
        feishu=FakeFeishu(FEISHU_TOKEN, FEISHU_SECRET, host=gateway),
        smtp=FakeSMTP(SMTP_USER, SMTP_PASSWORD, host=gateway, certificate=smtp_certificate),
        split=FakeWeComRobot(SPLIT_KEY, host=gateway),
        burst=FakeDingTalk(BURST_TOKEN, host=gateway),
        retry=FakeWeComRobot(RETRY_KEY, host=gateway),
        bad=FakeDingTalk(BAD_TOKEN, BAD_SECRET, host=gateway),
    )
    started: list[Any] = []
    try:
        for server in [fakes.target, fakes.smtp, *fakes.servers()]:
            server.start()
            started.append(server)
        fakes.retry.fail_next(2, 500)
        # Every scenario's series from the start: their alerts fire as soon as Prometheus scrapes.
        fakes.target.set("e2e_content", {"scenario": "content"})
        fakes.target.set("e2e_mail", {"scenario": "mail"})
        fakes.target.set_many("e2e_split", ({"scenario": "split", "item": f"i-{n:03d}"}
                                            for n in range(SPLIT_ALERTS)))
        fakes.target.set_many("e2e_burst", ({"scenario": "burst", "grp": f"g-{n:02d}"}
                                            for n in range(BURST_GROUPS)))
        fakes.target.set("e2e_retry", {"scenario": "retry"})
        fakes.target.set("e2e_permanent", {"scenario": "permanent"})

        (directory / ".env").write_text(f"SMTP_PASSWORD={SMTP_PASSWORD}\n", encoding="utf-8")
        stack = TestStack(directory, build_spec(project, local_images, gateway, fakes))
        stack.apply()
        yield Live(stack, fakes, docker_client, time.monotonic())
    finally:
        for server in reversed(started):
            server.stop()
        failures = remove_compose_project(docker_client, project)
        assert not failures, f"cleanup of project {project} left: {failures}"


def accepted_with(fake: Any, needle: str, timeout: float = 60.0) -> list[Received]:
    """Wait until `fake` accepted a request whose text contains `needle`; return all such requests."""
    def found() -> list[Received]:
        return [r for r in fake.accepted if needle in text_of(r)]

    return wait_until(found, timeout=timeout, interval=0.25, message=f"a request with {needle!r} at {fake}")


# -- 1. content through every relay channel, firing then resolved ------------------------------------


def test_firing_then_resolved_reaches_every_chat_api_with_chinese_text_and_labels(live: Live) -> None:
    fakes = live.fakes
    chats = {"dingtalk": fakes.ding, "wecom_robot": fakes.wecom, "wecom": fakes.app, "feishu": fakes.feishu}
    for name, fake in chats.items():
        firing = accepted_with(fake, "E2EContent")
        text = text_of(firing[0])
        assert "支付服务错误率过高：" in text, (name, text)
        assert "请立即处理（值班：张三）" in text, (name, text)
        assert "支付" in text and "critical" in text, (name, text)          # labels team, severity
        assert "🔥" in text and "已恢复" not in text, (name, text)
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+0800", text), (name, text)
    # What each fake checked: the DingTalk and Feishu fakes verify the signature (a bad one is refused,
    # see test_permanent_error...), WeCom app went through gettoken first.
    assert all(r.ok for r in fakes.ding.received + fakes.feishu.received)
    assert fakes.app.tokens_issued == 1
    app_message = next(r for r in fakes.app.accepted if r.path == "/cgi-bin/message/send")
    assert app_message.body["agentid"] == int(AGENT_ID) and app_message.body["toparty"] == "2"
    assert "timestamp" in fakes.ding.accepted[0].query and "sign" in fakes.ding.accepted[0].query

    fakes.target.remove("e2e_content")
    for name, fake in chats.items():
        resolved = accepted_with(fake, "已恢复")
        text = text_of(resolved[-1])
        assert "E2EContent" in text and "✅" in text and "支付" in text, (name, text)
    # One firing and one resolved message per channel: nothing sent twice.
    for name, fake in chats.items():
        sends = [r for r in fake.accepted if r.path != "/cgi-bin/gettoken"]
        assert len(sends) == 2, (name, [text_of(r)[:120] for r in sends])


# -- 2. email through SMTP with AUTH, the password from a file -----------------------------------


def test_email_arrives_through_smtp_auth_with_the_password_from_a_file(live: Live) -> None:
    generated = live.stack.out_dir
    am_config = (generated / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
    assert SMTP_PASSWORD not in am_config and "auth_password_file" in am_config

    mails = wait_until(lambda: [m for m in live.fakes.smtp.received() if "E2EMail" in m.subject],
                       timeout=60, message="the E2EMail mail")
    mail = mails[0]
    assert mail.tls                                     # STARTTLS, the certificate trusted via ca_file
    assert mail.login == SMTP_USER                      # Alertmanager authenticated (AUTH LOGIN)
    assert ("LOGIN", True) in live.fakes.smtp.auth_attempts
    assert mail.rcpt_tos == ["oncall@example.com"] and mail.mail_from == SMTP_USER
    assert mail.subject == "[FIRING:1] E2EMail"        # stackgen.email.subject
    body = mail.text()
    assert "邮件告警测试：" in body and "请立即处理（值班：张三）" in body, body[:2000]
    assert "scenario" in body and "mail" in body


# -- 3. a 300-alert group split for the WeCom robot -------------------------------------------------


def test_a_300_alert_group_arrives_split_in_numbered_parts_under_4096_bytes(live: Live) -> None:
    fake = live.fakes.split
    item = re.compile(r"item=`(i-\d{3})`")

    def content(request: Received) -> str:
        return str(request.body["markdown"]["content"])

    def last_message() -> list[Received]:
        """The parts of the last message once it is whole (Alertmanager may send a partial group first)."""
        parts = [r for r in fake.accepted if "E2ESplit" in content(r)]
        found = re.search(r"\((\d+)/(\d+)\)", content(parts[-1])) if parts else None
        if not found or found.group(1) != found.group(2):
            return []
        return parts[-int(found.group(2)):]

    def whole() -> list[Received]:
        parts = last_message()
        return parts if len({i for r in parts for i in item.findall(content(r))}) == SPLIT_ALERTS else []

    parts = wait_until(whole, timeout=60, interval=0.5, message="a message with every one of the 300 alerts")
    assert all(r.status == 200 and r.answer["errcode"] == 0 for r in fake.received), \
        [r.answer for r in fake.received]
    total = len(parts)
    assert total >= 2
    # Numbered 1/N .. N/N in order (one relay thread sends them), each under WeCom's 4096 bytes.
    assert [re.findall(r"\(\d+/\d+\)", content(r))[:1] for r in parts] == \
        [[f"({n}/{total})"] for n in range(1, total + 1)]
    sizes = [len(content(r).encode("utf-8")) for r in parts]
    assert max(sizes) <= 4096, sizes
    # Split between alerts: each alert exactly once, on a whole line of its own.
    items = [found for r in parts for found in item.findall(content(r))]
    assert sorted(items) == [f"i-{n:03d}" for n in range(SPLIT_ALERTS)]
    for request in parts:
        for line in content(request).splitlines():
            if "item=" in line:
                assert re.fullmatch(r"\d+\. 🔥 item=`i-\d{3}`", line.strip()), line


# -- 5. retries: 500 twice then delivered; a permanent errcode is not retried forever -----------


def test_a_retryable_failure_is_retried_by_alertmanager_until_delivered(live: Live) -> None:
    fake = live.fakes.retry
    wait_until(lambda: fake.accepted, timeout=60, message="the retried message delivered")
    time.sleep(3)                                       # a duplicate would come within group_interval
    assert [r.status for r in fake.received] == [500, 500, 200]
    assert "E2ERetry" in text_of(fake.received[-1]) and "重试测试" in text_of(fake.received[-1])
    assert live.relay_metric("stackgen_relay_notifications_total", receiver="retry-robot", code="503") == 2
    assert live.relay_metric("stackgen_relay_notifications_total", receiver="retry-robot", code="200") == 1
    assert live.relay_metric("stackgen_relay_messages_failed_total", receiver="retry-robot",
                             reason="retryable") == 2


def test_a_permanent_error_is_answered_4xx_and_not_retried_forever(live: Live) -> None:
    fake = live.fakes.bad
    first = wait_until(lambda: fake.received, timeout=60, message="a first attempt at the robot")[0]
    # Observe at least 12 s after the first attempt (usually long past by now).
    time.sleep(max(0.0, first.time + 12.0 - time.monotonic()))
    window = time.monotonic() - first.time
    attempts = list(fake.received)
    assert all(r.answer.get("errcode") == 310000 for r in attempts), [r.answer for r in attempts]
    # Alertmanager does not retry a 4xx within a flush; it tries again only at the next group_interval.
    # A retried (5xx) failure would be re-sent every second or so (backoff from 0.5 s).
    assert len(attempts) <= window / PERMANENT_GROUP_INTERVAL + 2, (len(attempts), window)
    answered_422 = live.relay_metric("stackgen_relay_notifications_total", receiver="bad-ding", code="422")
    # every attempt answered 422 (one may be in flight between the fake's record and the relay's count)
    assert len(attempts) - 1 <= answered_422 <= len(fake.received)
    assert live.relay_metric("stackgen_relay_notifications_total", receiver="bad-ding", code="503") == 0
    assert "errcode 310000: sign not match" in live.relay_log()


# -- 6. notify test: one broken receiver among healthy ones -------------------------------------


def test_notify_test_reports_the_broken_receiver_among_healthy_ones(live: Live) -> None:
    result = live.stack.cli("notify", "test", "chat", "mail", "bad-ding", "--timeout", "30")
    lines = result.stdout.splitlines()
    assert result.returncode == 1, (result.stdout, result.stderr)
    verdicts = {line.split()[1]: line for line in lines if line.startswith(("ok", "FAILED"))}
    assert verdicts["chat"].startswith("ok"), lines
    assert verdicts["mail"].startswith("ok"), lines
    assert verdicts["bad-ding"].startswith("FAILED"), lines
    assert "errcode 310000: sign not match" in verdicts["bad-ding"]
    assert "1 of 3 receiver(s) did not get the test notification" in result.stderr
    assert "Traceback" not in result.stderr


# -- 4. rate limit under a burst (last: it waits out the robot's minute) --------------------------


def test_a_burst_of_groups_stays_under_20_per_minute_and_nothing_is_lost(live: Live) -> None:
    fake = live.fakes.burst
    grp = re.compile(r"grp[=:] ?`?(g-\d{2})")

    def all_groups() -> set[str]:
        return {found for r in fake.accepted for found in grp.findall(text_of(r))}

    # 20 go at once; the rest wait for the window (a minute and 2 %) and go merged.
    wait_until(lambda: len(all_groups()) == BURST_GROUPS, timeout=100, interval=1,
               message=f"all {BURST_GROUPS} burst groups delivered")
    requests = list(fake.received)
    assert all(r.ok for r in requests), [r.answer for r in requests if not r.ok]   # never 130101
    times = sorted(r.time for r in requests)
    busiest = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert busiest <= 20, busiest
    assert len(requests) < BURST_GROUPS                 # the late ones were merged
    assert any("合并" in text_of(r) for r in requests), "the merged message says so"
    assert live.relay_metric("stackgen_relay_rate_limit_waits_total", receiver="burst-ding") > 0
    assert "rate limit:" in live.relay_log() and "merged into" in live.relay_log()


def test_the_relay_log_names_failures_but_never_a_secret(live: Live) -> None:
    log = live.relay_log()
    assert "errcode 310000" in log                      # it did log the failures (with the API's message)
    secrets = [DINGTALK_TOKEN, DINGTALK_SECRET, BURST_TOKEN, BAD_TOKEN, "SECnot-the-robots-secret",
               WECOM_KEY, SPLIT_KEY, RETRY_KEY, CORP_SECRET, FEISHU_TOKEN, FEISHU_SECRET]
    assert [secret for secret in secrets if secret in log] == []
