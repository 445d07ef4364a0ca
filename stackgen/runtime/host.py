"""The one-host engine: a rendered docker-compose.yml run as containers on one Docker engine.

plan and apply compare the desired services (compose file, file hashes, image IDs) with the containers
the engine reports, adopting what Compose v2 created from the same file; down, status and logs read the
project's containers. The only Docker-talking module under it is runtime/engine.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from stackgen.output import RenderedFile, contents, diff_output
from stackgen.rendered import from_files
from stackgen.runtime.apply import ApplyReport, ApplyRun, PlanReport
from stackgen.runtime.compose_file import ProjectDefinition
from stackgen.runtime.engine import Engine
from stackgen.runtime.images import ensure_images, local_image_ids
from stackgen.runtime.plan import (
    ActionKind,
    ConvergeResult,
    DesiredService,
    ObservedContainer,
    Plan,
    changed_files,
    desired_services,
    file_hashes,
    plan,
)
from stackgen.runtime.progress import Reporter
from stackgen.runtime.rollback import restore_previous_output
from stackgen.runtime.state import read_adopted, read_applied, write_applied

if TYPE_CHECKING:
    from stackgen.runtime.down import DownReport
    from stackgen.runtime.logs import LogLine
    from stackgen.runtime.status import StackStatus


class HostEngine:
    """The StackEngine of one Docker host (runtime/engines.py); connects on first use."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine.connect()
        return self._engine

    def plan(self, files: Mapping[str, RenderedFile], out_dir: Path, project_name: str | None) -> PlanReport:
        project = load_project(files, out_dir, project_name)
        image_ids = local_image_ids(self.engine, project)
        hashes = file_hashes(contents(files))
        desired = desired_services(project, hashes, image_ids)
        observed = self.engine.containers(project.name)
        observed, desired, _ = _with_adoption(project, out_dir, observed, desired)
        decided = plan(desired, observed, changed_files(hashes, read_applied(out_dir, project.name)))
        missing = tuple(image for image, image_id in image_ids.items() if image_id is None)
        return PlanReport(project.name, diff_output(files, out_dir), decided, missing)

    def apply(self, run: ApplyRun) -> ApplyReport:
        """Images, write, plan, converge, record the applied state."""
        engine = self.engine
        project = load_project(run.files, run.out_dir, run.project_name)
        image_ids = ensure_images(engine, project, run.options.pull, run.reporter)
        written = run.write()
        hashes = file_hashes(run.contents)
        desired = desired_services(project, hashes, image_ids)
        observed = engine.containers(project.name)
        unlabelled = {container.id for container in observed if container.config_hash is None}
        observed, desired, asked = _with_adoption(project, run.out_dir, observed, desired)
        applied = read_applied(run.out_dir, project.name)
        decided = plan(desired, observed, changed_files(hashes, applied))
        if decided.changes_anything:
            # imported only now: converge's health checks and reloads bring HTTP and TLS (~25 ms)
            from stackgen.runtime.converge import Converger

            converger = Converger(
                engine,
                project,
                desired,
                run.contents,
                run.reporter,
                restore_files=restore_previous_output(run.out_dir, written, applied),
                health_timeout_s=run.options.health_timeout_s,
                compose_hashes=(lambda: asked) if asked is not None else (lambda: _compose_hashes(project)),
            )
            result = converger.run(decided)
        else:
            result = ConvergeResult.unchanged(decided)
        write_applied(run.out_dir, project.name, hashes, _adoption_record(decided, unlabelled, desired))
        return run.report(project.name, written, decided, result)

    def down(self, project: str, *, volumes: bool, reporter: Reporter) -> DownReport:
        from stackgen.runtime.down import take_down

        return take_down(self.engine, project, volumes=volumes, reporter=reporter)

    def status(self, out_dir: Path, project: str) -> StackStatus:
        from stackgen.rendered import read_rendered_if_any
        from stackgen.runtime.status import collect_status
        from stackgen.runtime.web_access import read_web_access

        rendered = read_rendered_if_any(out_dir)
        return collect_status(
            self.engine,
            project,
            rendered.project_as(project) if rendered is not None else None,
            read_web_access(out_dir),
            docker_discovery=_discovers_docker(out_dir),
        )

    def logs(
        self, project: str, services: Sequence[str], tail: int | None, follow: bool, since: int | None
    ) -> tuple[Sequence[ObservedContainer], Iterator[LogLine]]:
        from stackgen.runtime.logs import read_logs, select_containers

        containers = select_containers(self.engine.containers(project), services)
        lines = read_logs(self.engine, containers, tail, follow, since) if containers else iter(())
        return containers, lines


def load_project(
    files: Mapping[str, RenderedFile], out_dir: Path, project_name: str | None
) -> ProjectDefinition:
    """The compose project described by the rendered docker-compose.yml (`project_name` overrides)."""
    return from_files(files, out_dir).project_as(project_name)


def _discovers_docker(out_dir: Path) -> bool:
    """True when the rendered Prometheus config has the docker discovery job."""
    from stackgen.render.docker_discovery import JOB_NAME

    return any(
        f"job_name: {JOB_NAME}" in path.read_text(encoding="utf-8", errors="replace")
        for path in (out_dir / "prometheus").glob("prometheus*.yml")
    )


def _compose_hashes(project: ProjectDefinition) -> dict[str, str]:
    from stackgen.runtime.compose_hash import compose_hashes

    return compose_hashes(project.config_file, project.name)


def _with_adoption(
    project: ProjectDefinition,
    out_dir: Path,
    observed: list[ObservedContainer],
    desired: list[DesiredService],
) -> tuple[list[ObservedContainer], list[DesiredService], dict[str, str] | None]:
    """Observed containers with the hashes recorded when they were adopted; and, where some container
    is still not stackgen's, the desired services with Compose v2's hashes (asked only then).

    Returns the Compose hashes too when they were asked (None otherwise), so they are asked once."""
    recorded = read_adopted(out_dir, project.name)
    observed = [
        replace(container, config_hash=recorded[container.id])
        if container.config_hash is None and container.id in recorded
        else container
        for container in observed
    ]
    if not any(container.config_hash is None and container.compose_hash for container in observed):
        return observed, desired, None
    hashes = _compose_hashes(project)
    return observed, [replace(service, compose_hash=hashes.get(service.name)) for service in desired], hashes


def _adoption_record(decided: Plan, unlabelled: set[str], desired: list[DesiredService]) -> dict[str, str]:
    """container ID -> definition hash of the adopted containers that are still in use after `decided`."""
    hashes = {service.name: service.config_hash for service in desired}
    kept = (ActionKind.NOOP, ActionKind.RELOAD, ActionKind.START)
    return {
        action.container_ids[0]: hashes[action.service]
        for action in decided.of_kind(*kept)
        if action.container_ids and action.container_ids[0] in unlabelled and action.service in hashes
    }
