#!/usr/bin/env python3
"""Benchmark: how long notifications take to resume after an Alertmanager cluster member stops.

    python bench/ha_failover.py [--rounds 2] [--stop sender|other] [--kill] [--dedup-window 0]

Each round brings up a fresh HA stack with `apply` (2 Prometheus 2.42 replicas, 3 Alertmanager 0.25
members, scrape/evaluation every 1 s, group_wait 1 s; the spec of tests/integration/test_ha_live.py)
with a webhook sink on docker0's address, waits for the always-firing alert's notification, then stops
one member with `docker stop` (the one that sent that notification, or another one). The stop itself
(or, with --kill, a SIGKILL: a crash, where the others learn of it only by failed probes)
raises a new alert (HAMemberDown: the member's scrape fails), and the clock runs until its
notification arrives:

  stop ─▶ Prometheus sees the member down (the alert's activeAt) ─▶ a surviving member notifies

Alertmanager's cluster orders members: member i waits i x peer_timeout (15 s) before notifying, unless
the gossiped notification log shows another did; the member that sent before is not always the one at
position 0 after the stop, which is what this measures. Prints each round and the median/max.
Asserts nothing. Traffic: loopback, docker0's address (the sink) and the stack's own containers; every
stack is removed at the end of its round, even on failure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from tests.helpers import (  # noqa: E402
    epoch_seconds,
    remove_compose_project,
    unique_project_name,
    wait_until,
    wall_clock,
)
from tests.integration.conftest import local_image_tags  # noqa: E402
from tests.integration.runtime_stack import get_json  # noqa: E402
from tests.integration.test_ha_live import (  # noqa: E402
    ALERTMANAGER_REPLICAS,
    HAStack,
    start_ha_stack,
    wait_for_cluster,
)


def member_down_active_at(ha: HAStack) -> float | None:
    """The earliest activeAt of HAMemberDown over both Prometheus replicas (epoch seconds)."""
    times = []
    for url in ha.prometheus_urls():
        for alert in get_json(url + "/api/v1/alerts")["data"]["alerts"]:
            if alert["labels"]["alertname"] == "HAMemberDown" and alert.get("activeAt"):
                times.append(epoch_seconds(alert["activeAt"]))
    return min(times) if times else None


def one_round(
    client: Any, images: dict[str, str], stop: str, kill: bool, dedup_window: float
) -> dict[str, float]:
    project = unique_project_name("sgbench-ha-")
    started = time.monotonic()
    ha: HAStack | None = None
    try:
        with tempfile.TemporaryDirectory() as directory:
            ha = start_ha_stack(client, images, Path(directory), project)
            wait_for_cluster(ha, ALERTMANAGER_REPLICAS, timeout=90)
            cluster_ready = time.monotonic()
            first = wait_until(lambda: ha.sink.notifications("HAAlwaysFiring"), timeout=120)[0]
            urls = ha.member_urls()
            sender = next(name for name, url in urls.items() if url == first.sender)
            victim = sender if stop == "sender" else next(name for name in urls if name != sender)
            container = client.containers.get(f"{project}-{victim}-1")
            if kill:
                container.kill()  # SIGKILL: a crash, no goodbye to the cluster
            else:
                container.stop(timeout=5)  # SIGTERM: the member leaves the cluster gracefully
            stopped_at = time.monotonic()
            down = wait_until(lambda: ha.sink.notifications("HAMemberDown"), timeout=120)[0]
            active_at = member_down_active_at(ha)
            if dedup_window > 0:
                time.sleep(max(0.0, dedup_window - (time.monotonic() - down.received_at)))
            resumed_by = next(name for name, url in urls.items() if url == down.sender)
            return {
                "stop_to_notification": down.received_at - stopped_at,
                "stop_to_detected": (active_at - wall_clock(stopped_at)) if active_at else float("nan"),
                "detected_to_notification": (wall_clock(down.received_at) - active_at)
                if active_at
                else float("nan"),
                "cluster_ready_to_first": first.received_at - cluster_ready,
                "round_seconds": time.monotonic() - started,
                "stopped": float(list(urls).index(victim) + 1),
                "resumed_by": float(list(urls).index(resumed_by) + 1),
                "notifications": float(len(ha.sink.notifications("HAMemberDown"))),
            }
    finally:
        if ha is not None:
            ha.sink.stop()
        remove_compose_project(client, project)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--stop",
        choices=["sender", "other"],
        default="sender",
        help="stop the member that sent the last notification (default) or another one",
    )
    parser.add_argument("--kill", action="store_true", help="SIGKILL the member instead of docker stop")
    parser.add_argument(
        "--dedup-window",
        type=float,
        default=0.0,
        help="seconds to keep counting after the notification (36 shows any duplicate)",
    )
    args = parser.parse_args()
    client = docker.from_env(timeout=120)
    images = local_image_tags()
    rounds = []
    for number in range(1, args.rounds + 1):
        result = one_round(client, images, args.stop, args.kill, args.dedup_window)
        rounds.append(result)
        how = "killed" if args.kill else "stopped"
        print(
            f"round {number}: {how} alertmanager-{result['stopped']:.0f}, "
            f"alertmanager-{result['resumed_by']:.0f} notified "
            f"{result['stop_to_notification']:.1f} s after the stop "
            f"(detected {result['stop_to_detected']:.1f} s, "
            f"then {result['detected_to_notification']:.1f} s); "
            f"{result['notifications']:.0f} notification(s); "
            f"first alert {result['cluster_ready_to_first']:.1f} s after the cluster was ready; "
            f"round {result['round_seconds']:.0f} s",
            flush=True,
        )
    for key in ("stop_to_notification", "stop_to_detected", "detected_to_notification"):
        values = [r[key] for r in rounds]
        print(f"{key:26} median {statistics.median(values):5.1f} s   max {max(values):5.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
