"""A fake Alertmanager API v2 (alerts, receivers, silences, metrics) that routes test alerts.

Alerts carrying `stackgen_notify_test=<receiver>` are "routed" to that receiver the way the
rendered notify-test routes do: posted to the relay's webhook when the receiver is a relay one.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit


class FakeAlertmanager(ThreadingHTTPServer):
    """Just enough of Alertmanager for notify and silence."""

    daemon_threads = True

    def __init__(
        self, receivers: list[str], relay_url: str | None = None, route_to: str | None = None
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver_names = receivers
        self.relay_url = relay_url
        self.route_to = route_to  # set: every alert goes there (no notify-test routes)
        self.alerts: list[dict[str, Any]] = []
        self.silences: dict[str, dict[str, Any]] = {}
        self.webhook_answers: list[int] = []
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def route(self, alert: dict[str, Any]) -> str:
        return self.route_to or alert["labels"].get("stackgen_notify_test", self.receiver_names[0])

    def deliver(self, alert: dict[str, Any]) -> None:
        receiver = self.route(alert)
        if self.relay_url is None:
            return
        body = {
            "version": "4",
            "status": "firing",
            "receiver": receiver,
            "groupLabels": {},
            "commonLabels": alert["labels"],
            "commonAnnotations": alert["annotations"],
            "externalURL": self.url,
            "groupKey": "{}",
            "truncatedAlerts": 0,
            "alerts": [{**alert, "status": "firing", "generatorURL": "", "fingerprint": "f"}],
        }
        request = urllib.request.Request(
            f"{self.relay_url}/alert/{quote(receiver, safe='')}",
            data=json.dumps(body).encode(),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                self.webhook_answers.append(response.status)
        except urllib.error.HTTPError as error:
            self.webhook_answers.append(error.code)


class _Handler(BaseHTTPRequestHandler):
    server: FakeAlertmanager
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, data: Any, content_type: str = "application/json") -> None:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        fake = self.server
        if parts.path == "/api/v2/receivers":
            self._send(200, [{"name": n} for n in fake.receiver_names])
        elif parts.path == "/api/v2/alerts":
            wanted = [f.split("=", 1) for f in parse_qs(parts.query).get("filter", [])]
            found = [
                {**a, "receivers": [{"name": fake.route(a)}]}
                for a in fake.alerts
                if all(a["labels"].get(k) == v.strip('"') for k, v in wanted)
            ]
            self._send(200, found)
        elif parts.path == "/api/v2/silences":
            self._send(200, list(fake.silences.values()))
        elif parts.path == "/metrics":
            self._send(200, b"# no samples\n", "text/plain")
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        fake = self.server
        body = self._body()
        if self.path == "/api/v2/alerts":
            fake.alerts.extend(body)
            self._send(200, {})
            for alert in body:
                threading.Thread(target=fake.deliver, args=(alert,), daemon=True).start()
        elif self.path == "/api/v2/silences":
            if not body.get("matchers"):
                self._send(400, "silence has no matchers")
                return
            silence_id = str(uuid.uuid4())
            fake.silences[silence_id] = {**body, "id": silence_id, "status": {"state": "active"}}
            self._send(200, {"silenceID": silence_id})
        else:
            self._send(404, {"error": "not found"})

    def do_DELETE(self) -> None:
        silence_id = self.path.rsplit("/", 1)[-1]
        if silence_id not in self.server.silences:
            self._send(404, "silence not found")
            return
        self.server.silences[silence_id]["status"] = {"state": "expired"}
        self._send(200, {})

    def log_message(self, format: str, *args: Any) -> None:
        pass
