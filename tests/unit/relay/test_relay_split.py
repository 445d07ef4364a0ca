"""Splitting at alert boundaries under byte limits, never inside a character."""

from __future__ import annotations

import json

import pytest

from stackgen.relay.feishu import json_size
from stackgen.relay.split import (
    DINGTALK_LIMIT,
    WECOM_MARKDOWN_LIMIT,
    WECOM_TEXT_LIMIT,
    cut,
    split_message,
    utf8_size,
)


def alerts(count: int, text: str = "节点无法访问，请检查网络") -> list[str]:
    return [
        f"{i}. **InstanceDown** instance=`node-{i:03d}:9100`\n   摘要: {text}" for i in range(1, count + 1)
    ]


def test_small_message_is_one_part_without_number() -> None:
    parts = split_message("### 告警", alerts(3), "footer", DINGTALK_LIMIT)
    assert len(parts) == 1
    assert parts[0].label == ""
    assert parts[0].text.startswith("### 告警\n\n1. ")
    assert parts[0].text.endswith("footer")


@pytest.mark.parametrize("limit", [DINGTALK_LIMIT, WECOM_MARKDOWN_LIMIT, WECOM_TEXT_LIMIT])
def test_300_alerts_split_at_alert_boundaries_under_the_limit(limit: int) -> None:
    chunks = alerts(300)
    parts = split_message("### 🔥 告警: InstanceDown\n**触发中 300 条**", chunks, "[Alertmanager](x)", limit)
    assert len(parts) > 1
    for part in parts:
        assert utf8_size(part.text) <= limit
        assert part.text.startswith(f"### 🔥 告警: InstanceDown ({part.number}/{len(parts)})\n")
        assert part.text.endswith("[Alertmanager](x)")
    # Every alert is in exactly one part, whole and in order.
    found = [chunk for part in parts for chunk in chunks if chunk in part.text]
    assert found == chunks
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))


def test_parts_are_packed_greedily() -> None:
    chunks = alerts(300)
    parts = split_message("h", chunks, "f", WECOM_MARKDOWN_LIMIT)
    total = sum(utf8_size(c) + 2 for c in chunks)
    # No more parts than needed plus one for the slack of whole alerts.
    assert len(parts) <= total // (WECOM_MARKDOWN_LIMIT - 100) + 2


def test_one_alert_larger_than_the_limit_is_cut_between_characters() -> None:
    huge = "告" * 5000  # 15,000 bytes, one line
    parts = split_message("head", [huge], "", WECOM_MARKDOWN_LIMIT)
    assert len(parts) == 4
    assert all(utf8_size(p.text) <= WECOM_MARKDOWN_LIMIT for p in parts)
    rebuilt = "".join(p.text.split("\n\n", 1)[1] for p in parts)
    assert rebuilt == huge  # nothing lost, no broken character


@pytest.mark.parametrize("filler", ["a", "é", "告", "😀"])
def test_multibyte_text_exactly_at_the_limit(filler: str) -> None:
    # Choose a chunk that lands on the limit within a few bytes whatever the character width.
    head, foot = "H", "F"
    limit = WECOM_TEXT_LIMIT
    budget = limit - 10 - len("H\n\n") - len("\n\nF") - 2
    chunk = filler * (budget // utf8_size(filler))
    parts = split_message(head, [chunk, chunk], foot, limit)
    assert len(parts) == 2
    for part in parts:
        assert utf8_size(part.text) <= limit
        part.text.encode("utf-8").decode("utf-8")  # valid UTF-8 by construction; never raises


def test_cut_prefers_line_boundaries() -> None:
    text = "\n".join(["x" * 30] * 10)
    pieces = cut(text, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(set(p.replace("\n", "")) == {"x"} and len(p.replace("\n", "")) % 30 == 0 for p in pieces)
    assert "\n".join(pieces) == text


def test_json_size_is_additive_and_counts_escapes() -> None:
    a, b = 'say "hi"\n', "告警\t"
    assert json_size(a) + json_size(b) == json_size(a + b)
    assert json_size(a + b) == len(json.dumps(a + b, ensure_ascii=False).encode()) - 2


def test_split_with_json_size_keeps_the_escaped_body_under_the_limit() -> None:
    chunks = ['"quoted" \\ back\nslash 告警' * 20] * 100
    parts = split_message("h", chunks, "f", 4000, size=json_size)
    assert len(parts) > 1
    assert all(json_size(p.text) <= 4000 for p in parts)


def test_oversized_header_is_shortened_not_fatal() -> None:
    parts = split_message("标" * 3000, alerts(2), "", WECOM_TEXT_LIMIT)
    assert all(utf8_size(p.text) <= WECOM_TEXT_LIMIT for p in parts)
    assert "…" in parts[0].text
