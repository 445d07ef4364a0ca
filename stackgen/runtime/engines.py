"""The one seam in the runtime: which engine runs a rendered stack.

A render holding docker-stack.yml (deploy.engine: swarm) runs on a Docker Swarm (runtime/swarm/),
any other on one Docker host (runtime/host.py). plan and apply ask `engine_for_files` (the files not
written yet), down, status and logs `engine_for_output` (the rendered directory); both engines take
the same calls and return the same reports, so nothing above this module (api, the CLI) and nothing
before it (render, plan's decisions) tells one engine from the other. A third engine is a class with
these five methods and one line in each function below.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from stackgen.runtime.swarm import STACK_FILE, is_swarm_output

if TYPE_CHECKING:
    from stackgen.output import RenderedFile
    from stackgen.runtime.apply import ApplyReport, ApplyRun, PlanReport
    from stackgen.runtime.down import DownReport
    from stackgen.runtime.engine import Engine
    from stackgen.runtime.logs import LogLine
    from stackgen.runtime.plan import ObservedContainer
    from stackgen.runtime.progress import Reporter
    from stackgen.runtime.status import StackStatus


class StackEngine(Protocol):
    """What the pipeline asks of an engine; each connects on first use."""

    def plan(self, files: Mapping[str, RenderedFile], out_dir: Path, project_name: str | None) -> PlanReport:
        """What apply would do with these files; changes nothing."""
        ...

    def apply(self, run: ApplyRun) -> ApplyReport:
        """Write the files and converge the running stack to them; roll back on failure."""
        ...

    def down(self, project: str, *, volumes: bool, reporter: Reporter) -> DownReport:
        """Remove the project's containers or services, its network (and volumes if asked)."""
        ...

    def status(self, out_dir: Path, project: str) -> StackStatus:
        """What runs now, its health, Prometheus' targets and firing alerts."""
        ...

    def logs(
        self, project: str, services: Sequence[str], tail: int | None, follow: bool, since: int | None
    ) -> tuple[Sequence[ObservedContainer], Iterator[LogLine]]:
        """The chosen services' containers (all when none is named) and their lines."""
        ...


def engine_for_files(files: Mapping[str, RenderedFile], engine: Engine | None = None) -> StackEngine:
    """The engine that runs these rendered files (`engine`: the one-host connection to use)."""
    return _swarm() if STACK_FILE in files else _host(engine)


def engine_for_output(out_dir: Path, engine: Engine | None = None) -> StackEngine:
    """The engine that runs what is rendered in `out_dir`."""
    return _swarm() if is_swarm_output(out_dir) else _host(engine)


def _host(engine: Engine | None) -> StackEngine:
    from stackgen.runtime.host import HostEngine

    return HostEngine(engine)


def _swarm() -> StackEngine:
    from stackgen.runtime.swarm.engine import SwarmEngine

    return SwarmEngine()
