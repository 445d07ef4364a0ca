"""Feishu/Lark custom bot (飞书自定义机器人): signed interactive cards with a markdown element.

Signing: sign = base64(HMAC-SHA256(key=f"{timestamp_s}\\n{secret}", msg=b"")), put in the body
beside `timestamp`. The whole request body must stay under 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from stackgen.relay.config import FeishuChannel
from stackgen.relay.delivery import check_answer, post_json, rebase_url
from stackgen.relay.messages import Message
from stackgen.relay.split import FEISHU_LIMIT, split_message

# 11232: frequency limit; 9499 (bad request), 19021 (signature), 19022 (IP), 19024 (keyword) are
# permanent.
RETRYABLE_CODES = frozenset({11232, -1})
RATE = (100, 60.0)
BURST = (5, 1.0)  # and no more than 5 a second
# Room for the signature, timestamp and the card around the text.
_ENVELOPE_RESERVE = 512


def sign(secret: str, timestamp_s: int) -> str:
    """The base64 signature of a timestamp in seconds."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def json_size(text: str) -> int:
    """Bytes text takes inside a JSON string (UTF-8, escapes counted, quotes not)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


class FeishuSender:
    """Builds and sends Feishu cards for one configured bot."""

    kind = "feishu"
    flavour = "md"
    rate = RATE
    burst = BURST

    def __init__(self, channel: FeishuChannel, clock: Callable[[], float] = time.time) -> None:
        self.channel = channel
        self.clock = clock
        self.raw_url = channel.url.reveal()
        self.url = rebase_url(self.raw_url, channel.api_url)
        self.token = self.raw_url.rstrip("/").rsplit("/", 1)[-1]
        self.robot_id = f"feishu:{hashlib.sha256(self.url.encode()).hexdigest()[:16]}"

    def bodies(self, message: Message) -> list[dict[str, Any]]:
        """One card per part of the message."""
        envelope = json_size(json.dumps(self._card(message.title, "", message.status), ensure_ascii=False))
        limit = FEISHU_LIMIT - envelope - _ENVELOPE_RESERVE
        parts = split_message(message.header, message.alerts, message.footer, limit, size=json_size)
        return [
            self._card(f"{message.title} {part.label}".strip(), part.text, message.status) for part in parts
        ]

    def _card(self, title: str, text: str, status: str) -> dict[str, Any]:
        return {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "title": {"tag": "plain_text", "content": title},
                    "template": "green" if status == "resolved" else "red",
                },
                "elements": [{"tag": "markdown", "content": text}],
            },
        }

    def send(self, body: dict[str, Any]) -> None:
        """POST one card; raises DeliveryError."""
        if self.channel.secret is not None:
            timestamp = int(self.clock())
            body = {
                "timestamp": str(timestamp),
                "sign": sign(self.channel.secret.reveal(), timestamp),
                **body,
            }
        answer = post_json(self.url, body, redact=self.token)
        if "code" not in answer and "StatusCode" in answer:
            # Older hooks answer with StatusCode/StatusMessage only.
            answer = {"code": answer["StatusCode"], "msg": answer.get("StatusMessage", "")}
        check_answer(answer, "Feishu", RETRYABLE_CODES, code_key="code", message_key="msg")
