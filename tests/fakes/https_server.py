"""An HTTPS server on this host with a self-signed certificate made for the test, for TLS probes.

The certificate comes from the `openssl` command (Debian's ca-certificates depends on it, and no
Python package is needed); its expiry is known, so a probe's `probe_ssl_earliest_cert_expiry` can be
compared with it to the second. Only loopback and the docker bridge address are involved.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.fakes.background import BackgroundServer


@dataclass(frozen=True)
class Certificate:
    """A certificate and its key in PEM files, and when the certificate expires."""

    cert_file: Path
    key_file: Path
    not_after: int  # Unix time of notAfter, as blackbox_exporter reports it


def self_signed_certificate(directory: Path, address: str, days: int) -> Certificate:
    """A self-signed EC certificate for an IP address, valid for `days` from now; needs `openssl`."""
    if shutil.which("openssl") is None:
        raise FileNotFoundError("the openssl command is not installed (Debian package openssl)")
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key_file), "-out", str(cert_file), "-days", str(days),
         "-subj", "/CN=stackgen test server", "-addext", f"subjectAltName=IP:{address}"],
        check=True, capture_output=True, text=True,
    )
    end = subprocess.run(["openssl", "x509", "-in", str(cert_file), "-noout", "-enddate"],
                         check=True, capture_output=True, text=True).stdout
    # "notAfter=Dec 28 04:56:05 2026 GMT": the format ssl.cert_time_to_seconds reads
    return Certificate(cert_file, key_file, int(ssl.cert_time_to_seconds(end.strip().split("=", 1)[1])))


class HTTPSServer(BackgroundServer):
    """Answers every GET with 200 over TLS; counts the requests that completed a handshake."""

    def __init__(self, certificate: Certificate, host: str = "127.0.0.1") -> None:
        super().__init__(host, _Handler)
        self.certificate = certificate
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certificate.cert_file, certificate.key_file)
        self.requests = 0
        self._lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        # The handshake happens in the handler's thread, on its first read: a slow or broken client
        # cannot hold up the accepting loop.
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that drops the handshake (a TCP check) is not the test's concern

    def count(self) -> None:
        with self._lock:
            self.requests += 1


class _Handler(BaseHTTPRequestHandler):
    server: HTTPSServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.count()
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
