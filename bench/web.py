#!/usr/bin/env python3
"""Benchmark: what TLS and basic auth on every endpoint cost (web.tls + web.users).

    python bench/web.py [--no-docker] [--seconds 40]

Prints:
- render time of a full stack without web, with web the first time (the CA, one server certificate per
  role, bcrypt hashes), and with web again (everything kept, no bcrypt run), and the time
  `promtool check web-config` adds to apply's checks;
- the endpoints a web stack protects: web configs, certificates, internal scrape jobs with credentials;
- with Docker: the same small stack (Prometheus, Alertmanager, Pushgateway, blackbox from the local
  images) brought up twice, plain and with TLS + basic auth, each scraping itself every second; the
  mean scrape_duration_seconds per job over the same window, side by side.
Prints figures; asserts nothing. Traffic goes only to 127.0.0.1 and the stacks' own containers; the
stacks are removed at the end.
"""

# ruff: noqa: E501  (figure tables)

from __future__ import annotations

import argparse
import base64
import json
import ssl
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from stackgen import api, pki  # noqa: E402
from stackgen.render import render_stack  # noqa: E402
from stackgen.upstream_check import _run_checks, _stage_web_configs  # noqa: E402
from tests.integration.runtime_stack import free_port  # noqa: E402

PASSWORD = "bench-web-password-1"
IMAGES = {
    "prometheus": "stackgen-local/prometheus:2.42.0",
    "alertmanager": "stackgen-local/alertmanager:0.25.0",
    "blackbox-exporter": "stackgen-local/blackbox-exporter:0.23.0",
    "pushgateway": "stackgen-local/pushgateway:1.5.1",
}


def spec(name: str, web: bool, images: dict[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1, "name": name,
        "prometheus": {"port": free_port(), "scrape_interval": "1s", "evaluation_interval": "5s"},
        "alertmanager": {"port": free_port()},
        "grafana": {"enabled": images is None},
        "exporters": {"node": images is None, "cadvisor": False, "blackbox": True,
                      "pushgateway": {"enabled": True, "port": free_port()}},
        "rules": {"include": []}, "dashboards": {"include": []},
        "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/hook"}}],
        "route": {"receiver": "hook"},
    }
    if images:
        data["images"] = images
    if web:
        data["listen"] = "0.0.0.0"
        data["web"] = {"tls": {}, "users": {"admin": PASSWORD}}
    return data


def load(directory: Path, data: dict[str, Any]) -> Any:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return api.load_stack(directory / "stack.yaml", {})


def timed(work: Any, repeat: int = 5) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def render_figures(scratch: Path) -> None:
    now = pki.utc_now()
    plain = load(scratch / "plain", spec("bench-plain", False))
    web = load(scratch / "web", spec("bench-web", True))
    plain_s, _ = timed(lambda: render_stack(plain, {}, now))
    first_s, first = timed(lambda: render_stack(web, {}, now))
    existing = {path: file.content for path, file in first.items() if path.startswith("secrets/")}
    again_s, again = timed(lambda: render_stack(web, existing, now))
    print("render (median of 5, in-process, no Docker)")
    print(f"  without web                         {plain_s * 1000:7.1f} ms")
    print(f"  with web, first render (CA + certs) {first_s * 1000:7.1f} ms  (+{(first_s - plain_s) * 1000:.1f} ms)")
    print(f"  with web, kept (no bcrypt needed)   {again_s * 1000:7.1f} ms  (+{(again_s - plain_s) * 1000:.1f} ms)")
    with tempfile.TemporaryDirectory() as directory:
        staged = _stage_web_configs(again, Path(directory))
        import shutil
        import subprocess

        promtool = shutil.which("promtool")
        if promtool:
            started = time.perf_counter()
            subprocess.run([promtool, "check", "web-config", *map(str, staged)], check=True, capture_output=True)
            print(f"  promtool check web-config, {len(staged)} files    {(time.perf_counter() - started) * 1000:7.1f} ms")
    checks_plain, _ = timed(lambda: _run_checks(render_stack(plain, {}, now), promtool, None), repeat=1)
    checks_web, _ = timed(lambda: _run_checks(again, promtool, None), repeat=1)
    print(f"  apply's promtool checks: plain {checks_plain * 1000:.0f} ms, web {checks_web * 1000:.0f} ms")
    web_configs = sorted(p for p in again if p.endswith("/web.yml"))
    certificates = sorted(p for p in again if p.endswith("/web.crt"))
    prometheus = yaml.safe_load(again["prometheus/prometheus.yml"].content)
    protected = [job["job_name"] for job in prometheus["scrape_configs"] if "basic_auth" in job]
    print("endpoints")
    print(f"  web configs: {len(web_configs)} ({', '.join(p.split('/')[1] for p in web_configs)}) + Grafana's settings")
    print(f"  server certificates: {len(certificates)}; scrape jobs with credentials: {len(protected)}"
          f" ({', '.join(protected)}); alertmanagers and the relay webhook with credentials: 2")


def scrape_figures(seconds: float) -> None:
    import docker

    from stackgen.runtime.apply import apply_files
    from tests.helpers import remove_compose_project

    client = docker.from_env()
    results: dict[str, dict[str, float]] = {}
    projects = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            for web in (False, True):
                name = f"sgweb-bench-{'tls' if web else 'plain'}-{uuid.uuid4().hex[:6]}"
                projects.append(name)
                data = spec(name, web, IMAGES)
                stack = load(Path(directory) / name, data)
                out = Path(directory) / name / "generated"
                apply_files(api.render_files(stack, out), out, name)
                time.sleep(seconds)
                results["TLS + basic auth" if web else "plain HTTP"] = mean_durations(
                    data["prometheus"]["port"], web, out, int(seconds) - 5)
    finally:
        for name in projects:
            remove_compose_project(client, name)
    print(f"scrape_duration_seconds, mean over {int(seconds) - 5} s of 1 s scrapes (same images, same host)")
    jobs = sorted(next(iter(results.values())))
    print(f"  {'job':20} " + " ".join(f"{label:>18}" for label in results))
    for job in jobs:
        print(f"  {job:20} " + " ".join(f"{results[label].get(job, float('nan')) * 1000:15.2f} ms"
                                        for label in results))


def mean_durations(port: int, web: bool, out: Path, window: int) -> dict[str, float]:
    query = quote(f"avg_over_time(scrape_duration_seconds[{window}s])")
    request = urllib.request.Request(f"{'https' if web else 'http'}://127.0.0.1:{port}/api/v1/query?query={query}")
    context = None
    if web:
        context = ssl.create_default_context(cafile=str(out / "secrets" / "stackgen" / "ca.pem"))
        token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    with opener.open(request, timeout=10) as answer:
        data = json.loads(answer.read())
    return {s["metric"]["job"]: float(s["value"][1]) for s in data["data"]["result"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--no-docker", action="store_true", help="Only the render figures.")
    parser.add_argument("--seconds", type=float, default=40.0, help="How long each stack scrapes.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        render_figures(Path(scratch))
    if not options.no_docker:
        scrape_figures(options.seconds)


if __name__ == "__main__":
    main()
