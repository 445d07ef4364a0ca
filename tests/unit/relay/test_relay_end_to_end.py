"""The relay in a thread, fed Alertmanager-shaped payloads, delivering to the fake chat APIs."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.fakes.chat_apis import FakeDingTalk
from tests.fakes.fixtures import (
    DINGTALK_SECRET,
    WECOM_CORP_ID,
    WECOM_ROBOT_KEY,
    WECOM_SECRET,
    write_secret,
)
from tests.fakes.payloads import alert, big_group, notification

LINKS = {"alertmanager": "http://127.0.0.1:9093", "grafana": "http://127.0.0.1:3000"}


def dingtalk_entry(tmp: Path, fake: FakeDingTalk, secret: str = DINGTALK_SECRET, **extra: Any) -> dict:
    return {
        "channel": "dingtalk",
        "url_file": write_secret(tmp, "ding.url", fake.robot_url),
        "secret_file": write_secret(tmp, "ding.secret", secret),
        **extra,
    }


def config(receivers: dict[str, list[dict]], language: str = "zh") -> dict:
    return {"listen": ":0", "language": language, "links": LINKS, "receivers": receivers}


def path(receiver: str) -> str:
    return "/alert/" + quote(receiver, safe="")


def test_dingtalk_signed_markdown_with_chinese_labels_and_mentions(
    tmp_path, start_relay, dingtalk_fake
) -> None:
    relay = start_relay(
        config({"运维 钉钉": [dingtalk_entry(tmp_path, dingtalk_fake, mobiles=["13800000000"])]})
    )
    payload = notification(
        "运维 钉钉", [alert("HighErrorRate", job="支付服务", summary="支付服务错误率过高")]
    )
    assert relay.post(path("运维 钉钉"), payload) == (200, "ok\n")
    [received] = dingtalk_fake.accepted
    body = received.body
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "[告警] HighErrorRate"
    text = body["markdown"]["text"]
    assert "- job: `支付服务`" in text and "摘要: 支付服务错误率过高" in text
    assert "@13800000000" in text
    assert body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    assert received.query["timestamp"].isdigit() and received.query["sign"]


def test_resolved_message_and_send_resolved_false(
    tmp_path, start_relay, dingtalk_fake, wecom_robot_fake
) -> None:
    relay = start_relay(
        config(
            {
                "ding": [dingtalk_entry(tmp_path, dingtalk_fake)],
                "robot": [
                    {
                        "channel": "wecom_robot",
                        "key_file": write_secret(tmp_path, "k", WECOM_ROBOT_KEY),
                        "api_url": wecom_robot_fake.url(),
                        "send_resolved": False,
                    }
                ],
            }
        )
    )
    resolved = notification("ding", [alert("DiskFull", status="resolved", instance="db-1")])
    assert relay.post(path("ding"), resolved)[0] == 200
    assert relay.post(path("robot"), resolved)[0] == 200
    [received] = dingtalk_fake.accepted
    assert received.body["markdown"]["title"] == "[已恢复] DiskFull"
    assert "✅ 已恢复: DiskFull" in received.body["markdown"]["text"]
    assert "持续 29分 59秒" in received.body["markdown"]["text"]
    assert wecom_robot_fake.received == []  # send_resolved: false


def test_bad_signature_is_a_permanent_failure_with_the_api_message(
    tmp_path, start_relay, dingtalk_fake
) -> None:
    relay = start_relay(config({"ding": [dingtalk_entry(tmp_path, dingtalk_fake, secret="SECwrong")]}))
    status, text = relay.post(path("ding"), notification("ding", [alert()]))
    assert status == 422  # 4xx: Alertmanager does not retry
    assert "errcode 310000: sign not match" in text
    [record] = relay.relay.history("ding")
    assert record["result"] == "failed" and not record["retryable"] and "310000" in record["error"]
    assert DINGTALK_SECRET not in text and "SECwrong" not in text
    metrics = relay.get("/metrics")[1]
    assert (
        'stackgen_relay_messages_failed_total{channel="dingtalk",reason="permanent",receiver="ding"} 1.0'
        in metrics
    )


def test_keyword_security_is_satisfied(tmp_path, start_relay) -> None:
    fake = FakeDingTalk("tok", keywords=("告警通知",)).start()
    try:
        entry = {
            "channel": "dingtalk",
            "url_file": write_secret(tmp_path, "u", fake.robot_url),
            "keywords": ["告警通知"],
        }
        relay = start_relay(config({"ding": [entry]}))
        assert relay.post(path("ding"), big_group("ding", 300))[0] == 200
        assert len(fake.accepted) >= 2 and all(r.ok for r in fake.received)
    finally:
        fake.stop()


def test_server_errors_are_retryable_and_succeed_after_two(tmp_path, start_relay, dingtalk_fake) -> None:
    relay = start_relay(config({"ding": [dingtalk_entry(tmp_path, dingtalk_fake)]}))
    dingtalk_fake.fail_next(2, 500)
    payload = notification("ding", [alert()])
    # What Alertmanager does: retry while the answer is 5xx.
    answers = [relay.post(path("ding"), payload)[0] for _ in range(3)]
    assert answers == [503, 503, 200]
    assert len(dingtalk_fake.accepted) == 1
    metrics = relay.get("/metrics")[1]
    assert (
        'stackgen_relay_messages_failed_total{channel="dingtalk",reason="retryable",receiver="ding"} 2.0'
        in metrics
    )
    assert 'stackgen_relay_messages_sent_total{channel="dingtalk",receiver="ding"} 1.0' in metrics


def test_network_failure_is_retryable(tmp_path, start_relay) -> None:
    fake = FakeDingTalk("tok").start()
    url = fake.robot_url
    fake.stop()
    entry = {"channel": "dingtalk", "url_file": write_secret(tmp_path, "u", url)}
    relay = start_relay(config({"ding": [entry]}))
    assert relay.post(path("ding"), notification("ding", [alert()]))[0] == 503


def test_300_alert_group_is_split_for_wecom_markdown(tmp_path, start_relay, wecom_robot_fake) -> None:
    entry = {
        "channel": "wecom_robot",
        "key_file": write_secret(tmp_path, "k", WECOM_ROBOT_KEY),
        "api_url": wecom_robot_fake.url(),
    }
    relay = start_relay(config({"robot": [entry]}))
    assert relay.post(path("robot"), big_group("robot", 300))[0] == 200
    received = wecom_robot_fake.accepted
    assert len(received) == len(wecom_robot_fake.received) > 1
    contents = [r.body["markdown"]["content"] for r in received]
    total = len(contents)
    for number, content in enumerate(contents, start=1):
        assert len(content.encode("utf-8")) <= 4096
        assert content.startswith(f"### 🔥 告警: InstanceDown ({number}/{total})")
    joined = "\n".join(contents)
    for index in range(300):
        assert joined.count(f"instance=`node-{index:03d}.internal:9100`") == 1
        assert f"节点 node-{index:03d} 无法访问，请检查网络与电源" in joined


def test_wecom_text_mode_respects_2048_bytes_and_mentions(tmp_path, start_relay, wecom_robot_fake) -> None:
    entry = {
        "channel": "wecom_robot",
        "key_file": write_secret(tmp_path, "k", WECOM_ROBOT_KEY),
        "api_url": wecom_robot_fake.url(),
        "msgtype": "text",
        "mentioned_list": ["zhangsan"],
    }
    relay = start_relay(config({"robot": [entry]}))
    assert relay.post(path("robot"), big_group("robot", 40))[0] == 200
    received = wecom_robot_fake.accepted
    assert len(received) > 1 and all(len(r.body["text"]["content"].encode()) <= 2048 for r in received)
    assert received[0].body["text"]["mentioned_list"] == ["zhangsan"]


def test_invalid_wecom_key_is_permanent(tmp_path, start_relay, wecom_robot_fake) -> None:
    entry = {
        "channel": "wecom_robot",
        "key_file": write_secret(tmp_path, "k", "wrong-key"),
        "api_url": wecom_robot_fake.url(),
    }
    relay = start_relay(config({"robot": [entry]}))
    status, text = relay.post(path("robot"), notification("robot", [alert()]))
    assert status == 422 and "93000" in text and "wrong-key" not in text


def test_burst_is_rate_limited_queued_and_merged_never_dropped(tmp_path, start_relay, dingtalk_fake) -> None:
    relay = start_relay(
        config({"ding": [dingtalk_entry(tmp_path, dingtalk_fake)]}),
        rates={"dingtalk": (5, 1.0)},
        retry_delays=(0.1,),
    )
    answers = [
        relay.post(path("ding"), notification("ding", [alert(f"Burst{n:02d}", n=str(n))]))[0]
        for n in range(30)
    ]
    assert answers == [200] * 30  # queued notifications are accepted, not refused
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        texts = "\n".join(r.body["markdown"]["text"] for r in dingtalk_fake.accepted)
        if all(f"Burst{n:02d}" in texts for n in range(30)):
            break
        time.sleep(0.05)
    texts = "\n".join(r.body["markdown"]["text"] for r in dingtalk_fake.accepted)
    assert all(f"Burst{n:02d}" in texts for n in range(30)), "a notification was dropped"
    assert len(dingtalk_fake.received) < 30  # merged, not one message each
    assert "合并 25 条通知 (机器人限流)" in texts
    times = [r.time for r in dingtalk_fake.received]
    for i in range(len(times) - 5):
        assert times[i + 5] - times[i] >= 1.0 - 0.05  # never more than 5 in any second
    assert all(r.ok for r in dingtalk_fake.received)  # the fake never had to refuse one
    history = relay.relay.history("ding")
    assert {r["result"] for r in history} == {"sent", "queued"}
    metrics = relay.get("/metrics")[1]
    assert re.search(
        r'stackgen_relay_rate_limit_waits_total\{channel="dingtalk",receiver="ding"\} 2\d\.0', metrics
    )


def test_wecom_app_caches_the_token_and_refreshes_it_when_expired(
    tmp_path, start_relay, wecom_app_fake
) -> None:
    entry = {
        "channel": "wecom",
        "corp_id": WECOM_CORP_ID,
        "agent_id": "1000002",
        "secret_file": write_secret(tmp_path, "s", WECOM_SECRET),
        "to_party": "2",
        "api_url": wecom_app_fake.url(),
    }
    relay = start_relay(config({"app": [entry]}, language="en"))
    for _ in range(3):
        assert relay.post(path("app"), notification("app", [alert()]))[0] == 200
    assert wecom_app_fake.tokens_issued == 1
    wecom_app_fake.expire_tokens()
    assert relay.post(path("app"), notification("app", [alert()]))[0] == 200
    assert wecom_app_fake.tokens_issued == 2
    sends = [r for r in wecom_app_fake.received if r.path == "/cgi-bin/message/send"]
    assert [r.answer["errcode"] for r in sends] == [0, 0, 0, 42001, 0]
    body = sends[-1].body
    assert body["agentid"] == 1000002 and body["toparty"] == "2" and body["msgtype"] == "markdown"
    assert "🔥 Firing: HighErrorRate" in body["markdown"]["content"]


def test_wecom_app_wrong_secret_is_permanent(tmp_path, start_relay, wecom_app_fake) -> None:
    entry = {
        "channel": "wecom",
        "corp_id": WECOM_CORP_ID,
        "agent_id": "1",
        "secret_file": write_secret(tmp_path, "s", "not-the-secret"),
        "to_user": "@all",
        "api_url": wecom_app_fake.url(),
    }
    relay = start_relay(config({"app": [entry]}))
    status, text = relay.post(path("app"), notification("app", [alert()]))
    assert status == 422 and "40001" in text and "not-the-secret" not in text


def test_feishu_signed_cards_split_under_20kb(tmp_path, start_relay, feishu_fake) -> None:
    entry = {
        "channel": "feishu",
        "url_file": write_secret(tmp_path, "u", feishu_fake.hook_url),
        "secret_file": write_secret(tmp_path, "s", "fake-feishu-secret"),
    }
    relay = start_relay(config({"feishu": [entry]}))
    assert relay.post(path("feishu"), big_group("feishu", 300))[0] == 200
    received = feishu_fake.accepted
    assert len(received) == len(feishu_fake.received) >= 2
    assert all(r.raw_size <= 20 * 1024 for r in received)
    card = received[0].body["card"]
    assert card["header"]["template"] == "red"
    assert card["header"]["title"]["content"] == f"[告警] InstanceDown (1/{len(received)})"
    text = "".join(r.body["card"]["elements"][0]["content"] for r in received)
    assert all(f"node-{i:03d}.internal" in text for i in range(300))


def test_feishu_bad_signature_is_permanent(tmp_path, start_relay, feishu_fake) -> None:
    entry = {
        "channel": "feishu",
        "url_file": write_secret(tmp_path, "u", feishu_fake.hook_url),
        "secret_file": write_secret(tmp_path, "s", "wrong"),
    }
    relay = start_relay(config({"feishu": [entry]}))
    status, text = relay.post(path("feishu"), notification("feishu", [alert()]))
    assert status == 422 and "19021" in text
    assert feishu_fake.token not in text  # the hook token is redacted


def test_one_receiver_several_channels_any_retryable_failure_asks_for_retry(
    tmp_path, start_relay, dingtalk_fake, wecom_robot_fake
) -> None:
    relay = start_relay(
        config(
            {
                "both": [
                    dingtalk_entry(tmp_path, dingtalk_fake),
                    {
                        "channel": "wecom_robot",
                        "key_file": write_secret(tmp_path, "k", WECOM_ROBOT_KEY),
                        "api_url": wecom_robot_fake.url(),
                    },
                ]
            }
        )
    )
    wecom_robot_fake.fail_next(1, 502)
    assert relay.post(path("both"), notification("both", [alert()]))[0] == 503
    assert len(dingtalk_fake.accepted) == 1


def test_requests_that_are_not_notifications(tmp_path, start_relay, dingtalk_fake) -> None:
    relay = start_relay(config({"ding": [dingtalk_entry(tmp_path, dingtalk_fake)]}))
    assert relay.post(path("ding"), raw=b"{not json")[0] == 400
    assert relay.post(path("ding"), {"alerts": "no"})[0] == 400
    assert relay.post(path("nobody"), notification("nobody", [alert()]))[0] == 503
    assert relay.get("/nothing")[0] == 404
    assert dingtalk_fake.received == []


def test_health_metrics_and_deliveries_endpoints(tmp_path, start_relay, dingtalk_fake) -> None:
    relay = start_relay(config({"ding": [dingtalk_entry(tmp_path, dingtalk_fake)]}))
    assert relay.get("/-/healthy") == (200, "OK\n")
    assert relay.get("/-/ready") == (200, "OK\n")
    relay.post(path("ding"), notification("ding", [alert(stackgen_test_id="t-1")]))
    metrics = relay.get("/metrics")[1]
    for name in (
        "stackgen_relay_notifications_total",
        "stackgen_relay_messages_sent_total",
        "stackgen_relay_delivery_duration_seconds_bucket",
        "stackgen_relay_queue_depth",
        "stackgen_relay_config_last_reload_successful 1.0",
    ):
        assert name in metrics
    assert 'stackgen_relay_notifications_total{code="200",receiver="ding"} 1.0' in metrics
    deliveries = json.loads(relay.get("/api/v1/deliveries?receiver=ding")[1])["deliveries"]
    assert [(d["result"], d["test_ids"], d["parts"]) for d in deliveries] == [("sent", ["t-1"], 1)]


def test_reload_applies_a_good_config_and_refuses_a_bad_one(tmp_path, start_relay, dingtalk_fake) -> None:
    relay = start_relay(config({"ding": [dingtalk_entry(tmp_path, dingtalk_fake)]}))
    good = config(
        {
            "ding": [dingtalk_entry(tmp_path, dingtalk_fake)],
            "ding2": [dingtalk_entry(tmp_path, dingtalk_fake)],
        }
    )
    relay.config_path.write_text(json.dumps(good), encoding="utf-8")
    assert relay.post("/-/reload", raw=b"") == (200, "OK\n")
    assert relay.post(path("ding2"), notification("ding2", [alert()]))[0] == 200

    broken_template = tmp_path / "broken.j2"
    broken_template.write_text("{% block alert %}{{ {% endblock %}", encoding="utf-8")
    bad = config({"ding": [dingtalk_entry(tmp_path, dingtalk_fake, template=str(broken_template))]})
    relay.config_path.write_text(json.dumps(bad), encoding="utf-8")
    status, text = relay.post("/-/reload", raw=b"")
    assert status == 500 and "broken.j2" in text
    assert "stackgen_relay_config_last_reload_successful 0.0" in relay.get("/metrics")[1]
    # The running configuration stays: ding2 still delivers.
    assert relay.post(path("ding2"), notification("ding2", [alert()]))[0] == 200
