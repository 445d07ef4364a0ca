"""How stackgen's own commands reach the stack's endpoints: scheme, the internal user, the CA.

Read from the client record render/web.py writes into secrets/stackgen/ (mounted in no container);
a stack without web configs has none and is reached over plain HTTP as before."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl
    import urllib.request

CLIENT_RECORD = "secrets/stackgen/client.json"  # render/web.py writes it


@dataclass(frozen=True)
class WebAccess:
    """Scheme, credentials and trusted CA for the stack's endpoints."""

    scheme: str = "http"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_pem: bytes | None = field(default=None, repr=False)

    @property
    def auth(self) -> tuple[str, str] | None:
        """(user, password) for basic auth, None without users."""
        return (self.username, self.password) if self.username and self.password else None

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        """A context that trusts the stack's CA only (None for plain HTTP)."""
        if self.scheme != "https":
            return None
        import ssl  # only with TLS: ~7 ms of every command's start otherwise

        if self.ca_pem:
            return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
        return ssl.create_default_context()

    def url(self, host: str, port: int) -> str:
        """`scheme://host:port`."""
        return f"{self.scheme}://{host}:{port}"

    def urlopen(self, request: urllib.request.Request | str, timeout: float) -> Any:
        """urllib's urlopen with the internal user's credentials and the stack CA (urllib's errors)."""
        import urllib.request

        if isinstance(request, str):
            request = urllib.request.Request(request)
        if self.auth:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        return urllib.request.urlopen(request, timeout=timeout, context=self.ssl_context)


PLAIN = WebAccess()


def web_access_from_files(files: Mapping[str, bytes]) -> WebAccess:
    """The access the rendered files describe (path -> bytes, relative to the output dir)."""
    record = files.get(CLIENT_RECORD)
    if not record:
        return PLAIN
    data = json.loads(record.decode("utf-8"))
    ca_path = data.get("ca_file")
    return WebAccess(
        str(data.get("scheme") or "http"),
        data.get("username"),
        data.get("password"),
        files.get(ca_path) if ca_path else None,
    )


def read_web_access(out_dir: Path) -> WebAccess:
    """The access of the stack rendered into out_dir (plain HTTP when it has no client record)."""
    try:
        record = (out_dir / CLIENT_RECORD).read_bytes()
    except OSError:
        return PLAIN
    files = {CLIENT_RECORD: record}
    ca_path = json.loads(record.decode("utf-8")).get("ca_file")
    if ca_path:
        with contextlib.suppress(OSError):
            files[ca_path] = (out_dir / ca_path).read_bytes()
    return web_access_from_files(files)
