"""The order in which Converger starts containers and waits for them (a recording engine, no Docker).

The integration tests run the same code against a real dockerd; what they cannot show reliably is an
ordering race, so it is pinned here: a dependency is healthy before what depends on it is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackgen import api
from stackgen.runtime.compose_file import parse_project
from stackgen.runtime.converge import Converger
from stackgen.runtime.engine import ContainerState
from stackgen.runtime.plan import ActionKind, DesiredService, Plan, ServiceAction
from stackgen.runtime.progress import RecordingReporter
from tests.unit.core_helpers import base_spec, write_spec


class RecordingEngine:
    """Containers are healthy once their healthcheck ran; every call is kept in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._service_of: dict[str, str] = {}

    def ensure_network(self, project: Any) -> None:
        pass

    def ensure_volumes(self, project: Any) -> None:
        pass

    def create_container(self, project: Any, service: Any, config_hash: str, **labels: Any) -> str:
        container_id = f"id-{service.name}"
        self._service_of[container_id] = service.name
        self.calls.append(("create", service.name))
        return container_id

    def start(self, container_id: str, service: str) -> None:
        self.calls.append(("start", service))

    def state(self, container_id: str) -> ContainerState:
        return ContainerState("running", "starting", 0, ("CMD", "true"))

    def exec(self, container_id: str, argv: list[str]) -> tuple[int, str]:
        self.calls.append(("healthcheck", self._service_of[container_id]))
        return 0, ""

    def logs_tail(self, container_id: str, lines: int = 5) -> str:
        return ""


def cold_apply(tmp_path: Path, **sections: Any) -> list[tuple[str, str]]:
    stack = api.load_stack(write_spec(tmp_path, base_spec(**sections)), {})
    files = api.render_files(stack, tmp_path / "out")
    compose = yaml.safe_load(files["docker-compose.yml"].content)
    project = parse_project(compose, tmp_path / "out" / "docker-compose.yml")
    desired = [DesiredService(s.name, s.role, s.image, f"hash-{s.name}") for s in project.services]
    plan = Plan(tuple(ServiceAction(s.name, ActionKind.CREATE) for s in project.services))
    engine = RecordingEngine()
    Converger(engine, project, desired, {}, RecordingReporter(), lambda: None).run(plan)  # type: ignore[arg-type]
    return engine.calls


def test_every_alertmanager_is_healthy_before_prometheus_is_created(tmp_path: Path) -> None:
    calls = cold_apply(tmp_path, prometheus={"replicas": 2}, alertmanager={"replicas": 3})
    alertmanagers = {name for kind, name in calls if kind == "create" and name.startswith("alertmanager")}
    first_prometheus = min(i for i, (kind, name) in enumerate(calls)
                           if kind == "create" and name.startswith("prometheus"))
    assert len(alertmanagers) == 3
    checked_before = {name for kind, name in calls[:first_prometheus] if kind == "healthcheck"}
    assert alertmanagers <= checked_before


def test_each_container_is_checked_once_and_leaves_last(tmp_path: Path) -> None:
    calls = cold_apply(tmp_path)
    checks = [name for kind, name in calls if kind == "healthcheck"]
    assert sorted(checks) == sorted({name for kind, name in calls if kind == "create"})
    last_create = max(i for i, (kind, _) in enumerate(calls) if kind == "create")
    # nothing depends on a node exporter: it is not waited for before the rest starts
    assert ("healthcheck", "node-exporter") in calls[last_create:]
