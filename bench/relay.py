"""Relay throughput and memory under a burst of 1,000 alerts (prints figures; asserts nothing).

    python bench/relay.py

Three scenarios against the fake chat APIs on 127.0.0.1 (no network beyond loopback):
  1. one group of 1,000 alerts to a DingTalk robot: render + split + sign + send;
  2. 1,000 single-alert notifications from 8 concurrent senders to a WeCom robot with the rate limit
     lifted: the relay's own throughput and latency;
  3. the same burst under a robot limit scaled down in time (20 per 2 s instead of 20 per 60 s):
     how many messages the robot really receives once the relay queues and merges.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stackgen.relay.config import load_config  # noqa: E402
from stackgen.relay.dispatch import Relay  # noqa: E402
from stackgen.relay.server import RelayServer  # noqa: E402
from tests.fakes.chat_apis import FakeDingTalk, FakeWeComRobot  # noqa: E402
from tests.fakes.payloads import alert, big_group, notification  # noqa: E402


class NoLimitRobot(FakeWeComRobot):
    rate_limit = None


class FastRobot(FakeWeComRobot):
    """A robot whose minute lasts two seconds, to match the relay's scaled window."""

    rate_period = 2.0


def start_relay(directory: Path, receivers: dict[str, Any], **options: Any) -> tuple[RelayServer, Relay]:
    path = directory / "relay.yml"
    path.write_text(json.dumps({"listen": ":0", "receivers": receivers}), encoding="utf-8")
    relay = Relay(load_config(path), **options)
    server = RelayServer(("127.0.0.1", 0), relay)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, relay


def secret(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value, encoding="utf-8")
    return str(path)


def post(url: str, payload: dict[str, Any]) -> tuple[int, float]:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    started = time.perf_counter()
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def stop(server: RelayServer, relay: Relay) -> None:
    relay.stop()
    server.shutdown()
    server.server_close()


def one_big_group(directory: Path) -> None:
    fake = FakeDingTalk("tok", "SECbench").start()
    server, relay = start_relay(directory, {"ding": [{
        "channel": "dingtalk", "url_file": secret(directory, "d.url", fake.robot_url),
        "secret_file": secret(directory, "d.secret", "SECbench")}]})
    payload = big_group("ding", 1000)
    size = len(json.dumps(payload, ensure_ascii=False).encode())
    tracemalloc.start()
    status, seconds = post(f"{server.url}/alert/ding", payload)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parts = fake.accepted
    print(f"1. one group of 1,000 alerts ({size / 1024:.0f} KiB webhook body) to DingTalk: HTTP {status} in "
          f"{seconds * 1000:.0f} ms, {len(parts)} message(s) of at most "
          f"{max(len(p.body['markdown']['text'].encode()) for p in parts):,} bytes; "
          f"peak Python allocation {peak / 1e6:.1f} MB")
    stop(server, relay)
    fake.stop()


def burst(directory: Path, scaled_limit: bool) -> None:
    fake = (FastRobot if scaled_limit else NoLimitRobot)("key").start()
    rates = {"wecom_robot": (20, 2.0) if scaled_limit else (1_000_000, 1.0)}
    server, relay = start_relay(directory, {"robot": [{
        "channel": "wecom_robot", "key_file": secret(directory, "k", "key"), "api_url": fake.url()}]},
        rates=rates)
    url = f"{server.url}/alert/robot"
    payloads = [notification("robot", [alert(f"Burst{n:04d}", instance=f"host-{n}:9100",
                                             summary=f"第 {n} 号主机 CPU 使用率过高")]) for n in range(1000)]
    tracemalloc.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda p: post(url, p), payloads))
    accepted_after = time.perf_counter() - started
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = "".join(r.body.get("markdown", {}).get("content", "") for r in fake.accepted)
        if all(f"Burst{n:04d}" in texts for n in range(0, 1000, 37)) and "Burst0999" in texts \
                and relay.routes["robot"][0].queue.depth == 0:  # type: ignore[union-attr]
            break
        time.sleep(0.05)
    delivered_after = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    latencies = sorted(seconds for _, seconds in results)
    codes = {code: sum(1 for c, _ in results if c == code) for code, _ in results}
    texts = "".join(r.body["markdown"]["content"] for r in fake.accepted)
    missing = sum(1 for n in range(1000) if f"Burst{n:04d}" not in texts)
    if scaled_limit:
        print(f"3. burst of 1,000 under a robot limit of 20 per 2 s: all answered in {accepted_after:.2f} s "
              f"(HTTP {codes}); the robot received {len(fake.received)} messages "
              f"({sum(1 for r in fake.received if not r.ok)} refused), every alert delivered after "
              f"{delivered_after:.2f} s, {missing} missing; peak Python allocation {peak / 1e6:.1f} MB")
    else:
        print(f"2. burst of 1,000 notifications, 8 concurrent senders, no robot limit: "
              f"{1000 / accepted_after:.0f} notifications/s ({accepted_after:.2f} s), latency p50 "
              f"{statistics.median(latencies) * 1000:.1f} ms p99 {latencies[989] * 1000:.1f} ms, "
              f"HTTP {codes}, {len(fake.accepted)} messages; peak Python allocation {peak / 1e6:.1f} MB")
    stop(server, relay)
    fake.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        one_big_group(directory)
        burst(directory, scaled_limit=False)
        burst(directory, scaled_limit=True)
    print(f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "(relay, fakes and load generator in one process)")


if __name__ == "__main__":
    main()
