"""HTTP to the chat APIs and the one rule for their answers: retryable or permanent failure.

An API that answers HTTP 200 with a non-zero errcode has failed. Network errors, HTTP 5xx and 429,
and the APIs' rate-limit codes are retryable (the relay answers Alertmanager 5xx, and Alertmanager
retries); anything else, such as a signature or keyword mismatch or an invalid key, is permanent
(4xx: retrying would fail the same way).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Collection, Mapping
from typing import Any

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "stackgen-relay"


class DeliveryError(Exception):
    """A chat API did not take a message; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code

    @property
    def reason(self) -> str:
        """`retryable` or `permanent`, the metrics label."""
        return "retryable" if self.retryable else "permanent"


def post_json(
    url: str, body: Mapping[str, Any], timeout: float = DEFAULT_TIMEOUT, redact: str = ""
) -> dict[str, Any]:
    """POST body as UTF-8 JSON and decode the JSON answer; raises DeliveryError.

    `redact` is the part of the URL to hide in messages (the query string holds keys and tokens).
    """
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    return _exchange(request, timeout, redact)


def get_json(url: str, timeout: float = DEFAULT_TIMEOUT, redact: str = "") -> dict[str, Any]:
    """GET and decode the JSON answer; raises DeliveryError."""
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": USER_AGENT})
    return _exchange(request, timeout, redact)


def _exchange(request: urllib.request.Request, timeout: float, redact: str) -> dict[str, Any]:
    shown = safe_url(request.full_url, redact)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        detail = _snippet(error.read())
        retryable = error.code >= 500 or error.code == 429
        raise DeliveryError(f"{shown}: HTTP {error.code} {detail}".strip(), retryable=retryable) from error
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"{shown}: {reason}", retryable=True) from error
    try:
        answer = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except ValueError as error:
        raise DeliveryError(f"{shown}: answer is not JSON: {_snippet(raw)}", retryable=True) from error
    if not isinstance(answer, dict):
        raise DeliveryError(f"{shown}: answer is not a JSON object: {_snippet(raw)}", retryable=True)
    return answer


def check_answer(
    answer: Mapping[str, Any],
    api: str,
    retryable_codes: Collection[int],
    code_key: str = "errcode",
    message_key: str = "errmsg",
) -> None:
    """Raise DeliveryError when an HTTP 200 answer carries a non-zero error code."""
    code = answer.get(code_key, 0)
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = -1
    if code == 0:
        return
    message = str(answer.get(message_key) or answer.get("msg") or "no message")
    raise DeliveryError(
        f"{api} refused the message: errcode {code}: {message}", retryable=code in retryable_codes, code=code
    )


def safe_url(url: str, redact: str = "") -> str:
    """The URL without its query string (keys, tokens, signatures) and without `redact`."""
    base = url.split("?", 1)[0]
    if redact:
        base = base.replace(redact, "***")
    return base


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "…"


def rebase_url(url: str, api_url: str | None) -> str:
    """url with its scheme and host replaced by api_url's (path and query kept): tests point at fakes."""
    if not api_url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    original, base = urlsplit(url), urlsplit(api_url)
    path = base.path.rstrip("/") + original.path
    return urlunsplit((base.scheme, base.netloc, path, original.query, ""))
