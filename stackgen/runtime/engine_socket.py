"""Read-only Docker Engine API calls over the local unix socket, with the standard library only.

Importing the docker SDK costs more than a whole no-op apply (it pulls in requests, urllib3 and
charset_normalizer: ~0.15-0.2 s), yet a no-op only reads: ping, list the project's containers, inspect
its images. engine.py answers those reads here and creates the SDK client only when it must change
something. The requests are the SDK's own (same paths, same filters, the server's API version as the
SDK's `version="auto"` picks), so the answers are the same JSON.

Used only where the SDK would use a plain unix socket: DOCKER_HOST unset or `unix://...`, no TLS
settings. Every other setup (tcp, ssh, TLS) goes through the SDK as before.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Mapping
from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"
_TIMEOUT_S = 120.0


class EngineResponseError(Exception):
    """The engine answered with an error status; `explanation` is its message."""

    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status}: {explanation}")
        self.status_code = status
        self.explanation = explanation


def socket_path_from_env(environment: Mapping[str, str]) -> str | None:
    """The unix socket the SDK would talk to for this environment, or None when it would not use one."""
    if environment.get("DOCKER_CERT_PATH") or environment.get("DOCKER_TLS_VERIFY") not in (None, ""):
        return None  # the SDK sets up TLS: leave that to it
    host = environment.get("DOCKER_HOST") or ""
    if not host:
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        path = host[len("unix://") :]
        return path or DEFAULT_SOCKET
    return None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class SocketReader:
    """GET requests to the engine; one connection per request, so threads may share a reader."""

    def __init__(self, path: str, timeout: float = _TIMEOUT_S) -> None:
        self.path = path
        self.timeout = timeout

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The decoded JSON body of GET `path`; raises EngineResponseError on an error status, OSError
        when the engine cannot be reached."""
        url = path + ("?" + urllib.parse.urlencode(params) if params else "")
        connection = _UnixConnection(self.path, self.timeout)
        try:
            connection.request("GET", url, headers={"Host": "docker"})
            response = connection.getresponse()
            body = response.read()
        except http.client.HTTPException as error:
            raise ConnectionError(f"the Docker engine's answer was cut short: {error}") from error
        finally:
            connection.close()
        if not 200 <= response.status < 300:
            raise EngineResponseError(response.status, _explanation(body))
        if response.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(body)
        return body.decode("utf-8", "replace")

    def ping(self) -> None:
        """Fail unless the engine answers."""
        self.get("/_ping")

    def containers(self, filters: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        """`GET /containers/json` as the SDK's `containers(all=True, filters=...)` sends it."""
        params = {"limit": "-1", "all": "1", "size": "0", "trunc_cmd": "0"}
        params["filters"] = json.dumps(dict(filters))
        summaries: list[dict[str, Any]] = self.get("/containers/json", params)
        return summaries

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        """`GET /containers/{id}/json`."""
        data: dict[str, Any] = self.get(f"/containers/{_quote(container_id)}/json")
        return data

    def inspect_image(self, reference: str) -> dict[str, Any]:
        """`GET /images/{reference}/json`."""
        data: dict[str, Any] = self.get(f"/images/{_quote(reference)}/json")
        return data


def _quote(argument: str) -> str:
    return urllib.parse.quote(argument, safe="/:")  # as the SDK quotes path arguments


def _explanation(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return str(data.get("message", text)) if isinstance(data, dict) else text
