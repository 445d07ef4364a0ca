"""Take a stack down: its containers and network go; its volumes (metrics history) only on request."""

from __future__ import annotations

from dataclasses import dataclass

from stackgen.parallel import map_all
from stackgen.runtime.engine import Engine
from stackgen.runtime.progress import Reporter


@dataclass(frozen=True)
class DownReport:
    """What down removed."""

    containers: tuple[str, ...]
    networks: tuple[str, ...]
    volumes: tuple[str, ...]


def take_down(engine: Engine, project: str, *, volumes: bool, reporter: Reporter) -> DownReport:
    """Stop and remove every container of `project`, then its network (and volumes if asked)."""
    containers = engine.containers(project)
    if containers:
        reporter.phase(f"removing {len(containers)} container{'s' if len(containers) != 1 else ''}")

        def remove(container_id: str, name: str) -> None:
            engine.stop(container_id)  # a clean stop: Prometheus flushes its head block
            engine.remove(container_id)
            reporter.service(name, "removed")

        map_all(lambda container: remove(container.id, container.name), containers)
    networks = engine.remove_network(project)
    removed_volumes = engine.remove_volumes(project) if volumes else []
    return DownReport(
        tuple(container.name for container in containers), tuple(networks), tuple(removed_volumes)
    )
