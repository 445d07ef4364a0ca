"""The engine's reads without the docker SDK: which setups use them, what they send, how errors map.

A stand-in engine answers on a unix socket; tests/integration/test_apply.py compares the answers
with the SDK's on a real dockerd.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from stackgen.errors import RuntimeFailure
from stackgen.runtime.engine import LABEL_PROJECT, Engine
from stackgen.runtime.engine_socket import DEFAULT_SOCKET, SocketReader, socket_path_from_env


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, DEFAULT_SOCKET),
        ({"DOCKER_HOST": ""}, DEFAULT_SOCKET),
        ({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, "/run/user/1000/docker.sock"),
        ({"DOCKER_HOST": "tcp://10.0.0.2:2376"}, None),
        ({"DOCKER_HOST": "ssh://me@host"}, None),
        ({"DOCKER_TLS_VERIFY": "1"}, None),
        ({"DOCKER_TLS_VERIFY": ""}, DEFAULT_SOCKET),  # empty counts as false, as for the SDK
        ({"DOCKER_CERT_PATH": "/certs"}, None),
    ],
)
def test_socket_reads_only_where_the_sdk_would_use_a_plain_socket(
    environment: dict[str, str], expected: str | None
) -> None:
    assert socket_path_from_env(environment) == expected


class _Engine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests: list[str] = []  # noqa: RUF012 (class-level record shared with the test)

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        path = urlsplit(self.path).path
        if path == "/_ping":
            self._send(200, b"OK", "text/plain; charset=utf-8")
        elif path == "/containers/json":
            summary = {
                "Id": "c" * 64,
                "Names": ["/demo-prometheus-1"],
                "Image": "prom/prometheus:v3",
                "State": "running",
                "Status": "Up 3 minutes (healthy)",
                "Labels": {LABEL_PROJECT: "demo", "com.docker.compose.service": "prometheus",
                           "io.stackgen.config-hash": "h1"},
            }
            oneoff = dict(summary, Id="d" * 64, Labels=dict(summary["Labels"], **{
                "com.docker.compose.oneoff": "True"}))
            self._chunked(json.dumps([summary, oneoff]).encode())
        elif path == "/images/registry.local:5000/prom/prometheus:v3/json":
            self._send(200, json.dumps({"Id": "sha256:abc", "Config": {"Labels": {"a": "b"}}}).encode())
        elif path.startswith("/images/broken"):
            self._send(500, json.dumps({"message": "disk on fire"}).encode())
        else:
            self._send(404, json.dumps({"message": "No such image: x"}).encode())

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunked(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 100):
            piece = body[start : start + 100]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "docker.sock"
    _Engine.requests = []
    server = _Server(str(path), _Engine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


def test_connect_reads_through_the_socket(engine_socket: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine_socket}")
    engine = Engine.connect()
    [container] = engine.containers("demo")
    assert (container.service, container.state, container.health, container.config_hash) == (
        "prometheus", "running", "healthy", "h1")
    assert container.name == "demo-prometheus-1" and not container.legacy_name
    listing = urlsplit(_Engine.requests[-1])
    assert parse_qs(listing.query)["filters"] == [json.dumps({"label": [f"{LABEL_PROJECT}=demo"]})]
    assert parse_qs(listing.query)["all"] == ["1"]
    assert engine.image_id("registry.local:5000/prom/prometheus:v3") == "sha256:abc"
    assert engine.image_labels("registry.local:5000/prom/prometheus:v3") == {"a": "b"}
    assert engine.image_id("absent:1") is None
    assert engine.image_labels("absent:1") is None
    with pytest.raises(RuntimeFailure, match="inspecting image broken:1: disk on fire"):
        engine.image_id("broken:1")
    assert engine._client is None  # reads never made the SDK client


def test_no_engine_on_the_socket_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(RuntimeFailure) as failure:
        Engine.connect()
    assert failure.value.message == "cannot reach the Docker engine"


def test_an_engine_gone_mid_apply_is_a_connection_failure(tmp_path: Path) -> None:
    engine = Engine(reader=SocketReader(str(tmp_path / "gone.sock")))
    with pytest.raises(RuntimeFailure) as failure:
        engine.containers("demo")
    assert failure.value.message == "cannot reach the Docker engine"


class _RelayEngine:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self.labels = labels

    def image_labels(self, reference: str) -> dict[str, str] | None:
        return self.labels

    @property
    def client(self) -> Any:
        return "sdk client"


def test_an_up_to_date_relay_image_is_seen_without_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    from stackgen.relay import image
    from stackgen.runtime import images

    ensured: list[Any] = []
    monkeypatch.setattr(image, "ensure_relay_image", lambda *args: ensured.append(args))
    current = {image.SOURCE_HASH_LABEL: image.build_context("base:1").source_hash}
    images._build_relay(_RelayEngine(current), "relay:x", "base:1", images.PullPolicy.MISSING)  # type: ignore[arg-type]
    assert ensured == []
    for labels in ({image.SOURCE_HASH_LABEL: "old"}, None):
        images._build_relay(_RelayEngine(labels), "relay:x", "base:1", images.PullPolicy.MISSING)  # type: ignore[arg-type]
    assert ensured == [("sdk client", "relay:x", "base:1", "missing")] * 2
