"""apply and plan over rendered files: the runtime's public entry points.

apply: images first (a failed pull changes nothing), then write the files, plan from the applied-state
record, converge, and record the new state only when everything succeeded. plan: the same decisions
with no side effects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.output import RenderedFile, WriteResult, diff_output, restore_output, write_output
from stackgen.runtime.compose_file import ProjectDefinition, parse_project
from stackgen.runtime.converge import Converger, ConvergeResult
from stackgen.runtime.engine import Engine
from stackgen.runtime.images import PullPolicy, ensure_images, local_image_ids
from stackgen.runtime.plan import Plan, changed_files, desired_services, file_hashes, plan
from stackgen.runtime.progress import Reporter, SilentReporter
from stackgen.runtime.state import read_applied, write_applied
from stackgen.spec.load import read_yaml_data

COMPOSE_FILE = "docker-compose.yml"
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
    """The compose project described by the rendered docker-compose.yml."""
    if COMPOSE_FILE not in files:
        raise RuntimeFailure(f"nothing to apply: the rendered files have no {COMPOSE_FILE}")
    try:
        # libyaml by YAML 1.2 rules (as ruamel reads it); ruamel's pure-Python parser took ~20 ms here
        compose = read_yaml_data(files[COMPOSE_FILE].content.decode("utf-8"), COMPOSE_FILE) or {}
    except ValueError as error:
        raise RuntimeFailure(f"the rendered {COMPOSE_FILE} is not readable YAML: {error}") from error
    return parse_project(compose, out_dir / COMPOSE_FILE, project_name)


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
    decided = plan(desired, observed, changed_files(hashes, read_applied(out_dir, project.name)))
    missing = tuple(image for image, image_id in image_ids.items() if image_id is None)
    return PlanReport(project.name, diff_output(files, out_dir), decided, missing)


def _compose_hashes(project: ProjectDefinition) -> dict[str, str]:
    from stackgen.runtime.compose_hash import compose_hashes

    return compose_hashes(project.config_file, project.name)


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

        return apply_swarm_files(files, out_dir, project_name, reporter=reporter, options=options, check=check)
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
    applied = read_applied(out_dir, project.name)
    decided = plan(desired, observed, changed_files(hashes, applied))
    # Without an applied state there is no last good config to return to: keep the new files (and
    # the containers) so that the failure can be looked at.
    restore = (lambda: restore_output(out_dir, written.previous)) if applied is not None else (lambda: None)
    converger = Converger(
        engine,
        project,
        desired,
        {path: file.content for path, file in files.items()},
        reporter,
        restore_files=restore,
        health_timeout_s=options.health_timeout_s,
        compose_hashes=lambda: _compose_hashes(project),
    )
    result = converger.run(decided)
    write_applied(out_dir, project.name, hashes)
    return ApplyReport(project.name, written, decided, result, time.monotonic() - started)
