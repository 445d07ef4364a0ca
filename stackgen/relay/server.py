"""The relay's HTTP side (stdlib ThreadingHTTPServer).

POST /alert/<url-quoted receiver>   Alertmanager webhook (JSON, version 4)
GET  /metrics                       the relay's Prometheus metrics
GET  /-/healthy, /-/ready           liveness and readiness
POST /-/reload                      read relay.yml again (500 with the reason if it is refused)
GET  /api/v1/deliveries[?receiver=] recent deliveries as JSON (used by `stackgen notify test`)
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stackgen.relay.config import load_config
from stackgen.relay.dispatch import Relay
from stackgen.relay.web_auth import WebGuard

log = logging.getLogger(__name__)

MAX_BODY = 32 * 1024 * 1024  # Alertmanager sends every alert of a group: allow large groups


class RelayServer(ThreadingHTTPServer):
    """An HTTP server bound to one Relay."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], relay: Relay, guard: WebGuard | None = None) -> None:
        self.relay = relay
        self.guard = guard
        super().__init__(address, RelayHandler)

    @property
    def url(self) -> str:
        """`http(s)://host:port` the server listens on."""
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        scheme = self.guard.scheme if self.guard else "http"
        return f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; with TLS, wrap it in the context of the web config as it is now (the
        handshake runs in the connection's own thread)."""
        connection, address = super().get_request()
        context = self.guard.server_context() if self.guard else None
        if context is not None:
            connection.settimeout(10.0)
            connection = context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (ssl.SSLError, ConnectionError, TimeoutError)):
            # a client that gives up a TLS handshake (or a port scan) is no server error
            log.debug("connection from %s failed: %s", client_address, error)
        else:
            log.exception("request from %s failed", client_address)


class RelayHandler(BaseHTTPRequestHandler):
    """Routes requests to the relay."""

    server: RelayServer
    protocol_version = "HTTP/1.1"
    server_version = "stackgen-relay"

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()
            self.connection.settimeout(None)

    def _authorized(self) -> bool:
        """Basic auth by the web config; a refusal is answered here (401) and closes the connection."""
        guard = self.server.guard
        if guard is None or guard.authorized(self.headers.get("Authorization")):
            return True
        self.close_connection = True
        body = b"Unauthorized\n"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="stackgen relay"')
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return
        path, query = self._path()
        relay = self.server.relay
        if path == "/metrics":
            self._reply(200, generate_latest(relay.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/-/healthy" or path == "/-/ready":
            self._reply(200, b"OK\n")
        elif path == "/api/v1/deliveries":
            receiver = query.get("receiver", [None])[0]
            self._json(200, {"deliveries": relay.history(receiver)})
        else:
            self._reply(404, b"not found\n")

    def do_POST(self) -> None:
        if not self._authorized():
            return
        path, _ = self._path()
        body = self._body()
        if body is None:
            return
        relay = self.server.relay
        if path.startswith("/alert/"):
            receiver = unquote(path[len("/alert/") :])
            outcome = relay.notify(receiver, body)
            self._reply(outcome.code, (outcome.detail + "\n").encode("utf-8"))
        elif path == "/-/reload":
            try:
                relay.reload()
            except Exception as error:
                log.error("reload refused, keeping the running configuration: %s", error)
                self._reply(500, f"reload refused: {error}\n".encode())
                return
            log.info("configuration reloaded")
            self._reply(200, b"OK\n")
        else:
            self._reply(404, b"not found\n")

    def _path(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path, parse_qs(parts.query)

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._reply(413 if length > MAX_BODY else 400, b"bad Content-Length\n")
            return None
        return self.rfile.read(length) if length else b""

    def _json(self, code: int, data: Any) -> None:
        self._reply(code, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json")

    def _reply(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines go to debug: /metrics is scraped every 15 s. URLs hold no secrets here.
        log.debug("%s %s", self.address_string(), format % args)


def serve(config_path: Path) -> None:
    """Run the relay until SIGTERM/SIGINT; SIGHUP reloads relay.yml like POST /-/reload."""
    config = load_config(config_path)
    relay = Relay(config)
    guard = WebGuard(config.web_config_file) if config.web_config_file else None
    server = RelayServer((config.host, config.port), relay, guard)
    log.info(
        "stackgen relay listening on %s:%d (%s) with %d receiver(s)",
        config.host,
        config.port,
        guard.scheme if guard else "http",
        len(config.receivers),
    )

    def stop(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    def reload(signum: int, frame: Any) -> None:
        try:
            relay.reload()
            log.info("configuration reloaded (SIGHUP)")
        except Exception as error:
            log.error("reload refused, keeping the running configuration: %s", error)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    try:
        server.serve_forever()
    finally:
        relay.stop()
        server.server_close()
