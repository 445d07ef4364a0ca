"""Read-only Docker Engine API calls over the local unix socket, with the standard library only.

Importing the docker SDK costs more than a whole no-op apply (it pulls in requests, urllib3 and
charset_normalizer: ~0.15-0.2 s), yet a no-op only reads: ping, list the project's containers, inspect
its images. engine.py answers those reads here and creates the SDK client only when it must change
something. The requests are the SDK's own (same paths, same filters, the server's API version as the
SDK's `version="auto"` picks), so the answers are the same JSON.

Used only where the SDK would use a plain unix socket: DOCKER_HOST unset or `unix://...`, no TLS
settings. Every other setup (tcp, ssh, TLS) goes through the SDK as before.

The HTTP exchange itself is a one-shot GET with `Connection: close`, read to the end: http.client
would cost a no-op apply ~25 ms of imports (email, ssl) for what is a status line, a few headers and
a JSON body (with or without chunked encoding, the two ways the engine sends one).
"""

from __future__ import annotations

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


def _exchange(socket_path: str, target: str, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """GET `target` over the unix socket: status, headers (lower-case names), body."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(socket_path)
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    head, separator, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    is_http = len(status_line) >= 2 and status_line[0].startswith("HTTP/") and status_line[1].isdigit()
    if not separator or not is_http:
        raise ConnectionError("the Docker engine's answer was cut short or is not HTTP")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers and len(body) != int(headers["content-length"]):
        raise ConnectionError("the Docker engine's answer was cut short")
    return int(status_line[1]), headers, body


def _dechunk(data: bytes) -> bytes:
    parts: list[bytes] = []
    position = 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            raise ConnectionError("the Docker engine's answer was cut short")
        size = int(data[position:end].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(parts)
        start = end + 2
        if start + size > len(data):
            raise ConnectionError("the Docker engine's answer was cut short")
        parts.append(data[start : start + size])
        position = start + size + 2


class SocketReader:
    """GET requests to the engine; one connection per request, so threads may share a reader."""

    def __init__(self, path: str, timeout: float = _TIMEOUT_S) -> None:
        self.path = path
        self.timeout = timeout

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The decoded JSON body of GET `path`; raises EngineResponseError on an error status, OSError
        when the engine cannot be reached."""
        url = path + ("?" + urllib.parse.urlencode(params) if params else "")
        status, headers, body = _exchange(self.path, url, self.timeout)
        if not 200 <= status < 300:
            raise EngineResponseError(status, _explanation(body))
        if headers.get("content-type", "").startswith("application/json"):
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
