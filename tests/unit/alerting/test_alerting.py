"""notify test / preview and silences, against a fake Alertmanager and the relay in a thread."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stackgen.alerting.alertmanager_api import (  # noqa: E402
    AlertmanagerAPI,
    Matcher,
    parse_duration,
    parse_matcher,
)
from stackgen.alerting.delivery_check import Target, run_notify_test, targets_from_config  # noqa: E402
from stackgen.cli import cli, main  # noqa: E402
from stackgen.errors import InvalidInput  # noqa: E402
from stackgen.relay.config import load_config  # noqa: E402
from stackgen.relay.dispatch import Relay  # noqa: E402
from stackgen.relay.server import RelayServer  # noqa: E402
from stackgen.rendered import RenderedStack, url_of_port  # noqa: E402
from tests.fakes.alertmanager import FakeAlertmanager  # noqa: E402
from tests.fakes.chat_apis import FakeDingTalk, FakeWeComRobot  # noqa: E402
from tests.fakes.fixtures import write_secret  # noqa: E402


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alertname=Foo", Matcher("alertname", "=", "Foo")),
        ('job=~"api.*"', Matcher("job", "=~", "api.*")),
        ("severity != info", Matcher("severity", "!=", "info")),
        ('summary="说 \\"hi\\""', Matcher("summary", "=", '说 "hi"')),
        ("x!~a|b", Matcher("x", "!~", "a|b")),
    ],
)
def test_parse_matcher(text: str, expected: Matcher) -> None:
    assert parse_matcher(text) == expected


@pytest.mark.parametrize("text", ["=x", "1abc=x", "job", 'job=~"("'])
def test_bad_matchers(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_matcher(text)


def test_matcher_api_form() -> None:
    assert parse_matcher("a!~b").to_api() == {"name": "a", "value": "b", "isRegex": True, "isEqual": False}


def test_parse_duration() -> None:
    assert parse_duration("1d12h") == timedelta(hours=36)
    assert parse_duration("90m") == timedelta(minutes=90)
    for bad in ("", "2x", "0s", "h"):
        with pytest.raises(InvalidInput):
            parse_duration(bad)


def test_published_ports_and_mounts(tmp_path: Path) -> None:
    assert url_of_port("127.0.0.1:19093:9093", 9093) == "http://127.0.0.1:19093"
    assert url_of_port("0.0.0.0:9093:9093", 9093) == "http://127.0.0.1:9093"
    assert url_of_port("[::1]:9093:9093", 9093) == "http://[::1]:9093"
    assert url_of_port("127.0.0.1:9094:9094", 9093) is None
    files = RenderedStack(
        tmp_path,
        {
            "services": {
                "relay": {
                    "ports": ["127.0.0.1:19095:9095"],
                    "volumes": ["./relay:/etc/stackgen-relay:ro", "./secrets/relay:/run/secrets/stackgen:ro"],
                }
            }
        },
    )
    assert files.published_url(9095, "relay") == "http://127.0.0.1:19095"
    assert (
        files.host_path(("relay",), "/etc/stackgen-relay/templates/a.j2")
        == tmp_path.resolve() / "relay/templates/a.j2"
    )
    assert files.host_path(("relay",), "/elsewhere") is None


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict]:
    """A relay with a healthy DingTalk receiver and a broken WeCom one, behind a fake Alertmanager."""
    ding = FakeDingTalk("tok", "SECok").start()
    wecom = FakeWeComRobot("right-key").start()
    config = {
        "listen": ":0",
        "receivers": {
            "ops-dingtalk": [
                {
                    "channel": "dingtalk",
                    "url_file": write_secret(tmp_path, "u", ding.robot_url),
                    "secret_file": write_secret(tmp_path, "s", "SECok"),
                }
            ],
            "ops-wecom": [
                {
                    "channel": "wecom_robot",
                    "key_file": write_secret(tmp_path, "k", "wrong-key"),
                    "api_url": wecom.url(),
                }
            ],
        },
    }
    path = tmp_path / "relay.yml"
    path.write_text(json.dumps(config))
    relay = Relay(load_config(path))
    server = RelayServer(("127.0.0.1", 0), relay)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    am = FakeAlertmanager(["null", "ops-dingtalk", "ops-wecom"], relay_url=server.url)
    yield {"am": am, "relay": server, "ding": ding, "wecom": wecom, "config": path}
    am.stop()
    server.shutdown()
    server.server_close()
    relay.stop()
    ding.stop()
    wecom.stop()


def relay_targets() -> list[Target]:
    am_config = {
        "receivers": [
            {"name": "null"},
            {"name": "ops-dingtalk", "webhook_configs": [{}]},
            {"name": "ops-wecom", "webhook_configs": [{}]},
        ]
    }
    return targets_from_config(am_config, ["ops-dingtalk", "ops-wecom"], [])


def test_notify_test_reports_the_broken_receiver_among_healthy_ones(stack: dict) -> None:
    verdicts = run_notify_test(
        AlertmanagerAPI(stack["am"].url), stack["relay"].url, relay_targets(), timeout=10
    )
    assert [(v.receiver, v.delivered) for v in verdicts] == [("ops-dingtalk", True), ("ops-wecom", False)]
    assert "93000" in verdicts[1].detail and "invalid webhook url" in verdicts[1].detail
    [received] = stack["ding"].accepted
    assert "StackgenNotifyTest" in received.body["markdown"]["text"]
    assert "测试通知" in received.body["markdown"]["text"]


def test_notify_test_says_when_alertmanager_routes_elsewhere(stack: dict) -> None:
    stack["am"].route_to = "null"
    verdicts = run_notify_test(
        AlertmanagerAPI(stack["am"].url), stack["relay"].url, relay_targets()[:1], timeout=5
    )
    assert not verdicts[0].delivered
    assert "routes the test alert to null" in verdicts[0].detail


def test_notify_test_unknown_receiver(stack: dict) -> None:
    [verdict] = run_notify_test(
        AlertmanagerAPI(stack["am"].url), None, [Target("ghost", False, ())], timeout=1
    )
    assert (verdict.delivered, verdict.detail) == (False, "not a receiver of the running Alertmanager")


def test_notify_test_command_exit_code(stack: dict, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    (out / "alertmanager").mkdir(parents=True)
    (out / "alertmanager" / "alertmanager.yml").write_text(
        json.dumps(
            {
                "receivers": [
                    {"name": "null"},
                    {"name": "ops-dingtalk", "webhook_configs": [{}]},
                    {"name": "ops-wecom", "webhook_configs": [{}]},
                ]
            }
        )
    )
    (out / "relay").mkdir()
    (out / "relay" / "relay.yml").write_text(stack["config"].read_text())
    result = CliRunner().invoke(
        cli,
        [
            "notify",
            "test",
            "-o",
            str(out),
            "--alertmanager-url",
            stack["am"].url,
            "--relay-url",
            stack["relay"].url,
            "--timeout",
            "10",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "ok     ops-dingtalk" in result.output
    assert "FAILED ops-wecom" in result.output and "93000" in result.output


def test_notify_preview_prints_the_bodies(stack: dict) -> None:
    alerts = stack["config"].parent / "alerts.json"
    alerts.write_text(
        json.dumps(
            [
                {
                    "labels": {"alertname": "磁盘将满", "instance": "db-1"},
                    "annotations": {"summary": "磁盘使用率 95%"},
                    "status": "firing",
                }
            ]
        )
    )
    result = CliRunner().invoke(
        cli,
        [
            "notify",
            "preview",
            "ops-dingtalk",
            "--relay-config",
            str(stack["config"]),
            "--alerts",
            str(alerts),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# receivers.ops-dingtalk[0] dingtalk: 1 request(s)\n")
    body = json.loads(result.output.split("\n", 1)[1])
    assert body["msgtype"] == "markdown" and "磁盘将满" in body["markdown"]["title"]
    assert "磁盘使用率 95%" in body["markdown"]["text"]
    assert stack["ding"].received == []  # a preview sends nothing


def test_silence_add_list_expire(stack: dict) -> None:
    runner = CliRunner()
    url = ["--alertmanager-url", stack["am"].url]
    added = runner.invoke(
        cli,
        [
            "silence",
            "add",
            *url,
            "alertname=HighErrorRate",
            'job=~"api.*"',
            "-d",
            "1h",
            "-c",
            "deploying",
            "--author",
            "ops",
        ],
    )
    assert added.exit_code == 0, added.output
    silence_id = added.stdout.strip()
    stored = stack["am"].silences[silence_id]
    assert stored["matchers"] == [
        {"name": "alertname", "value": "HighErrorRate", "isRegex": False, "isEqual": True},
        {"name": "job", "value": "api.*", "isRegex": True, "isEqual": True},
    ]
    assert stored["comment"] == "deploying" and stored["createdBy"] == "ops"
    listed = runner.invoke(cli, ["silence", "list", *url])
    assert silence_id in listed.output and '{alertname="HighErrorRate", job=~"api.*"}' in listed.output
    expired = runner.invoke(cli, ["silence", "expire", *url, silence_id])
    assert expired.exit_code == 0
    assert runner.invoke(cli, ["silence", "list", *url]).output.strip() == "no silences"
    missing = runner.invoke(cli, ["silence", "expire", *url, "nope"])
    assert missing.exit_code != 0


def test_silence_add_rejects_bad_matchers_before_calling(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["silence", "add", "--alertmanager-url", "http://127.0.0.1:1", "not a matcher", "-c", "x"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "stackgen: bad matcher 'not a matcher': expected NAME=VALUE, "
        "NAME!=VALUE, NAME=~REGEX or NAME!~REGEX\n"
    )


def test_unreachable_alertmanager_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["silence", "list", "--alertmanager-url", "http://127.0.0.1:1"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("stackgen: cannot reach Alertmanager at http://127.0.0.1:1") and "Traceback" not in err
    )
