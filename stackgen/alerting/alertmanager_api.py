"""Alertmanager's HTTP API v2: alerts and silences, plus matcher parsing as amtool writes them."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from stackgen.errors import InvalidInput, RuntimeFailure
from stackgen.runtime.web_access import PLAIN, WebAccess

TIMEOUT = 10.0


@dataclass(frozen=True)
class Matcher:
    """One label matcher: name, operator (= != =~ !~) and value."""

    name: str
    operator: str
    value: str

    def to_api(self) -> dict[str, Any]:
        """The API v2 form."""
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": "~" in self.operator,
            "isEqual": not self.operator.startswith("!"),
        }

    def __str__(self) -> str:
        return f'{self.name}{self.operator}"{self.value}"'


_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


def parse_matcher(text: str) -> Matcher:
    """`alertname=Foo`, `job=~"api.*"`, `severity!="info"`; raises InvalidInput."""
    found = _MATCHER.match(text)
    if not found:
        raise InvalidInput(
            f"bad matcher {text!r}: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX"
        )
    name, operator, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = json.loads(value) if "\\" in value else value[1:-1]
    if "~" in operator:
        try:
            re.compile(value)
        except re.error as error:
            raise InvalidInput(f"bad regular expression in matcher {text!r}: {error}") from error
    return Matcher(name, operator, value)


def matcher_from_api(data: dict[str, Any]) -> Matcher:
    """The reverse of Matcher.to_api."""
    operator = ("=" if data.get("isEqual", True) else "!") + ("~" if data.get("isRegex") else "")
    return Matcher(
        str(data.get("name")), {"=": "=", "=~": "=~", "!": "!=", "!~": "!~"}[operator], str(data.get("value"))
    )


def rfc3339(moment: datetime) -> str:
    """UTC, as Alertmanager likes it."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AlertmanagerAPI:
    """A small client for one Alertmanager."""

    def __init__(self, base_url: str, access: WebAccess = PLAIN) -> None:
        self.base_url = base_url.rstrip("/")
        self.access = access  # TLS and the stack's internal user when it has web configs

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self.access.urlopen(request, TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace").strip()
            raise RuntimeFailure(
                f"Alertmanager at {self.base_url} refused {method} {path}: HTTP {error.code} {detail}"
            ) from error
        except (urllib.error.URLError, OSError) as error:
            raise RuntimeFailure(
                f"cannot reach Alertmanager at {self.base_url}: {getattr(error, 'reason', error)}",
                hint="is the stack running? (stackgen status)",
            ) from error
        return json.loads(raw) if raw.strip() else None

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts."""
        self._call("POST", "/api/v2/alerts", alerts)

    def alerts(self, filters: list[str] | None = None) -> list[dict[str, Any]]:
        """GET /api/v2/alerts with matcher filters."""
        query = "&".join(f"filter={quote(f, safe='')}" for f in filters or [])
        return list(self._call("GET", "/api/v2/alerts" + (f"?{query}" if query else "")) or [])

    def receivers(self) -> list[str]:
        """GET /api/v2/receivers: the receiver names of the running configuration."""
        return [str(r.get("name")) for r in self._call("GET", "/api/v2/receivers") or []]

    def silences(self) -> list[dict[str, Any]]:
        """GET /api/v2/silences."""
        return list(self._call("GET", "/api/v2/silences") or [])

    def add_silence(
        self,
        matchers: list[Matcher],
        duration: timedelta,
        comment: str,
        author: str,
        now: datetime | None = None,
    ) -> str:
        """POST /api/v2/silences; returns the new silence's ID."""
        start = now or datetime.now(timezone.utc)
        answer = self._call(
            "POST",
            "/api/v2/silences",
            {
                "matchers": [m.to_api() for m in matchers],
                "startsAt": rfc3339(start),
                "endsAt": rfc3339(start + duration),
                "createdBy": author,
                "comment": comment,
            },
        )
        return str(answer["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        """DELETE /api/v2/silence/ID."""
        self._call("DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}")

    def metrics(self) -> str:
        """GET /metrics as text."""
        request = urllib.request.Request(f"{self.base_url}/metrics")
        try:
            with self.access.urlopen(request, TIMEOUT) as response:
                return str(response.read().decode("utf-8"))
        except (urllib.error.URLError, OSError) as error:
            raise RuntimeFailure(f"cannot reach Alertmanager at {self.base_url}: {error}") from error


_DURATION = re.compile(r"(\d+)(w|d|h|m|s)")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """`2h`, `1d12h`, `90m` (Prometheus style); raises InvalidInput."""
    text = text.strip()
    if not text or _DURATION.sub("", text):
        raise InvalidInput(f"bad duration {text!r}: use e.g. 30m, 2h, 1d12h")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(text))
    if seconds <= 0:
        raise InvalidInput(f"bad duration {text!r}: must be more than zero")
    return timedelta(seconds=seconds)
