"""apply and plan for a swarm stack: the one-host planner's records, a swarm's actions.

The plan is the same function as on one host (runtime/plan.py), fed with swarm services as the
observed units. Acting on it:
1. pin every replicated service to its node (node labels; placement.py decides),
2. when a service is to be created, changed or removed: `docker stack deploy --prune` of the stack
   file with each service's definition hash as a label, then wait until every changed service has
   rolled out (Swarm rolls a failed update back itself: failure_action rollback),
3. hot-reload what only changed in config (POST /-/reload through the task's host-mode port on its
   node, confirmed as on one host),
4. remove the stack's swarm configs that the new file no longer names (old content-hash versions).
A failure puts the previous files back, redeploys the previous stack file if one was deployed, and
reloads what had been reloaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.output import RenderedFile, contents, diff_output
from stackgen.render.swarm import DOCKER_GID_VARIABLE
from stackgen.rendered import swarm_document
from stackgen.runtime.apply import ApplyReport, ApplyRun, PlanReport
from stackgen.runtime.health import confirm_reload, prometheus_jobs
from stackgen.runtime.plan import (
    ActionKind,
    ConvergeResult,
    DesiredService,
    Plan,
    changed_files,
    file_hashes,
    plan,
)
from stackgen.runtime.progress import Reporter
from stackgen.runtime.reload import reload_service
from stackgen.runtime.roles import GRAFANA_ADMIN_PASSWORD_FILE, role_runtime
from stackgen.runtime.rollback import RollbackConverger, restore_previous_output
from stackgen.runtime.state import read_applied, write_applied
from stackgen.runtime.swarm.cluster import SwarmCluster
from stackgen.runtime.swarm.placement import assign_pins
from stackgen.runtime.swarm.stack_file import (
    SwarmStackDefinition,
    config_file_of,
    desired_services,
    parse_stack,
    with_hash_labels,
)
from stackgen.runtime.web_access import PLAIN, WebAccess, web_access_from_files
from stackgen.spec.load import read_yaml_data

# The stack file as deployed (with the definition hashes); a dot-file: no service reads it.
DEPLOYED_FILE = ".stackgen-deployed-stack.yml"
_POLL_S = 0.5


def _decide(
    cluster: SwarmCluster, stack: SwarmStackDefinition, files: Mapping[str, RenderedFile], out_dir: Path
) -> tuple[list[DesiredService], Plan, dict[str, str]]:
    hashes = file_hashes(contents(files))
    image_ids = {service.image: cluster.image_id(service.image) for service in stack.services}
    desired = desired_services(stack, hashes, image_ids)
    observed = cluster.services(stack.project)
    decided = plan(desired, observed, changed_files(hashes, read_applied(out_dir, stack.project)))
    return desired, decided, hashes


def plan_files(
    files: Mapping[str, RenderedFile],
    out_dir: Path,
    project_name: str | None = None,
    cluster: SwarmCluster | None = None,
) -> PlanReport:
    """What apply would do to the swarm stack; changes nothing."""
    cluster = cluster or SwarmCluster.connect()
    stack = parse_stack(swarm_document(files), project_name)
    _, decided, _ = _decide(cluster, stack, files, out_dir)
    missing = tuple(sorted({s.image for s in stack.services if cluster.image_id(s.image) is None}))
    return PlanReport(stack.project, diff_output(files, out_dir), decided, missing)


def apply_stack(run: ApplyRun, cluster: SwarmCluster | None = None) -> ApplyReport:
    """Write the rendered files and converge the swarm stack to them; roll back on failure."""
    cluster = cluster or SwarmCluster.connect()
    document = dict(swarm_document(run.files))
    stack = parse_stack(document, run.project_name)
    for service in stack.services:
        if service.build_base:  # built on the node apply talks to; placement pins it there
            from stackgen.relay.image import ensure_relay_image

            run.reporter.phase(f"building {service.image} if needed")
            ensure_relay_image(cluster.client, service.image, service.build_base, run.options.pull.value)
    written = run.write()
    applied = read_applied(run.out_dir, stack.project)
    desired, decided, hashes = _decide(cluster, stack, run.files, run.out_dir)
    restore = restore_previous_output(run.out_dir, written, applied)
    converger = SwarmConverger(
        cluster,
        stack,
        document,
        desired,
        run.files,
        run.out_dir,
        run.reporter,
        restore,
        run.options.health_timeout_s,
    )
    result = converger.run(decided)
    write_applied(run.out_dir, stack.project, hashes)
    return run.report(stack.project, written, decided, result)


class SwarmConverger(RollbackConverger):
    """Runs one plan on a swarm."""

    def __init__(
        self,
        cluster: SwarmCluster,
        stack: SwarmStackDefinition,
        document: Mapping[str, Any],
        desired: list[DesiredService],
        files: Mapping[str, RenderedFile],
        out_dir: Path,
        reporter: Reporter,
        restore_files: Callable[[], None],
        timeout_s: float,
    ) -> None:
        super().__init__(reporter, restore_files)
        self.cluster = cluster
        self.stack = stack
        self.document = document
        self.desired = desired
        self.files = files
        self.out_dir = out_dir
        self.timeout_s = timeout_s
        # https, the internal user and the stack CA when web auth is on (else plain HTTP)
        self.access = web_access_from_files(contents(files))
        self._previous_deployed: bytes | None = None
        self._deployed = False
        self._reloaded: list[str] = []

    def run(self, plan: Plan) -> ConvergeResult:
        """Pin the services to their nodes (also when the plan changes nothing), then run the plan."""
        self._pin()
        return super().run(plan)

    def _pin(self) -> None:
        pins = assign_pins(
            self.stack.services,
            self.cluster.nodes(),
            self.cluster.node_id,
            self.stack.shared_output,
            self.stack.max_replicas_per_node,
        )
        moved = self.cluster.set_pins(self.stack.project, pins)
        if moved:
            self.reporter.phase(f"pinned {len(moved)} service label(s) to nodes")

    def _converge(self, decided: Plan) -> None:
        rolled = decided.of_kind(ActionKind.CREATE, ActionKind.RECREATE, ActionKind.START, ActionKind.REMOVE)
        if rolled:
            self.reporter.phase("deploying the stack (docker stack deploy)")
            self._deploy(self._deploy_document())
            waiting = [a.service for a in rolled if a.kind is not ActionKind.REMOVE]
            self._wait_rolled_out(waiting)
            for action in rolled:
                verb = {ActionKind.CREATE: "created", ActionKind.REMOVE: "removed"}.get(
                    action.kind, "updated"
                )
                self.reporter.service(action.service, verb)
                self.result.done[action.kind].append(action.service)
        reloads = decided.of_kind(ActionKind.RELOAD)
        if reloads:
            self.reporter.phase("reloading changed config")
        for action in reloads:
            self._reload(action.service, confirm=True)
            self._reloaded.append(action.service)
            self.reporter.service(action.service, "reloaded")
            self.result.done[ActionKind.RELOAD].append(action.service)
        if rolled:
            self._prune_configs()

    # --- deploy -------------------------------------------------------------------------------
    def _deploy_document(self) -> dict[str, Any]:
        return with_hash_labels(self.document, self.desired)

    def _deploy(self, document: Mapping[str, Any]) -> None:
        from stackgen.render.dump import yaml_bytes

        path = self.out_dir / DEPLOYED_FILE
        if not self._deployed:
            self._previous_deployed = path.read_bytes() if path.is_file() else None
        path.write_bytes(yaml_bytes(dict(document)))
        self._deployed = True
        environment = {}
        gid = self.cluster.docker_socket_gid()
        if gid is not None:
            environment[DOCKER_GID_VARIABLE] = str(gid)
        self.cluster.stack_deploy(path, self.stack.project, environment)

    def _wait_rolled_out(self, services: list[str]) -> None:
        """Until every task of these services that should run does, on the new definition."""
        deadline = time.monotonic() + self.timeout_s
        hashes = {s.name: s.config_hash for s in self.desired}
        pending: list[str] = list(services)
        last_errors: dict[str, str] = {}
        while pending:
            observed = {o.service: o for o in self.cluster.services(self.stack.project)}
            tasks = self.cluster.tasks(self.stack.project)
            still = []
            for name in pending:
                service = observed.get(name)
                if service is None or service.config_hash != hashes.get(name):
                    still.append(name)
                    continue
                status = self.cluster.update_status(service.id)
                if status.state in ("rollback_completed", "rollback_paused", "paused"):
                    raise RuntimeFailure(
                        f"{name}: the new definition did not start ({status.message}); Swarm rolled it back"
                    )
                current = [t for t in tasks if t.service == name and t.desired_state == "running"]
                errors = [t.error for t in tasks if t.service == name and t.error]
                if errors:
                    last_errors[name] = errors[-1]
                if (
                    status.state in (None, "completed")
                    and current
                    and all(t.state == "running" for t in current)
                ):
                    continue
                still.append(name)
            pending = still
            if pending and time.monotonic() > deadline:
                details = "; ".join(f"{n}: {last_errors[n]}" for n in pending if n in last_errors)
                raise RuntimeFailure(
                    f"not running after {self.timeout_s:.0f} s: {', '.join(pending)}"
                    + (f" ({details})" if details else "")
                )
            if pending:
                time.sleep(_POLL_S)

    def _prune_configs(self) -> None:
        wanted = {f"{self.stack.project}_{name}" for name in self.stack.configs}
        for name, config_id in sorted(self.cluster.configs(self.stack.project).items()):
            if name not in wanted and self.cluster.remove_config(config_id):
                self.reporter.service(name, "removed the old config version")

    # --- reload -------------------------------------------------------------------------------
    def _reload(self, name: str, confirm: bool) -> None:
        service = self.stack.service(name)
        auth = None
        if role_runtime(service.role).admin_auth:  # Grafana's provisioning API: its admin user
            password = self.files.get(GRAFANA_ADMIN_PASSWORD_FILE)
            auth = (
                service.environment.get("GF_SECURITY_ADMIN_USER", "admin"),
                password.content.decode().strip() if password else "",
            )
        for base_url in task_urls(self.cluster, self.stack, name, self.access):
            reload_service(name, service.role, base_url, auth, self.access)
            if confirm:
                config = config_file_of(service)
                content = self.files.get(config) if config else None
                expected = prometheus_jobs(content.content.decode()) if content is not None else None
                confirm_reload(name, service.role, base_url, expected, self.access)

    # --- backward -----------------------------------------------------------------------------
    def _restore_running(self) -> None:
        """Redeploy the previous stack file and reload the previous config; failures are only reported."""
        if self._deployed and self._previous_deployed is not None:
            try:
                previous = read_yaml_data(self._previous_deployed.decode(), DEPLOYED_FILE) or {}
                self._deploy(previous)
                self.reporter.phase("redeployed the previous stack file")
            except (RuntimeFailure, ValueError) as error:
                self.reporter.phase(f"could not redeploy the previous stack file: {error}")
        for name in self._reloaded:
            try:
                self._reload(name, confirm=False)
                self.reporter.service(name, "reloaded the previous config")
            except RuntimeFailure as error:
                self.reporter.service(name, f"could not reload the previous config: {error}")


def task_urls(
    cluster: SwarmCluster, stack: SwarmStackDefinition, name: str, access: WebAccess = PLAIN
) -> list[str]:
    """SCHEME://NODE:PORT of each running task of a service (its host-mode port on its node)."""
    service = stack.service(name)
    port = role_runtime(service.role).port
    published = service.published_port(port) if port else None
    if published is None:
        raise RuntimeFailure(f"{name}: no published port to reach it on (its role's port {port})")
    addresses = cluster.node_addresses()
    urls = [
        access.url(addresses[t.node_id], published)
        for t in cluster.tasks(stack.project)
        if t.service == name
        and t.desired_state == "running"
        and t.state == "running"
        and addresses.get(t.node_id)
    ]
    if not urls:
        raise RuntimeFailure(f"{name}: no running task to reload")
    return urls
