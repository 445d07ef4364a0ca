"""The StackEngine of a Docker Swarm (runtime/engines.py): converge.py plans and deploys, observe.py
answers status and down, the tasks' logs come through the cluster; connects on first use."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from stackgen.output import RenderedFile
from stackgen.runtime.swarm.cluster import SwarmCluster

if TYPE_CHECKING:
    from stackgen.runtime.apply import ApplyReport, ApplyRun, PlanReport
    from stackgen.runtime.down import DownReport
    from stackgen.runtime.logs import LogLine
    from stackgen.runtime.plan import ObservedContainer
    from stackgen.runtime.progress import Reporter
    from stackgen.runtime.status import StackStatus


class SwarmEngine:
    """plan, apply, down, status and logs of a rendered docker-stack.yml."""

    def __init__(self, cluster: SwarmCluster | None = None) -> None:
        self._cluster = cluster

    @property
    def cluster(self) -> SwarmCluster:
        if self._cluster is None:
            self._cluster = SwarmCluster.connect()
        return self._cluster

    def plan(self, files: Mapping[str, RenderedFile], out_dir: Path, project_name: str | None) -> PlanReport:
        from stackgen.runtime.swarm.converge import plan_files

        return plan_files(files, out_dir, project_name, self.cluster)

    def apply(self, run: ApplyRun) -> ApplyReport:
        from stackgen.runtime.swarm.converge import apply_stack

        return apply_stack(run, self.cluster)

    def down(self, project: str, *, volumes: bool, reporter: Reporter) -> DownReport:
        from stackgen.runtime.swarm.observe import take_down

        return take_down(self.cluster, project, volumes=volumes, reporter=reporter)

    def status(self, out_dir: Path, project: str) -> StackStatus:
        from stackgen.rendered import read_swarm_document
        from stackgen.runtime.swarm.observe import collect_status
        from stackgen.runtime.swarm.stack_file import parse_stack
        from stackgen.runtime.web_access import read_web_access

        stack = parse_stack(read_swarm_document(out_dir), project)
        return collect_status(self.cluster, project, stack, read_web_access(out_dir))

    def logs(
        self, project: str, services: Sequence[str], tail: int | None, follow: bool, since: int | None
    ) -> tuple[Sequence[ObservedContainer], Iterator[LogLine]]:
        from stackgen.runtime.logs import read_logs, select_containers

        chosen = select_containers(self.cluster.services(project), services)
        return chosen, read_logs(cast(Any, self.cluster), chosen, tail, follow, since)
