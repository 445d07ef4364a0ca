"""WeCom application messages (企业微信应用消息): gettoken with corp_id + secret, then message/send.

The access token is cached until shortly before it expires and fetched again when the API says it
is invalid (40014) or expired (42001), so a restart of WeCom's side costs one retry, not a message.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from stackgen.relay.config import DEFAULT_WECOM_API, WeComAppChannel
from stackgen.relay.delivery import DeliveryError, check_answer, get_json, post_json
from stackgen.relay.messages import Message
from stackgen.relay.split import WECOM_TEXT_LIMIT, split_message

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset({45009, -1})
TOKEN_CODES = frozenset({40014, 42001})  # invalid / expired access_token: fetch a new one
# Application messages, markdown or text, take 2048 bytes of content.
CONTENT_LIMIT = WECOM_TEXT_LIMIT
# Fetch a new token this long before WeCom says it expires.
EXPIRY_MARGIN = 300.0


class TokenCache:
    """One application's access token, shared by threads, refreshed before expiry or on demand."""

    def __init__(
        self, fetch: Callable[[], tuple[str, float]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fetch = fetch
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        """A token believed valid (fetched when there is none or it is about to expire)."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires:
                token, lifetime = self.fetch()
                self._token = token
                self._expires = self.clock() + max(lifetime - EXPIRY_MARGIN, lifetime / 2)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` (unless another thread already replaced it)."""
        with self._lock:
            if self._token == token:
                self._token = None


class WeComAppSender:
    """Builds and sends WeCom application messages for one configured application."""

    kind = "wecom"
    rate = None  # application messages have no per-minute robot limit

    def __init__(self, channel: WeComAppChannel, tokens: TokenCache | None = None) -> None:
        self.channel = channel
        self.base = channel.api_url or DEFAULT_WECOM_API
        self.tokens = tokens or TokenCache(self._fetch_token)
        self.robot_id = f"wecom:{self.token_key(channel)}"

    @staticmethod
    def token_key(channel: WeComAppChannel) -> str:
        """Identity of an application's token: same API, corp and secret share one cache."""
        seed = f"{channel.api_url}\n{channel.corp_id}\n{channel.secret.reveal()}"
        return hashlib.sha256(seed.encode()).hexdigest()[:16]

    @property
    def flavour(self) -> str:
        """The default template flavour for this application's message type."""
        return "md" if self.channel.msgtype == "markdown" else "txt"

    def _fetch_token(self) -> tuple[str, float]:
        query = urlencode({"corpid": self.channel.corp_id, "corpsecret": self.channel.secret.reveal()})
        answer = get_json(f"{self.base}/cgi-bin/gettoken?{query}")
        check_answer(answer, "WeCom gettoken", RETRYABLE_CODES)
        token = answer.get("access_token")
        if not token:
            raise DeliveryError("WeCom gettoken answered without an access_token", retryable=True)
        return str(token), float(answer.get("expires_in") or 7200)

    def bodies(self, message: Message) -> list[dict[str, Any]]:
        """One request per part of the message."""
        parts = split_message(message.header, message.alerts, message.footer, CONTENT_LIMIT)
        msgtype = self.channel.msgtype
        try:
            agent_id: int | str = int(self.channel.agent_id)
        except ValueError:
            agent_id = self.channel.agent_id
        return [
            {
                "touser": self.channel.to_user,
                "toparty": self.channel.to_party,
                "totag": self.channel.to_tag,
                "msgtype": msgtype,
                "agentid": agent_id,
                msgtype: {"content": part.text},
            }
            for part in parts
        ]

    def send(self, body: dict[str, Any]) -> None:
        """POST one request, fetching a new token once if the current one is refused."""
        for attempt in (1, 2):
            token = self.tokens.get()
            answer = post_json(f"{self.base}/cgi-bin/message/send?access_token={token}", body)
            try:
                check_answer(answer, "WeCom app", RETRYABLE_CODES)
            except DeliveryError as error:
                if error.code in TOKEN_CODES and attempt == 1:
                    log.info(
                        "WeCom app %s: access token refused (%s); fetching a new one",
                        self.channel.where,
                        error.code,
                    )
                    self.tokens.invalidate(token)
                    continue
                raise
            for field in ("invaliduser", "invalidparty", "invalidtag"):
                if answer.get(field):
                    log.warning("WeCom app %s: %s: %s", self.channel.where, field, answer[field])
            return
