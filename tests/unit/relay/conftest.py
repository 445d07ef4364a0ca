"""Relay test helpers: the chat API fakes, and a relay served in a thread from a relay.yml."""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The fakes live in tests/fakes; make the repository root importable however pytest was started.
ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stackgen.relay.config import load_config  # noqa: E402
from stackgen.relay.dispatch import Relay  # noqa: E402
from stackgen.relay.server import RelayServer  # noqa: E402
from tests.fakes.fixtures import *  # noqa: E402,F403


@dataclass
class RunningRelay:
    """A relay serving on 127.0.0.1 in a thread."""

    server: RelayServer
    relay: Relay
    config_path: Path

    @property
    def url(self) -> str:
        return self.server.url

    def post(self, path: str, payload: Any = None, raw: bytes | None = None) -> tuple[int, str]:
        data = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url + path, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")


@pytest.fixture
def start_relay(tmp_path: Path) -> Iterator[Callable[..., RunningRelay]]:
    """Start a relay from a relay.yml (given as data); every relay started is stopped afterwards."""
    running: list[RunningRelay] = []

    def start(config: dict[str, Any], **relay_options: Any) -> RunningRelay:
        path = tmp_path / "relay.yml"
        path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        loaded = load_config(path)
        relay = Relay(loaded, **relay_options)
        server = RelayServer(("127.0.0.1", 0), relay)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        instance = RunningRelay(server, relay, path)
        running.append(instance)
        return instance

    yield start
    for instance in running:
        instance.relay.stop()
        instance.server.shutdown()
        instance.server.server_close()
