"""A scrape target on this host whose series a test sets and removes: alerts fire and resolve on demand.

Prometheus scrapes it (through the docker bridge gateway) like any exporter; a rule such as
`e2e_signal > 0` with `for: 0s` then fires on the first evaluation after a series appears and
resolves on the first one after it is gone. Only loopback and the bridge address are involved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.background import BackgroundServer

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class MetricsTarget(BackgroundServer):
    """Serves /metrics in the Prometheus text format from a mutable set of gauge series."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host, _Handler)
        self._series: dict[SeriesKey, float] = {}
        self._lock = threading.Lock()
        self.scrapes = 0
        self.last_scrape = 0.0          # time.time() of the last scrape

    def address(self, host: str) -> str:
        """`host:port` for a scrape config (host as containers see this machine)."""
        return f"{host}:{self.port}"

    def set(self, name: str, labels: Mapping[str, str] | None = None, value: float = 1.0) -> None:
        """Create or change one series."""
        with self._lock:
            self._series[(name, tuple(sorted((labels or {}).items())))] = value

    def set_many(self, name: str, label_sets: Iterable[Mapping[str, str]], value: float = 1.0) -> None:
        """Create many series of one metric at once (they appear in the same scrape)."""
        with self._lock:
            for labels in label_sets:
                self._series[(name, tuple(sorted(labels.items())))] = value

    def remove(self, name: str) -> None:
        """Drop every series of a metric (Prometheus marks them stale on its next scrape)."""
        with self._lock:
            for key in [key for key in self._series if key[0] == name]:
                del self._series[key]

    def exposition(self) -> bytes:
        """The current series in the text format (version 0.0.4)."""
        with self._lock:
            items = sorted(self._series.items())
        lines: list[str] = []
        typed: set[str] = set()
        for (name, labels), value in items:
            if name not in typed:
                typed.add(name)
                lines.append(f"# TYPE {name} gauge")
            rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
            lines.append(f"{name}{{{rendered}}} {value!r}" if rendered else f"{name} {value!r}")
        return ("\n".join(lines) + "\n").encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: MetricsTarget
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            body, status = b"not found\n", 404
        else:
            body, status = self.server.exposition(), 200
            self.server.scrapes += 1
            self.server.last_scrape = time.time()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
