"""Plain HTTP to the stack's services (loopback or the project network only), with the stdlib.

urllib is imported on the first request: a no-op apply sends none."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    """Status and body of an HTTP exchange (status 0: no answer at all)."""

    status: int
    body: str

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def request(method: str, url: str, *, timeout: float = 10.0, auth: tuple[str, str] | None = None) -> Response:
    """Send one request; HTTP errors come back as a Response, connection errors as status 0."""
    import urllib.error
    import urllib.request

    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    data = b"" if method == "POST" else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    # never through a proxy: the services are on loopback or the project network
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as answer:
            return Response(answer.status, answer.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as error:
        return Response(0, str(getattr(error, "reason", error)))
