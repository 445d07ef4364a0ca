"""Plain or TLS HTTP to the stack's services (loopback or the project network only), with the stdlib.

Never through a proxy: http.client talks to the address given."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from stackgen.runtime.web_access import WebAccess


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


def request(
    method: str,
    url: str,
    *,
    timeout: float = 10.0,
    auth: tuple[str, str] | None = None,
    access: WebAccess | None = None,
    server_name: str | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
) -> Response:
    """Send one request; HTTP errors come back as a Response, connection errors as status 0.

    `access`: the stack's scheme, CA and internal user (its user is the default `auth`);
    `server_name`: the name to verify the certificate against when `url` holds an IP the certificate
    does not name (a container's address on the project network: verify its service name)."""
    headers = {}
    credentials = auth or (access.auth if access else None)
    if credentials:
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if content_type:
        headers["Content-Type"] = content_type
    data = body if body is not None else (b"" if method == "POST" else None)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host, port = parts.hostname or "127.0.0.1", parts.port
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = (access.ssl_context if access else None) or ssl.create_default_context()
        connection = _VerifyingConnection(
            host, port, timeout=timeout, context=context, verify_name=server_name or host
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path, body=data, headers=headers)
        answer = connection.getresponse()
        return Response(answer.status, answer.read().decode("utf-8", "replace"))
    except ssl.SSLError as error:
        return Response(0, f"TLS: {error}")
    except (OSError, http.client.HTTPException) as error:
        return Response(0, str(error))
    finally:
        connection.close()


class _VerifyingConnection(http.client.HTTPSConnection):
    """HTTPS that checks the certificate against `verify_name` rather than the host connected to."""

    def __init__(self, host: str, port: int | None, *, verify_name: str, **options: Any) -> None:
        super().__init__(host, port, **options)
        self.verify_name = verify_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]
        self.sock = context.wrap_socket(self.sock, server_hostname=self.verify_name)
