"""WeCom group robot (企业微信群机器人): markdown (4096 bytes) or text (2048 bytes) messages."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from stackgen.relay.config import DEFAULT_WECOM_API, WeComRobotChannel
from stackgen.relay.delivery import check_answer, post_json
from stackgen.relay.messages import Message
from stackgen.relay.split import WECOM_MARKDOWN_LIMIT, WECOM_TEXT_LIMIT, split_message

# 45009: API frequency over limit; -1: system busy. 93000 (invalid webhook key) and 40058 (bad
# parameter, e.g. too long) do not get better by retrying.
RETRYABLE_CODES = frozenset({45009, -1})
RATE = (20, 60.0)


class WeComRobotSender:
    """Builds and sends WeCom robot messages for one configured robot."""

    kind = "wecom_robot"
    rate = RATE

    def __init__(self, channel: WeComRobotChannel) -> None:
        self.channel = channel
        base = channel.api_url or DEFAULT_WECOM_API
        key = channel.key.reveal()
        self.url = f"{base}/cgi-bin/webhook/send?key={quote(key, safe='')}"
        self.robot_id = f"wecom_robot:{hashlib.sha256(self.url.encode()).hexdigest()[:16]}"
        self.msgtype = channel.msgtype

    @property
    def flavour(self) -> str:
        """The default template flavour for this robot's message type."""
        return "md" if self.msgtype == "markdown" else "txt"

    def bodies(self, message: Message) -> list[dict[str, Any]]:
        """One request per part of the message."""
        if self.msgtype == "text":
            parts = split_message(message.header, message.alerts, message.footer, WECOM_TEXT_LIMIT)
            text: dict[str, Any] = {}
            if self.channel.mentioned_list:
                text["mentioned_list"] = list(self.channel.mentioned_list)
            if self.channel.mentioned_mobile_list:
                text["mentioned_mobile_list"] = list(self.channel.mentioned_mobile_list)
            return [{"msgtype": "text", "text": {"content": part.text, **text}} for part in parts]
        # Markdown messages cannot carry mentioned_list: the ids go in the text as <@userid>.
        mentions = " ".join(f"<@{user}>" for user in self.channel.mentioned_list if user != "@all")
        footer = "\n\n".join(p for p in (message.footer, mentions) if p)
        parts = split_message(message.header, message.alerts, footer, WECOM_MARKDOWN_LIMIT)
        return [{"msgtype": "markdown", "markdown": {"content": part.text}} for part in parts]

    def send(self, body: dict[str, Any]) -> None:
        """POST one request; raises DeliveryError."""
        answer = post_json(self.url, body)
        check_answer(answer, "WeCom robot", RETRYABLE_CODES)
