"""Templates: Chinese and English defaults, firing and resolved, user templates, StrictUndefined."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackgen.relay.messages import MessageRenderer, TemplateProblem, merge_messages
from stackgen.relay.notification import parse_notification
from tests.fakes.payloads import alert, notification

LINKS = {"alertmanager": "http://127.0.0.1:9093", "grafana": "http://127.0.0.1:3000"}


def two_alerts() -> dict:
    return notification(
        "ops",
        [
            alert("HighErrorRate", job="api", summary="支付服务错误率过高: api"),
            alert("HighErrorRate", status="resolved", job="orders", summary="支付服务错误率过高: orders"),
        ],
    )


def test_chinese_markdown_has_counts_labels_summaries_and_links() -> None:
    message = MessageRenderer("zh", LINKS, "md").render(parse_notification(two_alerts()))
    assert message.title == "[告警] HighErrorRate"
    assert "🔥 告警: HighErrorRate" in message.header
    assert "**触发中 1 条** · **已恢复 1 条**" in message.header
    assert "- severity: `critical`" in message.header
    assert len(message.alerts) == 2
    assert "job=`api`" in message.alerts[0] and "摘要: 支付服务错误率过高: api" in message.alerts[0]
    assert "开始: 2024-05-01 12:00:00 UTC" in message.alerts[0]
    assert "恢复: 2024-05-01 12:30:00 UTC · 持续 29分 59秒" in message.alerts[1]
    assert "[Alertmanager](http://127.0.0.1:9093/#/alerts)" in message.footer
    assert (
        "[静默](http://127.0.0.1:9093/#/silences/new?filter=%7Balertname%3D%22HighErrorRate%22"
        in message.footer
    )
    assert "[Grafana](http://127.0.0.1:3000)" in message.footer


def test_english_resolved_message() -> None:
    body = notification("ops", [alert("DiskFull", status="resolved", instance="db-1")])
    message = MessageRenderer("en", LINKS, "md").render(parse_notification(body))
    assert message.status == "resolved"
    assert message.title == "[RESOLVED] DiskFull"
    assert "✅ Resolved: DiskFull" in message.header
    assert "**1 resolved**" in message.header
    assert "lasted 29m 59s" in message.alerts[0]
    assert "[Silence]" not in message.footer  # nothing to silence once resolved


def test_text_flavour_has_no_markdown() -> None:
    message = MessageRenderer("zh", LINKS, "txt").render(parse_notification(two_alerts()))
    text = "\n".join((message.header, *message.alerts, message.footer))
    assert "**" not in text and "`" not in text and "](" not in text
    assert "[触发] HighErrorRate job=api" in text


def test_label_values_with_go_templates_and_quotes_survive() -> None:
    body = notification("ops", [alert("X", summary='value {{ $labels.instance }} "quoted" `tick`')])
    message = MessageRenderer("en", {}, "md").render(parse_notification(body))
    assert 'Summary: value {{ $labels.instance }} "quoted" `tick`' in message.alerts[0]


def test_user_template_overrides_one_block(tmp_path: Path) -> None:
    path = tmp_path / "mine.j2"
    path.write_text(
        '{% extends "zh.md.j2" %}\n{% block alert %}告警 {{ alert.labels.job }}{% endblock %}\n',
        encoding="utf-8",
    )
    message = MessageRenderer("zh", LINKS, "md", path).render(parse_notification(two_alerts()))
    assert message.alerts == ("告警 api", "告警 orders")
    assert "🔥 告警: HighErrorRate" in message.header  # inherited block


def test_user_template_without_blocks_is_one_body(tmp_path: Path) -> None:
    path = tmp_path / "plain.j2"
    path.write_text("{{ alerts|length }} alerts for {{ receiver }}", encoding="utf-8")
    message = MessageRenderer("en", {}, "md", path).render(parse_notification(two_alerts()))
    assert (message.header, message.alerts) == ("2 alerts for ops", ())


def test_undefined_variable_falls_back_to_the_default_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "broken.j2"
    path.write_text("{% block alert %}{{ alert.labels.nonexistent }}{% endblock %}", encoding="utf-8")
    errors: list[Exception] = []
    renderer = MessageRenderer("zh", LINKS, "md", path, on_error=errors.append)
    message = renderer.render(parse_notification(two_alerts()))
    assert "job=`api`" in message.alerts[0]  # the default template was used
    assert "broken.j2 failed" in message.footer and "nonexistent" in message.footer
    assert len(errors) == 1
    assert "template" in caplog.text and "nonexistent" in caplog.text


def test_syntax_error_in_user_template_is_refused_up_front(tmp_path: Path) -> None:
    path = tmp_path / "bad.j2"
    path.write_text("{% block alert %}{{ oops {% endblock %}", encoding="utf-8")
    with pytest.raises(TemplateProblem, match=r"bad.j2:1:"):
        MessageRenderer("zh", LINKS, "md", path)


def test_merge_keeps_every_alert_and_says_why() -> None:
    renderer = MessageRenderer("zh", LINKS, "md")
    first = renderer.render(parse_notification(two_alerts()))
    second = renderer.render(parse_notification(notification("ops", [alert("DiskFull", instance="db-1")])))
    merged = merge_messages([first, second], "zh")
    assert merged.title == "[合并] 2 条通知"
    assert "机器人限流" in merged.header
    text = "\n".join(merged.alerts)
    assert "HighErrorRate" in text and "DiskFull" in text and text.count("摘要") == 3


def test_times_are_shown_in_the_configured_zone() -> None:
    from zoneinfo import ZoneInfo

    shanghai = MessageRenderer("zh", LINKS, "md", zone=ZoneInfo("Asia/Shanghai"))
    message = shanghai.render(parse_notification(two_alerts()))
    assert "开始: 2024-05-01 20:00:00 UTC+0800" in message.alerts[0]
    assert "恢复: 2024-05-01 20:30:00 UTC+0800 · 持续 29分 59秒" in message.alerts[1]
    # a zone with daylight saving time: the offset of the moment itself
    berlin = MessageRenderer("en", LINKS, "txt", zone=ZoneInfo("Europe/Berlin"))
    assert "2024-05-01 14:00:00 UTC+0200" in berlin.render(parse_notification(two_alerts())).alerts[0]
