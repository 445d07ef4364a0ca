#!/usr/bin/env python3
"""Benchmark: how long an alert takes from firing to the chat API, and where the time goes.

    python bench/notify_latency.py [--alerts 10] [--group-wait 1s] [--interval 1s] [--no-cold]

Brings up a stack with `apply` (local test images: Prometheus 2.42, Alertmanager 0.25, the relay on
the local Python image) with short timings: scrape and evaluation every --interval, a rule with
`for: 0s`, group_wait --group-wait. A scrape target on this host (tests/fakes/metrics_target.py)
makes one new alert at a time, each its own group, at a random phase of the scrape cycle; a fake
DingTalk robot with signing (tests/fakes/chat_apis.py) receives the message. For each alert:

  series set ─▶ first scrape that sees it ─▶ rule fires (activeAt, an evaluation time)
             ─▶ Alertmanager has it (updatedAt) ─▶ fake receives it (group_wait, Alertmanager, relay)

and the relay's own time per message (its delivery histogram: render, sign, HTTP to the fake).

Before that, cold and recreated (unless --no-cold): a rule that fires at once (`vector(1)`) in the
spec that `apply` brings up from nothing, then a second such rule added together with a Prometheus
flag, so that apply recreates Prometheus while Alertmanager keeps running. For each: apply began,
Prometheus started (the container's StartedAt) and apply returned (Prometheus healthy) → the fake
received the message, and Prometheus's notification counters (dropped, sent) at that moment.

Prints median and max of each step and of "fired → received" and "set → received". Asserts nothing.
Traffic: loopback, docker0's address (the fakes) and the stack's own containers; the stack is
removed at the end, even on failure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.chat_apis import FakeDingTalk  # noqa: E402
from tests.fakes.metrics_target import MetricsTarget  # noqa: E402
from tests.helpers import (  # noqa: E402
    epoch_seconds,
    network_gateway,
    remove_compose_project,
    unique_project_name,
    wall_clock,
)
from tests.integration.conftest import local_image_tags  # noqa: E402
from tests.integration.runtime_stack import TestStack, free_port, get_json  # noqa: E402

TOKEN, SECRET = "bench-latency-token", "SECbench-latency-secret"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def spec(project: str, images: dict[str, str], gateway: str, target: MetricsTarget, robot: FakeDingTalk,
         interval: str, group_wait: str) -> dict[str, Any]:
    return {
        "version": 1,
        "name": project,
        "images": {role: images[role] for role in ("prometheus", "alertmanager", "relay-base")},
        "prometheus": {"port": free_port(), "scrape_interval": interval, "evaluation_interval": interval},
        "alertmanager": {"port": free_port()},
        "relay": {"port": free_port()},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "tracing": {"enabled": False},
        "targets": [{"job": "bench", "targets": [target.address(gateway)]}],
        "rules": {"include": [], "groups": [{"name": "bench", "rules": [
            {"alert": "BenchLatency", "expr": "bench_latency > 0", "for": "0s",
             "annotations": {"summary": "延迟测试 {{ $labels.n }}"}}]}]},
        "receivers": [{"name": "ding", "dingtalk": {
            "url": f"{robot.url(gateway)}/robot/send?access_token={TOKEN}", "secret": SECRET}}],
        "route": {"receiver": "ding", "group_by": ["alertname", "n", "phase"], "group_wait": group_wait,
                  "group_interval": "2s", "repeat_interval": "1h"},
    }


def fires_at_once(phase: str) -> dict[str, Any]:
    """A rule that fires at the first evaluation of a (re)started Prometheus."""
    return {"alert": "FiresAtOnce", "expr": "vector(1)", "for": "0s", "labels": {"phase": phase},
            "annotations": {"summary": f"立即告警 {phase}"}}


def poll(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def measure(stack: TestStack, target: MetricsTarget, robot: FakeDingTalk, n: int) -> dict[str, float]:
    """Fire alert n and return its timestamps (wall clock, seconds)."""
    label = f"a{n:02d}"
    scrapes_before = target.scrapes
    set_at = time.time()
    target.set("bench_latency", {"n": label})
    poll(lambda: target.scrapes > scrapes_before, 10, "a scrape")
    scraped_at = target.last_scrape
    message = poll(lambda: [r for r in robot.accepted if f"延迟测试 {label}" in json.dumps(
        r.body, ensure_ascii=False)], 30, f"alert {label} at the robot")[0]
    received_at = wall_clock(message.time)
    alerts = get_json(f"{stack.prometheus_url}/api/v1/alerts")["data"]["alerts"]
    active_at = epoch_seconds(next(a for a in alerts if a["labels"].get("n") == label)["activeAt"])
    am_alerts = get_json(f"{stack.alertmanager_url}/api/v2/alerts?filter=n%3D%22{label}%22")
    am_updated = epoch_seconds(am_alerts[0]["updatedAt"])
    return {"set": set_at, "scraped": scraped_at, "fired": active_at, "alertmanager": am_updated,
            "received": received_at}


def notifier_counters(stack: TestStack) -> dict[str, float]:
    """Prometheus's own notification counters (dropped, sent, errors), summed over Alertmanagers."""
    from prometheus_client.parser import text_string_to_metric_families

    with _NO_PROXY.open(f"{stack.prometheus_url}/metrics", timeout=10) as answer:
        text = answer.read().decode("utf-8")
    counters = {"dropped": 0.0, "sent": 0.0, "errors": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for name in counters:
                if sample.name == f"prometheus_notifications_{name}_total":
                    counters[name] += sample.value
    return counters


def started_at(client: Any, project: str, service: str) -> float:
    """When the service's container started, as a time.monotonic() reading of this process."""
    container = client.containers.list(filters={"label": [f"com.docker.compose.project={project}",
                                                          f"com.docker.compose.service={service}"]})[0]
    return epoch_seconds(container.attrs["State"]["StartedAt"]) - time.time() + time.monotonic()


def first_message(client: Any, stack: TestStack, robot: FakeDingTalk, phase: str) -> str:
    """Apply, then time the message of the rule that fires at once."""
    began = time.monotonic()
    stack.apply()
    applied = time.monotonic()
    prometheus_started = started_at(client, stack.project, "prometheus")
    message = poll(lambda: [r for r in robot.accepted if f"立即告警 {phase}" in json.dumps(
        r.body, ensure_ascii=False)], 180, f"the {phase} alert at the robot")[0]
    counters = notifier_counters(stack)
    return (f"  {phase:<9} apply {applied - began:5.1f} s; received {message.time - began:5.1f} s after "
            f"apply began, {message.time - prometheus_started:5.1f} s after Prometheus started, "
            f"{message.time - applied:5.1f} s after apply returned (Prometheus healthy); "
            f"notifications dropped {counters['dropped']:.0f}, sent {counters['sent']:.0f}")


def relay_seconds_per_message(stack: TestStack) -> float:
    """Mean of the relay's delivery histogram for DingTalk (its own time per message)."""
    from prometheus_client.parser import text_string_to_metric_families

    with _NO_PROXY.open(f"http://127.0.0.1:{stack.spec['relay']['port']}/metrics", timeout=10) as answer:
        text = answer.read().decode("utf-8")
    samples = {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.labels.get("channel") == "dingtalk"}
    count = samples.get("stackgen_relay_delivery_duration_seconds_count", 0.0)
    return samples.get("stackgen_relay_delivery_duration_seconds_sum", 0.0) / count if count else float("nan")


def summary(name: str, values: list[float]) -> str:
    return f"  {name:<40} median {statistics.median(values):6.3f} s   max {max(values):6.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--interval", default="1s", help="scrape and evaluation interval")
    parser.add_argument("--group-wait", default="1s")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold and recreate measurements")
    parser.add_argument("--resend-delay",
                        help="Prometheus's --rules.alert.resend-delay "
                        "(default: stackgen's; upstream's is 1m)")
    args = parser.parse_args()

    import docker

    client = docker.from_env(timeout=120)
    images = local_image_tags()
    gateway = network_gateway(client, "bridge")
    project = unique_project_name()
    target = MetricsTarget(gateway).start()
    robot = FakeDingTalk(TOKEN, SECRET, host=gateway).start()
    # The robot's real limit (20/min) would queue alerts beyond the 20th; this measures the pipeline.
    robot.rate_limit = None  # type: ignore[misc,assignment]
    results: list[dict[str, float]] = []
    cold: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="notify-latency-") as directory:
            stack = TestStack(Path(directory), spec(project, images, gateway, target, robot,
                                                    args.interval, args.group_wait))
            resend = [f"--rules.alert.resend-delay={args.resend_delay}"] if args.resend_delay else []
            stack.edit(lambda s: s["prometheus"].update(extra_args=list(resend)))
            if not args.no_cold:
                stack.edit(lambda s: s["rules"]["groups"][0]["rules"].append(fires_at_once("cold")))
                cold.append(first_message(client, stack, robot, "cold"))

                def recreate(s: dict[str, Any]) -> None:
                    s["prometheus"]["extra_args"] = [*resend, "--query.max-samples=50000001"]
                    s["rules"]["groups"][0]["rules"].append(fires_at_once("recreated"))
                stack.edit(recreate)
                cold.append(first_message(client, stack, robot, "recreated"))
            started = time.monotonic()
            stack.apply()
            print(f"stack {project} applied in {time.monotonic() - started:.1f} s; "
                  f"scrape/evaluation {args.interval}, group_wait {args.group_wait}, rule for: 0s")
            poll(lambda: target.scrapes >= 2, 60, "Prometheus to scrape the target")
            for n in range(min(args.alerts, 19)):
                time.sleep(random.uniform(0.0, 1.0))     # a random phase of the scrape/eval cycle
                results.append(measure(stack, target, robot, n))
            relay_mean = relay_seconds_per_message(stack)
    finally:
        target.stop()
        robot.stop()
        remove_compose_project(client, project)
        client.close()

    def span(start: str, end: str) -> list[float]:
        return [r[end] - r[start] for r in results]

    if cold:
        print("\na rule that fires at once, on a cold stack and after apply recreated Prometheus:")
        print("\n".join(cold))
    print(f"\n{len(results)} warm alerts, each its own group, one at a time:")
    print(summary("fired (activeAt) -> fake received", span("fired", "received")))
    print(summary("series set -> fake received", span("set", "received")))
    print("where the time goes:")
    print(summary("series set -> first scrape", span("set", "scraped")))
    print(summary("scrape -> rule fired (next evaluation)", span("scraped", "fired")))
    print(summary("fired -> Alertmanager has it", span("fired", "alertmanager")))
    print(summary("Alertmanager -> fake received", span("alertmanager", "received")))
    print(f"  {'  of which the relay (render, sign, send)':<40} mean   {relay_mean:6.3f} s per message "
          f"(group_wait {args.group_wait} is the rest, with Alertmanager's pipeline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
