"""DingTalk custom robot (钉钉自定义机器人): signed markdown messages with @mentions and keywords.

Signing (加签): sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}"))),
sent as the `timestamp` and `sign` query parameters beside the robot's access_token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from stackgen.relay.config import DingTalkChannel
from stackgen.relay.delivery import check_answer, post_json, rebase_url
from stackgen.relay.messages import Message
from stackgen.relay.split import DINGTALK_LIMIT, split_message

# 130101: "send too fast" (over 20 a minute); -1: system busy. Everything else, such as 310000
# (signature, keyword or IP whitelist mismatch) or 300001 (invalid token), fails the same way again.
RETRYABLE_CODES = frozenset({130101, -1})
RATE = (20, 60.0)


def sign(secret: str, timestamp_ms: int) -> str:
    """The base64 signature (not yet URL-encoded) of a timestamp in milliseconds."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot URL with `timestamp` and URL-encoded `sign` added."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={quote_plus(sign(secret, timestamp_ms))}"


class DingTalkSender:
    """Builds and sends DingTalk markdown messages for one configured robot."""

    kind = "dingtalk"
    flavour = "md"
    rate = RATE

    def __init__(self, channel: DingTalkChannel, clock: Callable[[], float] = time.time) -> None:
        self.channel = channel
        self.clock = clock
        self.url = rebase_url(channel.url.reveal(), channel.api_url)
        self.robot_id = f"dingtalk:{hashlib.sha256(self.url.encode()).hexdigest()[:16]}"

    def bodies(self, message: Message) -> list[dict[str, Any]]:
        """One markdown request per part of the message."""
        footer = self._footer(message)
        parts = split_message(message.header, message.alerts, footer, DINGTALK_LIMIT)
        at = {"atMobiles": list(self.channel.mobiles), "isAtAll": self.channel.mention_all}
        return [
            {
                "msgtype": "markdown",
                "markdown": {"title": f"{message.title} {part.label}".strip(), "text": part.text},
                "at": at,
            }
            for part in parts
        ]

    def _footer(self, message: Message) -> str:
        lines = [message.footer] if message.footer else []
        # The mobiles must appear in the text too, or DingTalk shows no @ in markdown.
        mentions = " ".join(f"@{mobile}" for mobile in self.channel.mobiles)
        if mentions:
            lines.append(mentions)
        keywords = self.channel.keywords
        if keywords and not any(k in f"{message.header}\n{message.footer}" for k in keywords):
            # A robot with keyword security drops messages without one; every part carries the footer.
            lines.append(keywords[0])
        return "\n\n".join(lines)

    def send(self, body: dict[str, Any]) -> None:
        """POST one request; raises DeliveryError."""
        url = self.url
        if self.channel.secret is not None:
            url = signed_url(url, self.channel.secret.reveal(), int(self.clock() * 1000))
        answer = post_json(url, body)
        check_answer(answer, "DingTalk", RETRYABLE_CODES)
