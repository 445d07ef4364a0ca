"""apply and plan over rendered files: the runtime's public entry points, and the records every engine
begins and ends with (ApplyRun, PlanReport, ApplyReport).

apply: images first (a failed pull changes nothing), then write the files, plan from the applied-state
record, converge, and record the new state only when everything succeeded. plan: the same decisions
with no side effects. Which engine does it (one host, a swarm) is runtime/engines.py's choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.output import RenderedFile, WriteResult, contents, write_output
from stackgen.runtime.engine import Engine
from stackgen.runtime.engines import engine_for_files
from stackgen.runtime.images import PullPolicy
from stackgen.runtime.plan import ConvergeResult, Plan
from stackgen.runtime.progress import Reporter, SilentReporter


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


def plan_files(
    files: Mapping[str, RenderedFile],
    out_dir: Path,
    project_name: str | None = None,
    engine: Engine | None = None,
) -> PlanReport:
    """What apply would do with these rendered files; changes nothing."""
    return engine_for_files(files, engine).plan(files, out_dir, project_name)


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
    return engine_for_files(files, engine).apply(run)
