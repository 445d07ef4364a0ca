"""Fake chat APIs (DingTalk, WeCom robot, WeCom app, Feishu) as small HTTP servers on this host.

Each fake checks what the real API checks and answers the way it does: DingTalk verifies the
signature and answers errcode 310000 on a bad one, Feishu answers 19021, WeCom checks the key and
the token, every robot enforces its size limit and its rate limit. `fail_next(n)` makes the next n
requests fail with HTTP 500 (or any status), to test retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tests.fakes.background import BackgroundServer


@dataclass
class Received:
    """One request a fake accepted or refused."""

    path: str
    query: dict[str, str]
    body: dict[str, Any]
    raw_size: int
    answer: dict[str, Any]
    status: int
    time: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        """True when the fake answered HTTP 200 with code 0."""
        return self.status == 200 and not (self.answer.get("errcode") or self.answer.get("code"))


class FakeChatAPI(BackgroundServer):
    """Base: records requests, can be told to fail, enforces a per-minute rate limit."""

    rate_limit: ClassVar[int | None] = None  # messages per rate_period, like the real robot
    rate_period: ClassVar[float] = 60.0
    rate_limit_answer: ClassVar[dict[str, Any]] = {}

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host, _Handler)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self._failures: deque[int] = deque()
        self._sent_times: deque[float] = deque()

    # -- test controls -------------------------------------------------------------------------

    def url(self, host: str = "127.0.0.1") -> str:
        """Base URL of the fake, as seen from `host` (127.0.0.1, or a docker gateway)."""
        return f"http://{host}:{self.port}"

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` requests with HTTP `status`."""
        with self.lock:
            self._failures.extend([status] * count)

    @property
    def accepted(self) -> list[Received]:
        """Requests answered with success."""
        with self.lock:
            return [r for r in self.received if r.ok]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Poll until `count` requests were accepted (or the deadline passes); returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            accepted = self.accepted
            if len(accepted) >= count:
                return accepted
            time.sleep(0.02)
        return self.accepted

    # -- request handling ----------------------------------------------------------------------

    def handle_request_data(
        self, method: str, path: str, query: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            forced = self._failures.popleft() if self._failures else None
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            body = {"_invalid": raw[:200].decode("utf-8", "replace")}
        if forced is not None:
            status, answer = forced, {"error": "forced failure"}
        else:
            status, answer = self.answer(method, path, query, body, raw)
            if status == 200 and not (answer.get("errcode") or answer.get("code")) and self._over_rate():
                answer = dict(self.rate_limit_answer)
        with self.lock:
            self.received.append(Received(path, query, body, len(raw), answer, status))
        return status, answer

    def _over_rate(self) -> bool:
        if self.rate_limit is None:
            return False
        now = time.monotonic()
        with self.lock:
            while self._sent_times and self._sent_times[0] <= now - self.rate_period:
                self._sent_times.popleft()
            if len(self._sent_times) >= self.rate_limit:
                return True
            self._sent_times.append(now)
            return False

    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    server: FakeChatAPI
    protocol_version = "HTTP/1.1"

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, answer = self.server.handle_request_data(method, parts.path, query, raw)
        data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _size(text: Any) -> int:
    return len(str(text).encode("utf-8"))


class FakeDingTalk(FakeChatAPI):
    """DingTalk custom robot: /robot/send?access_token=..., signature and keywords checked."""

    rate_limit = 20
    rate_limit_answer: ClassVar[dict[str, Any]] = {
        "errcode": 130101,
        "errmsg": "send too fast, exceed 20 times per minute",
    }

    def __init__(
        self, token: str, secret: str | None = None, keywords: tuple[str, ...] = (), host: str = "127.0.0.1"
    ) -> None:
        super().__init__(host)
        self.token = token
        self.secret = secret
        self.keywords = keywords

    @property
    def robot_url(self) -> str:
        return f"{self.url()}/robot/send?access_token={self.token}"

    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        if path != "/robot/send":
            return 404, {"errcode": 404, "errmsg": "not found"}
        if query.get("access_token") != self.token:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if self.secret is not None:
            timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
            expected = base64.b64encode(
                hmac.new(
                    self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            fresh = timestamp.isdigit() and abs(int(timestamp) - time.time() * 1000) < 3_600_000
            if not fresh or not hmac.compare_digest(sign, expected):
                return 200, {
                    "errcode": 310000,
                    "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com]",
                }
        msgtype = body.get("msgtype")
        if msgtype not in ("markdown", "text"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        text = body[msgtype].get("text" if msgtype == "markdown" else "content", "")
        if self.keywords and not any(k in text for k in self.keywords):
            return 200, {"errcode": 310000, "errmsg": "keywords not in content"}
        if _size(text) > 20_000:
            return 200, {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}
        return 200, {"errcode": 0, "errmsg": "ok"}


class FakeWeComRobot(FakeChatAPI):
    """WeCom group robot: /cgi-bin/webhook/send?key=..., 4096-byte markdown, 2048-byte text."""

    rate_limit = 20
    rate_limit_answer: ClassVar[dict[str, Any]] = {"errcode": 45009, "errmsg": "api freq out of limit"}

    def __init__(self, key: str, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.key = key

    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        if path != "/cgi-bin/webhook/send":
            return 404, {"errcode": 404, "errmsg": "not found"}
        if query.get("key") != self.key:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [fake]"}
        msgtype = body.get("msgtype")
        limits = {"markdown": 4096, "text": 2048}
        if msgtype not in limits:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if _size(body[msgtype].get("content", "")) > limits[msgtype]:
            return 200, {"errcode": 40058, "errmsg": f"{msgtype}.content exceed max length {limits[msgtype]}"}
        return 200, {"errcode": 0, "errmsg": "ok"}


class FakeWeComApp(FakeChatAPI):
    """WeCom application API: /cgi-bin/gettoken and /cgi-bin/message/send?access_token=..."""

    def __init__(self, corp_id: str, secret: str, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.corp_id = corp_id
        self.secret = secret
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()

    def expire_tokens(self) -> None:
        """Make every token issued so far answer 42001 (expired), as after WeCom's 7200 s."""
        with self.lock:
            self.expired_tokens |= self.valid_tokens
            self.valid_tokens = set()

    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != self.corp_id:
                return 200, {"errcode": 40013, "errmsg": "invalid corpid"}
            if query.get("corpsecret") != self.secret:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            with self.lock:
                self.tokens_issued += 1
                token = f"token-{self.tokens_issued}"
                self.valid_tokens.add(token)
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if path != "/cgi-bin/message/send":
            return 404, {"errcode": 404, "errmsg": "not found"}
        token = query.get("access_token", "")
        with self.lock:
            if token in self.expired_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            if token not in self.valid_tokens:
                return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
        msgtype = body.get("msgtype")
        if msgtype not in ("markdown", "text") or not isinstance(body.get("agentid"), int):
            return 200, {"errcode": 40008, "errmsg": "invalid message type or agentid"}
        if not any(body.get(k) for k in ("touser", "toparty", "totag")):
            return 200, {"errcode": 40031, "errmsg": "invalid user list"}
        if _size(body[msgtype].get("content", "")) > 2048:
            return 200, {"errcode": 40058, "errmsg": "content exceed max length 2048"}
        return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": ""}


class FakeFeishu(FakeChatAPI):
    """Feishu custom bot: /open-apis/bot/v2/hook/<token>, signature in the body, 20 KB bodies."""

    rate_limit = 100
    rate_limit_answer: ClassVar[dict[str, Any]] = {"code": 11232, "msg": "frequency limited"}

    def __init__(self, token: str, secret: str | None = None, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.token = token
        self.secret = secret

    @property
    def hook_url(self) -> str:
        return f"{self.url()}/open-apis/bot/v2/hook/{self.token}"

    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        if path != f"/open-apis/bot/v2/hook/{self.token}":
            return 404, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        if len(raw) > 20 * 1024:
            return 400, {"code": 9499, "msg": "Bad Request"}
        if self.secret is not None:
            timestamp = str(body.get("timestamp", ""))
            key = f"{timestamp}\n{self.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = timestamp.isdigit() and abs(int(timestamp) - time.time()) < 3600
            if not fresh or not hmac.compare_digest(str(body.get("sign", "")), expected):
                return 200, {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
        if body.get("msg_type") not in ("text", "post", "interactive"):
            return 200, {"code": 9499, "msg": "Bad Request"}
        return 200, {"code": 0, "msg": "success", "data": {}}


class FakeWebhook(FakeChatAPI):
    """An Alertmanager webhook receiver: accepts every POST of its JSON and records it."""

    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        if method != "POST" or "alerts" not in body:
            return 400, {"error": "not an Alertmanager webhook body"}
        return 200, {}
