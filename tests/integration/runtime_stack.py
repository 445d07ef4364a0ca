"""A real stack for the runtime's integration tests: a spec in a temp dir, applied through the API.

Specs use the local test images, disable what cannot run here (grafana, cadvisor, tracing; node-exporter
needs a shared / mount) and target only the stack itself. Ports are picked free on every address,
never the same one twice in a run.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from stackgen.api import load_stack, render_files
from stackgen.output import RenderedFile
from stackgen.runtime.apply import ApplyReport, PlanReport, apply_files, plan_files
from stackgen.runtime.progress import RecordingReporter

REPO = Path(__file__).resolve().parents[2]
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port nothing listens on now, on any address, and not handed out before in this run.

    The kernel may give a just-released port again: two calls for one spec could return the same
    number (validate then refuses the spec: "port N is already published")."""
    for _ in range(1000):
        with socket.socket() as probe:
            probe.bind(("0.0.0.0", 0))
            port = int(probe.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no TCP port left that this run has not handed out")


def free_port_run(count: int) -> int:
    """A first port P such that P..P+count-1 are free on every address now and none was handed out
    before in this run (replicas publish P+i)."""
    for _ in range(100):
        first = free_port()
        wanted = range(first + 1, first + count)
        if first + count > 65536 or any(port in _HANDED_OUT for port in wanted):
            continue
        holders: list[socket.socket] = []
        try:
            for port in wanted:
                holders.append(socket.socket())
                holders[-1].bind(("0.0.0.0", port))
        except OSError:
            continue
        finally:
            for holder in holders:
                holder.close()
        _HANDED_OUT.update(wanted)
        return first
    raise RuntimeError(f"no run of {count} free ports found")


def base_spec(project: str, images: Mapping[str, str]) -> dict[str, Any]:
    """A small stack: Prometheus, Alertmanager, blackbox; fast scrapes; one webhook receiver."""
    return {
        "version": 1,
        "name": project,
        "images": {role: images[role] for role in ("prometheus", "alertmanager", "blackbox-exporter")},
        "prometheus": {"port": free_port(), "scrape_interval": "2s", "evaluation_interval": "2s"},
        "alertmanager": {"port": free_port()},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": True, "pushgateway": False},
        "tracing": {"enabled": False},
        "targets": [{"job": "stack-self", "targets": ["prometheus:9090"]}],
        # the webhook points at the Alertmanager container's own loopback: nothing leaves the stack
        "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/hook"}}],
        "route": {"receiver": "hook"},
    }


class TestStack:
    """A spec file and its generated dir; apply/plan through the public runtime API."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, directory: Path, spec: dict[str, Any]) -> None:
        self.directory = directory
        self.spec = spec
        self.spec_path = directory / "stack.yaml"
        self.out_dir = directory / "generated"
        self.write()

    @property
    def project(self) -> str:
        return str(self.spec["name"])

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.spec['prometheus']['port']}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.spec['alertmanager']['port']}"

    def write(self) -> None:
        yaml = YAML()
        with self.spec_path.open("w", encoding="utf-8") as handle:
            yaml.dump(self.spec, handle)

    def edit(self, change: Any) -> None:
        """Apply `change(spec)` to a copy of the spec and write it."""
        spec = copy.deepcopy(self.spec)
        change(spec)
        self.spec = spec
        self.write()

    def rendered(self) -> dict[str, RenderedFile]:
        return render_files(load_stack(self.spec_path), self.out_dir)

    def apply(self, files: dict[str, RenderedFile] | None = None) -> tuple[ApplyReport, list[str]]:
        reporter = RecordingReporter()
        report = apply_files(files or self.rendered(), self.out_dir, self.project, reporter=reporter)
        return report, reporter.events

    def plan(self) -> PlanReport:
        return plan_files(self.rendered(), self.out_dir, self.project)

    def cli_argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "stackgen", *args, "-f", str(self.spec_path)]

    def cli_env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.update(extra)
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `stackgen ARGS -f stack.yaml` as a user would."""
        return subprocess.run(
            self.cli_argv(*args),
            capture_output=True,
            text=True,
            cwd=self.directory,
            timeout=300,
            env=self.cli_env(),
        )


def get_json(url: str) -> Any:
    with _NO_PROXY.open(url, timeout=10) as answer:
        return json.loads(answer.read())


def targets_by_job(prometheus_url: str) -> dict[str, list[dict[str, Any]]]:
    jobs: dict[str, list[dict[str, Any]]] = {}
    for target in get_json(prometheus_url + "/api/v1/targets")["data"]["activeTargets"]:
        jobs.setdefault(target["labels"]["job"], []).append(target)
    return jobs


def container_ids(docker_client: Any, project: str) -> dict[str, str]:
    """service -> container ID of every container of the project."""
    containers = docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"}
    )
    return {c.labels["com.docker.compose.service"]: c.id for c in containers}
