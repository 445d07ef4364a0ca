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

from stackgen.output import RenderedFile, WriteResult, contents, diff_output, write_output
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
from stackgen.runtime.rollback import restore_previous_output
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


@dataclass(frozen=True)
class ApplyRun:
    """One apply as every engine begins and ends it: the files, where they go, how, and since when."""

    files: Mapping[str, RenderedFile]
    out_dir: Path
    project_name: str | None = None
    reporter: Reporter = field(default_factory=SilentReporter)
    options: ApplyOptions = field(default_factory=ApplyOptions)
    check: Callable[[Mapping[str, RenderedFile]], object] | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def contents(self) -> dict[str, bytes]:
        """The rendered files' bytes by relative path."""
        return contents(self.files)

    def write(self) -> WriteResult:
        """Check the files, then write them: the check runs before anything is written (the CLI's
        check skips bytes it already accepted)."""
        if self.check is not None:
            self.check(self.files)
        return write_output(self.files, self.out_dir)

    def report(
        self, project: str, written: WriteResult, decided: Plan, result: ConvergeResult
    ) -> ApplyReport:
        """What this apply did, timed from its start."""
        return ApplyReport(project, written, decided, result, time.monotonic() - self.started)


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
    hashes = file_hashes(contents(files))
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
    run = ApplyRun(
        files, out_dir, project_name, reporter or SilentReporter(), options or ApplyOptions(), check
    )
    if SWARM_STACK_FILE in files:  # the seam: a swarm stack goes to the swarm engine
        from stackgen.runtime.swarm.converge import apply_stack

        return apply_stack(run)
    return _apply_on_host(run, engine or Engine.connect())


def _apply_on_host(run: ApplyRun, engine: Engine) -> ApplyReport:
    """apply with the one-host engine: images, write, plan, converge, record the applied state."""
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
