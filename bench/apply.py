#!/usr/bin/env python3
"""Benchmark: stackgen apply against Docker Compose v2 on the same generated file and images.

    python bench/apply.py [--set current|debian12] [--image ROLE=TAG ...] [--compose "docker compose"]

Prints, side by side: cold bring-up to all-healthy, a no-op apply vs a no-op `docker compose up -d`
(and the CLI no-op's median, min and max against its goals: under 0.15 s and at most a quarter of
Compose's, with the containers it touched), what `docker compose up -d` touches on a stack apply made
(nothing, by design), a target edit until Prometheus lists the new target (apply vs `docker compose
restart prometheus`), and the cold apply of an HA stack (2 Prometheus, 3 Alertmanager). Needs a
running dockerd, Compose v2 and the local test images (scripts/build-local-images.sh; the current
set by default). Prints figures; asserts nothing. Traffic goes only to 127.0.0.1 and the stack's own
containers; everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ruamel.yaml import YAML  # noqa: E402

from tests.integration.conftest import local_image_tags  # noqa: E402
from tests.integration.runtime_stack import free_port  # noqa: E402

ROLES = ("prometheus", "alertmanager", "blackbox-exporter")
PYCACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stackgen" / "bench-pycache"
COMPOSE = ["docker", "compose"]  # --compose replaces it
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_spec(
    project: str,
    images: dict[str, str],
    prometheus_replicas: int = 1,
    alertmanager_replicas: int = 1,
    targets: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "version": 1,
        "name": project,
        "images": images,
        "prometheus": {"port": free_port(), "replicas": prometheus_replicas, "scrape_interval": "5s"},
        "alertmanager": {"port": free_port(), "replicas": alertmanager_replicas},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": True, "pushgateway": False},
        "tracing": {"enabled": False},
        "targets": [{"job": "bench", "targets": targets or ["prometheus:9090"]}],
    }


class Bench:
    def __init__(self, directory: Path, spec: dict[str, Any]) -> None:
        self.directory = directory
        self.spec = spec
        self.spec_path = directory / "stack.yaml"
        self.compose_file = directory / "generated" / "docker-compose.yml"
        self.write()

    @property
    def project(self) -> str:
        return str(self.spec["name"])

    def write(self) -> None:
        with self.spec_path.open("w") as handle:
            YAML().dump(self.spec, handle)

    def stackgen(self, *args: str) -> float:
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(PYCACHE))
        # as an installed stackgen runs: with compiled bytecode (pip compiles on install), which an
        # environment with PYTHONDONTWRITEBYTECODE=1 would otherwise recompile on every run
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "stackgen", *args, "-f", str(self.spec_path)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start

    def compose(self, *args: str) -> float:
        start = time.perf_counter()
        subprocess.run(
            [*COMPOSE, "-p", self.project, "-f", str(self.compose_file), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start

    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.spec['prometheus']['port']}"

    def instances(self, job: str) -> set[str]:
        try:
            with _NO_PROXY.open(self.prometheus_url() + "/api/v1/targets", timeout=5) as answer:
                data = json.loads(answer.read())
        except OSError:
            return set()
        return {t["labels"]["instance"] for t in data["data"]["activeTargets"] if t["labels"]["job"] == job}


def docker_all_healthy(project: str) -> bool:
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--format",
            "{{.Status}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return bool(out) and all(line.startswith("Up") and "(healthy)" in line for line in out)


def started_containers(project: str) -> dict[str, str]:
    """Container ID -> when it last started, for every container of the project."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    if not ids:
        return {}
    out = subprocess.run(
        ["docker", "inspect", "--format", "{{.Id}} {{.State.StartedAt}}", *ids],
        capture_output=True, text=True, check=True,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def interpreter_startup(runs: int) -> float:
    """Median time of `python -c pass` with the same interpreter and environment."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def wait(condition: Callable[[], bool], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


def cleanup(project: str) -> None:
    label = f"label=com.docker.compose.project={project}"
    for kind, listing in (
        ("container", ["docker", "ps", "-aq"]),
        ("network", ["docker", "network", "ls", "-q"]),
        ("volume", ["docker", "volume", "ls", "-q"]),
    ):
        ids = subprocess.run([*listing, "--filter", label], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(
                ["docker", kind, "rm", "-f", *ids]
                if kind != "network"
                else ["docker", "network", "rm", *ids],
                capture_output=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", default="current", choices=["current", "debian12"],
                        help="the local image set (default: current, Prometheus 3)")
    parser.add_argument(
        "--image", action="append", default=[], help="ROLE=TAG (default: the set's stackgen-local tags)"
    )
    parser.add_argument("--compose", default="docker compose", help="the Compose command to compare with")
    parser.add_argument("--runs", type=int, default=7, help="runs of each no-op measurement")
    options = parser.parse_args()
    COMPOSE[:] = shlex.split(options.compose)
    tags = local_image_tags(options.set)
    images = dict({role: tags[role] for role in ROLES}, **dict(item.split("=", 1) for item in options.image))
    project = f"sgbench{uuid.uuid4().hex[:6]}"
    ha_project = project + "ha"
    with tempfile.TemporaryDirectory(prefix="stackgen-bench-") as tmp:
        try:
            run(Path(tmp), project, ha_project, images, options.runs)
        finally:
            cleanup(project)
            cleanup(ha_project)


def run(tmp: Path, project: str, ha_project: str, images: dict[str, str], runs: int) -> None:
    (tmp / "one").mkdir()
    bench = Bench(tmp / "one", make_spec(project, images))
    print(f"stackgen apply vs {' '.join(COMPOSE)} {compose_version()} (same generated file, same images: "
          f"{', '.join(images[role] for role in ROLES)})")

    # cold bring-up: stackgen apply returns once every container is healthy
    stackgen_cold = bench.stackgen("apply")
    bench.stackgen("down", "--volumes")
    start = time.perf_counter()
    bench.compose("up", "-d")
    compose_up = time.perf_counter() - start
    wait(lambda: docker_all_healthy(project))
    compose_cold = time.perf_counter() - start
    compose_noop = statistics.median(bench.compose("up", "-d") for _ in range(runs))
    bench.compose("down", "--volumes")
    print(
        f"  cold bring-up to all healthy   stackgen apply {stackgen_cold:6.2f} s   "
        f"compose up -d + health {compose_cold:6.2f} s (up -d alone {compose_up:.2f} s)   "
        f"ratio {stackgen_cold / compose_cold:.2f} (goal: under 1/3)"
    )

    bench.stackgen("apply")
    before = started_containers(project)
    noop = [bench.stackgen("apply") for _ in range(runs)]
    from stackgen.api import load_stack, render_files
    from stackgen.runtime.apply import apply_files

    stack = load_stack(bench.spec_path)
    out_dir = bench.spec_path.parent / "generated"
    in_process = []
    for _ in range(runs):
        start = time.perf_counter()
        report = apply_files(render_files(stack, out_dir), out_dir, stack.name)
        in_process.append(time.perf_counter() - start)
        assert not report.plan.changes_anything
    after = started_containers(project)
    touched = sum(1 for key in set(before) | set(after) if before.get(key) != after.get(key))
    print(
        f"  no-op                          stackgen apply {statistics.median(noop):6.3f} s   "
        f"compose up -d {compose_noop:6.3f} s   ratio {statistics.median(noop) / compose_noop:.2f} "
        f"(goal: at most 1/4)   (apply in-process, render+converge: "
        f"{statistics.median(in_process) * 1000:.0f} ms)"
    )
    print(
        f"  no-op apply from the CLI       median {statistics.median(noop):.3f} s, min {min(noop):.3f}, "
        f"max {max(noop):.3f} over {runs} runs (goal: under 0.15 s; interpreter start-up alone "
        f"{interpreter_startup(runs):.3f} s); containers started, created or removed: {touched}; "
        f"docker SDK imported: {'yes' if 'docker' in sys.modules else 'no'}"
    )
    # Compose on what apply made: same names, labels and hash, so nothing to do
    before = started_containers(project)
    compose_on_apply = bench.compose("up", "-d")
    after = started_containers(project)
    touched = sum(1 for key in set(before) | set(after) if before.get(key) != after.get(key))
    print(
        f"  compose up -d on apply's stack {compose_on_apply:6.3f} s, containers started, created or "
        f"removed: {touched}"
    )

    # target edit: until Prometheus lists the new target
    bench.spec["targets"][0]["targets"] = ["prometheus:9090", "alertmanager:9093"]
    bench.write()
    start = time.perf_counter()
    apply_s = bench.stackgen("apply")
    wait(lambda: "alertmanager:9093" in bench.instances("bench"))
    stackgen_edit = time.perf_counter() - start
    bench.spec["targets"][0]["targets"] = ["prometheus:9090", "alertmanager:9093", "blackbox-exporter:9115"]
    bench.write()
    start = time.perf_counter()
    bench.stackgen("render")
    bench.compose("restart", "prometheus")
    wait(lambda: "blackbox-exporter:9115" in bench.instances("bench"))
    compose_edit = time.perf_counter() - start
    print(
        f"  target edit visible            stackgen apply {stackgen_edit:6.2f} s   "
        f"render + compose restart prometheus {compose_edit:6.2f} s "
        f"(apply itself {apply_s:.2f} s, zero restarts; the rest is Prometheus' discovery batching)"
    )
    bench.stackgen("down", "--volumes")

    (tmp / "ha").mkdir()
    ha = Bench(tmp / "ha", make_spec(ha_project, images, prometheus_replicas=2, alertmanager_replicas=3))
    ha_cold = ha.stackgen("apply")
    ha_noop = statistics.median(ha.stackgen("apply") for _ in range(runs))
    ha.stackgen("down", "--volumes")
    print(
        f"  HA stack (2 Prometheus, 3 Alertmanager)   cold apply {ha_cold:6.2f} s   "
        f"no-op apply {ha_noop:6.2f} s"
    )


def compose_version() -> str:
    out = subprocess.run([*COMPOSE, "version", "--short"], capture_output=True, text=True).stdout.strip()
    return out or "?"


if __name__ == "__main__":
    main()
