#!/usr/bin/env python3
"""Benchmark: the stack on a 3-node Docker Swarm of Docker-in-Docker nodes (as the swarm tests make it).

    python bench/swarm.py [--rounds N]

Prints: the swarm's set-up (nodes, join, image load), a cold `apply` until every node's
node-exporter is up in Prometheus, no-op applies, a target edit until Prometheus lists the new target
(file_sd, nothing reloaded), a rule edit until both Prometheus replicas serve the new group (reload,
same tasks), a definition change until the new Prometheus task answers (a rolling update: what a
config delivered as a Swarm config would cost on every edit), and node loss: a worker stopped until
SwarmNodeDown reaches the fake DingTalk through the relay, started until the resolved message.
Needs dockerd, the local test images and scripts/build-swarm-node-image.sh. Prints figures; asserts
nothing. Traffic: the node containers and the fake on the nodes' gateway. Everything is removed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.chat_apis import FakeDingTalk  # noqa: E402
from tests.helpers import wait_until  # noqa: E402
from tests.integration.conftest import local_image_tags  # noqa: E402
from tests.integration.runtime_stack import get_json  # noqa: E402
from tests.integration.swarm.conftest import SWARM_ROLES, swarm_images  # noqa: E402
from tests.integration.swarm.swarm_nodes import build_node_image, create_swarm, remove_swarm  # noqa: E402
from tests.integration.swarm.test_swarm_live import TOKEN, SwarmStack, build_spec  # noqa: E402


def since(started: float) -> float:
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="no-op applies to time")
    args = parser.parse_args()
    tags = local_image_tags()
    build_node_image()
    started = time.monotonic()
    swarm = create_swarm(sorted({tags[role] for role in SWARM_ROLES}))
    print(f"swarm: 3 nodes up, joined, images loaded in {since(started):.1f} s")
    ding = FakeDingTalk(TOKEN, host="0.0.0.0").start()
    try:
        directory = swarm.work_dir / "bench"
        directory.mkdir()
        stack = SwarmStack(
            directory, build_spec("sgsbench", swarm_images(tags), ding.url(swarm.gateway())), swarm
        )
        hostnames = {node.hostname for node in swarm.nodes}

        def exporters_up() -> bool:
            targets = get_json(stack.prometheus_url + "/api/v1/targets?state=active")["data"]["activeTargets"]
            up = {
                t["labels"]["instance"]
                for t in targets
                if t["labels"]["job"] == "node-exporter" and t["health"] == "up"
            }
            return up == hostnames

        started = time.monotonic()
        report, _ = stack.apply()
        applied = since(started)
        wait_until(exporters_up, timeout=180, interval=0.2)
        print(
            f"cold apply: {applied:.1f} s (deploy and every task running), "
            f"{since(started):.1f} s until node-exporter is up on all 3 nodes"
        )

        noop = []
        for _ in range(args.rounds):
            started = time.monotonic()
            report, _ = stack.apply()
            noop.append(since(started))
        deployed = any(report.result.summary()[kind] for kind in ("create", "recreate"))
        print(
            f"no-op apply: median {statistics.median(noop):.2f} s, min {min(noop):.2f}, max {max(noop):.2f} "
            f"over {args.rounds} (no deploy: {not deployed})"
        )

        def stack_self() -> set[str]:
            return {
                t["labels"]["instance"]
                for t in get_json(stack.prometheus_url + "/api/v1/targets")["data"]["activeTargets"]
                if t["labels"]["job"] == "stack-self"
            }

        tasks = stack.task_ids()
        started = time.monotonic()
        stack.edit(lambda spec: spec["targets"][0]["targets"].append("prometheus-2:9090"))
        stack.apply()
        applied = since(started)
        wait_until(lambda: "prometheus-2:9090" in stack_self(), timeout=60, interval=0.1)
        print(
            f"target edit: apply {applied:.2f} s, listed by Prometheus after {since(started):.2f} s "
            f"(same tasks: {stack.task_ids() == tasks})"
        )

        started = time.monotonic()
        stack.edit(
            lambda spec: spec["rules"].update(
                groups=[{"name": "bench", "rules": [{"record": "sgswarm:bench", "expr": "vector(1)"}]}]
            )
        )
        stack.apply()
        urls = stack.replica_urls()
        wait_until(
            lambda: all(
                "bench" in {g["name"] for g in get_json(url + "/api/v1/rules")["data"]["groups"]}
                for url in urls
            ),
            timeout=60,
            interval=0.05,
        )
        print(
            f"rule edit: served by both Prometheus replicas after {since(started):.2f} s "
            f"(reload, same tasks: {stack.task_ids() == tasks})"
        )

        started = time.monotonic()
        stack.edit(lambda spec: spec["prometheus"].update(retention="14d"))
        stack.apply()
        print(
            f"definition change (retention): both Prometheus replicas rolled to new tasks and running "
            f"after {since(started):.1f} s (what each edit would cost with config in Swarm configs)"
        )

        worker = swarm.nodes[2]

        def delivered(status: str) -> list[Any]:
            return [
                r
                for r in ding.accepted
                if "SwarmNodeDown" in json.dumps(r.body)
                and worker.hostname in json.dumps(r.body)
                and status in json.dumps(r.body)
            ]

        wait_until(exporters_up, timeout=120, interval=0.2)
        stopped = time.monotonic()
        swarm.stop(worker)
        wait_until(lambda: delivered("FIRING"), timeout=120, interval=0.1)
        fired = delivered("FIRING")[0].time - stopped
        time.sleep(20)  # a duplicate from the second Alertmanager would come after one peer timeout (15 s)
        copies = len(delivered("FIRING"))
        back = time.monotonic()
        swarm.start(worker)
        wait_until(lambda: delivered("RESOLVED"), timeout=180, interval=0.1)
        print(
            f"node loss: SwarmNodeDown delivered {fired:.1f} s after the worker stopped (rule for: 4s, "
            f"scrape 2s), {copies} message(s) from 2 Prometheus x 2 Alertmanagers; resolved "
            f"{delivered('RESOLVED')[0].time - back:.1f} s after it started"
        )
        stack.cli("down")
    finally:
        ding.stop()
        failures = remove_swarm(swarm)
        if failures:
            print(f"cleanup left: {failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
