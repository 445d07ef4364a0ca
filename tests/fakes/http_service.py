"""An instrumented HTTP service on this host, as a developer's own service would be, and its traffic.

It exports what the http-red rule pack and dashboard read, with the reference client library:
`http_requests_total{code, method, handler}` and the `http_request_duration_seconds` histogram, and
serves them at /metrics beside its API. `/ok` answers 200, `/fail` 500. `Traffic` sends requests
from this host at a steady pace until stopped. Only loopback and the docker bridge address are involved.
"""

from __future__ import annotations

import itertools
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from tests.fakes.background import BackgroundServer

STATUS_BY_PATH = {"/ok": 200, "/fail": 500}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class InstrumentedService(BackgroundServer):
    """An HTTP API that counts and times its requests (not the scrapes of /metrics)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host, _Handler)
        self.host = host
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "HTTP requests served.", ["code", "method", "handler"],
                                registry=self.registry)
        self.duration = Histogram("http_request_duration_seconds", "Time to answer an HTTP request.",
                                  ["method", "handler"], registry=self.registry)

    def url(self) -> str:
        """Base URL where this host reaches the service."""
        return f"http://{self.host}:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    server: InstrumentedService
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
            return
        started = time.perf_counter()
        status = STATUS_BY_PATH.get(path, 404)
        self._answer(status, f"{status}\n".encode(), "text/plain")
        handler = path if status != 404 else "other"
        self.server.duration.labels("GET", handler).observe(time.perf_counter() - started)
        self.server.requests.labels(str(status), "GET", handler).inc()

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Traffic:
    """GETs `paths` of `base_url` in turn, one every `period` seconds, from a thread until stopped."""

    def __init__(self, base_url: str, paths: Sequence[str], period: float = 0.1) -> None:
        self.base_url = base_url
        self.paths = list(paths)
        self.period = period
        self.sent = 0      # answered, whatever the status
        self.unanswered = 0  # connection errors: the service is not there
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        for path in itertools.cycle(self.paths):
            if self._stopping.wait(self.period):
                return
            try:
                with _NO_PROXY.open(self.base_url + path, timeout=5) as answer:
                    answer.read()
            except urllib.error.HTTPError as error:  # the 500s are wanted
                error.read()
            except OSError:
                self.unanswered += 1
                continue
            self.sent += 1
