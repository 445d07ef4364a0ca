"""apply and plan over rendered files: the runtime's public entry points.

apply: images first (a failed pull changes nothing), then write the files, plan from the applied-state
record, converge, and record the new state only when everything succeeded. plan: the same decisions
with no side effects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stackgen.output import RenderedFile, WriteResult, diff_output, restore_output, write_output
from stackgen.rendered import from_files
from stackgen.runtime.compose_file import ProjectDefinition
from stackgen.runtime.engine import Engine
from stackgen.runtime.images import PullPolicy, ensure_images, local_image_ids
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
from stackgen.runtime.progress import Reporter, SilentReporter
from stackgen.runtime.state import read_adopted, read_applied, write_applied

SWARM_STACK_FILE = "docker-stack.yml"  # deploy.engine: swarm (runtime/swarm/)


@dataclass(frozen=True)
class ApplyOptions:
    """How apply behaves (the command's flags)."""

    pull: PullPolicy = PullPolicy.MISSING
    health_timeout_s: float = 120.0


def _files_data(files: WriteResult) -> dict[str, list[str]]:
    return {"created": files.created, "changed": files.changed, "removed": files.removed}


@dataclass(frozen=True)
class PlanReport:
    """What apply would do: file changes, container actions, images it would pull."""

    project: str
    files: WriteResult
    plan: Plan
    missing_images: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """JSON-ready data; the human output is printed from the same."""
        return {
            "project": self.project,
            "files": _files_data(self.files),
            "services": self.plan.to_data(),
            "pull": list(self.missing_images),
        }


@dataclass(frozen=True)
class ApplyReport:
    """What apply did."""

    project: str
    files: WriteResult
    plan: Plan
    result: ConvergeResult = field(default_factory=ConvergeResult)
    seconds: float = 0.0

    def to_data(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "project": self.project,
            "files": _files_data(self.files),
            "services": self.result.summary(),
            "seconds": round(self.seconds, 3),
        }


def load_project(
    files: Mapping[str, RenderedFile], out_dir: Path, project_name: str | None
) -> ProjectDefinition:
    """The compose project described by the rendered docker-compose.yml (`project_name` overrides)."""
    return from_files(files, out_dir).project_as(project_name)


def plan_files(
    files: Mapping[str, RenderedFile],
    out_dir: Path,
    project_name: str | None = None,
    engine: Engine | None = None,
) -> PlanReport:
    """What apply would do with these rendered files; changes nothing."""
    if SWARM_STACK_FILE in files:  # the seam: a swarm stack goes to the swarm engine
        from stackgen.runtime.swarm.converge import plan_files as plan_swarm_files

        return plan_swarm_files(files, out_dir, project_name)
    engine = engine or Engine.connect()
    project = load_project(files, out_dir, project_name)
    image_ids = local_image_ids(engine, project)
    hashes = file_hashes({path: file.content for path, file in files.items()})
    desired = desired_services(project, hashes, image_ids)
    observed = engine.containers(project.name)
    observed, desired, _ = _with_adoption(project, out_dir, observed, desired)
    decided = plan(desired, observed, changed_files(hashes, read_applied(out_dir, project.name)))
    missing = tuple(image for image, image_id in image_ids.items() if image_id is None)
    return PlanReport(project.name, diff_output(files, out_dir), decided, missing)


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


def apply_files(
    files: Mapping[str, RenderedFile],
    out_dir: Path,
    project_name: str | None = None,
    *,
    reporter: Reporter | None = None,
    options: ApplyOptions | None = None,
    engine: Engine | None = None,
    check: Callable[[Mapping[str, RenderedFile]], object] | None = None,
) -> ApplyReport:
    """Write the rendered files and converge the running stack to them; roll back on failure."""
    if SWARM_STACK_FILE in files:  # the seam: a swarm stack goes to the swarm engine
        from stackgen.runtime.swarm.converge import apply_files as apply_swarm_files

        return apply_swarm_files(
            files, out_dir, project_name, reporter=reporter, options=options, check=check
        )
    started = time.monotonic()
    reporter = reporter or SilentReporter()
    options = options or ApplyOptions()
    engine = engine or Engine.connect()
    project = load_project(files, out_dir, project_name)
    image_ids = ensure_images(engine, project, options.pull, reporter)
    if check is not None:
        check(files)  # before anything is written (the CLI's check skips bytes it already accepted)
    written = write_output(files, out_dir)
    hashes = file_hashes({path: file.content for path, file in files.items()})
    desired = desired_services(project, hashes, image_ids)
    observed = engine.containers(project.name)
    unlabelled = {container.id for container in observed if container.config_hash is None}
    observed, desired, asked = _with_adoption(project, out_dir, observed, desired)
    applied = read_applied(out_dir, project.name)
    decided = plan(desired, observed, changed_files(hashes, applied))
    if decided.changes_anything:
        # imported only now: converge's health checks and reloads bring HTTP and TLS (~25 ms)
        from stackgen.runtime.converge import Converger

        # Without an applied state there is no last good config to return to: keep the new files
        # (and the containers) so that the failure can be looked at.
        restore = (
            (lambda: restore_output(out_dir, written.previous)) if applied is not None else (lambda: None)
        )
        converger = Converger(
            engine,
            project,
            desired,
            {path: file.content for path, file in files.items()},
            reporter,
            restore_files=restore,
            health_timeout_s=options.health_timeout_s,
            compose_hashes=(lambda: asked) if asked is not None else (lambda: _compose_hashes(project)),
        )
        result = converger.run(decided)
    else:
        result = ConvergeResult.unchanged(decided)
    write_applied(out_dir, project.name, hashes, _adoption_record(decided, unlabelled, desired))
    return ApplyReport(project.name, written, decided, result, time.monotonic() - started)
