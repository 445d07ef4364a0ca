"""Execute a Plan against the engine, and roll back to the last good config when something fails.

Order: remove what left the stack, then create/recreate/start in dependency waves (each wave in
parallel; a dependency is healthy before its dependents start), wait for health, then hot-reload. A
recreated service's old container is only stopped and renamed aside until its successor is healthy,
so a rollback restarts the very same container.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.parallel import map_all
from stackgen.runtime.compose_file import ProjectDefinition, ServiceDefinition, dependency_waves
from stackgen.runtime.engine import Engine, container_name
from stackgen.runtime.health import Started, confirm_reload, prometheus_jobs, wait_healthy
from stackgen.runtime.plan import ActionKind, DesiredService, Plan, ServiceAction
from stackgen.runtime.plan import ConvergeResult as ConvergeResult  # re-exported: it lived here
from stackgen.runtime.progress import Reporter
from stackgen.runtime.reload import reload_service
from stackgen.runtime.roles import GRAFANA_ADMIN_PASSWORD_FILE, role_runtime
from stackgen.runtime.rollback import RollbackConverger
from stackgen.runtime.web_access import web_access_from_files

_WORKERS = 8


@dataclass(frozen=True)
class _Recreated:
    service: str
    old_id: str
    old_name: str
    new_id: str | None


class Converger(RollbackConverger):
    """Runs one plan on one host; `restore_files` puts the previous generated files back for a rollback."""

    def __init__(
        self,
        engine: Engine,
        project: ProjectDefinition,
        desired: Sequence[DesiredService],
        files: Mapping[str, bytes],
        reporter: Reporter,
        restore_files: Callable[[], None],
        health_timeout_s: float = 120.0,
        compose_hashes: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__(reporter, restore_files)
        self.engine = engine
        self.project = project
        self.hashes = {service.name: service.config_hash for service in desired}
        self.image_ids = {service.name: service.image_id for service in desired}
        self.files = files
        self.access = web_access_from_files(files)  # https, the internal user, the stack CA (or plain)
        self.health_timeout_s = health_timeout_s
        self._compose_hashes_source = compose_hashes or dict
        self._compose_hashes: Mapping[str, str] | None = None  # asked once, when a container is made
        self._compose_lock = threading.Lock()  # containers of a wave are made in parallel
        self._recreated: dict[str, _Recreated] = {}  # by service; workers write distinct keys
        self._reloaded: list[ServiceAction] = []

    # --- forward ------------------------------------------------------------------------------
    def _converge(self, plan: Plan) -> None:
        container_actions = plan.of_kind(ActionKind.CREATE, ActionKind.RECREATE, ActionKind.START)
        if container_actions:
            self.engine.ensure_network(self.project)
            self.engine.ensure_volumes(self.project)
        removals = plan.of_kind(ActionKind.REMOVE)
        if removals:
            self.reporter.phase("removing containers that left the stack")
            self._parallel(self._remove, removals)
        started: list[Started] = []
        if container_actions:
            self.reporter.phase("starting containers")
            by_service = {action.service: action for action in container_actions}
            for wave in dependency_waves(self.project.services):
                todo = [by_service[service.name] for service in wave if service.name in by_service]
                now_started = self._parallel(self._bring_up, todo)
                # A dependency started now is healthy before what depends on it starts (Prometheus
                # sends its first alerts to an Alertmanager that listens).
                awaited = self._awaited_by(now_started, by_service)
                if awaited:
                    wait_healthy(self.engine, awaited, self.health_timeout_s, self.reporter)
                started.extend(item for item in now_started if item not in awaited)
        if started:
            self.reporter.phase("waiting for health")
            wait_healthy(self.engine, started, self.health_timeout_s, self.reporter)
        reloads = plan.of_kind(ActionKind.RELOAD)
        if reloads:
            self.reporter.phase("reloading changed config")
            self._reloaded = list(reloads)
            self._parallel(self._reload, reloads)
        for action in plan.actions:
            if action.reset_admin_password:
                self._reset_admin_password(action.service)
        for recreated in self._recreated.values():
            self.engine.remove(recreated.old_id)  # its successor is healthy: the old one can go

    def _awaited_by(self, started: Sequence[Started], starting: Mapping[str, ServiceAction]) -> list[Started]:
        """Those of `started` that a service still to be started in this run depends on."""
        needed = {dependency for name in starting for dependency in self.project.service(name).depends_on}
        return [item for item in started if item.service in needed]

    def _compose_hash(self, service: str) -> str | None:
        with self._compose_lock:
            if self._compose_hashes is None:
                self._compose_hashes = self._compose_hashes_source()
            return self._compose_hashes.get(service)

    def _remove(self, action: ServiceAction) -> None:
        for container_id in action.container_ids:
            self.engine.remove(container_id)
        self.reporter.service(action.service, "removed")
        self.result.done[ActionKind.REMOVE].append(action.service)

    def _bring_up(self, action: ServiceAction) -> Started:
        service = self.project.service(action.service)
        if action.kind is ActionKind.START:
            container_id = action.container_ids[0]
            if self.engine.state(container_id).status == "paused":
                self.engine.unpause(container_id)
            else:
                self.engine.start(container_id, service.name)
            self.reporter.service(service.name, "started")
        else:
            if action.kind is ActionKind.RECREATE:
                self._set_aside(service, action.container_ids[0])
            container_id = self._create_and_start(service)
            if action.kind is ActionKind.RECREATE:
                self._recreated[service.name] = replace(self._recreated[service.name], new_id=container_id)
            self.reporter.service(
                service.name, "created" if action.kind is ActionKind.CREATE else "recreated"
            )
        self.result.done[action.kind].append(service.name)
        return Started(service.name, container_id)

    def _set_aside(self, service: ServiceDefinition, old_id: str) -> None:
        """Stop the old container and rename it out of the way; it is removed once the new one is healthy."""
        name = self.engine.inspect(old_id)["Name"].lstrip("/")
        self.engine.stop(old_id, timeout=service.stop_grace_period_s)
        aside = f"{old_id[:12]}_{container_name(self.project.name, service.name)}"
        if name != aside:
            self.engine.rename(old_id, aside)
        self._recreated[service.name] = _Recreated(service.name, old_id, name, None)

    def _create_and_start(self, service: ServiceDefinition) -> str:
        compose_hash = self._compose_hash(service.name)
        container_id = self.engine.create_container(
            self.project,
            service,
            self.hashes[service.name],
            compose_hash=compose_hash,
            image_id=self.image_ids.get(service.name),
        )
        try:
            self.engine.start(container_id, service.name)
        except RuntimeFailure:
            self.engine.remove(container_id)  # a container that never ran would block the name
            raise
        return container_id

    def _reload(self, action: ServiceAction) -> None:
        service = self.project.service(action.service)
        base_url = self._base_url(service, action.container_ids[0])
        reload_service(service.name, service.role, base_url, self._auth(service), self.access)
        confirm_reload(service.name, service.role, base_url, self._expected_jobs(service), self.access)
        self.reporter.service(service.name, "reloaded")
        self.result.done[ActionKind.RELOAD].append(service.name)

    def _reset_admin_password(self, service_name: str) -> None:
        service = self.project.service(service_name)
        password = self.files.get(GRAFANA_ADMIN_PASSWORD_FILE, b"").decode().strip()
        if not password:
            return
        container_id = self._current_container(service_name)
        # Grafana reads GF_SECURITY_ADMIN_PASSWORD only when its database is created; later changes
        # must be pushed into the running instance.
        code, output = self.engine.exec(container_id, grafana_password_reset_command(password))
        if code != 0:
            raise RuntimeFailure(
                f"{service.name}: resetting the admin password failed: {output.strip()[-300:]}"
            )
        self.reporter.service(service.name, "admin password reset")
        self.result.password_reset.append(service.name)

    # --- backward -----------------------------------------------------------------------------
    def _restore_running(self) -> None:
        """Put back the previous containers and loaded config; failures here are only reported."""
        for recreated in self._recreated.values():
            try:
                if recreated.new_id:
                    self.engine.remove(recreated.new_id)
                self.engine.rename(recreated.old_id, recreated.old_name)
                self.engine.start(recreated.old_id, recreated.service)
                self.reporter.service(recreated.service, "restored the previous container")
            except RuntimeFailure as error:
                self.reporter.service(recreated.service, f"could not restore the previous container: {error}")
        for action in self._reloaded:
            try:
                service = self.project.service(action.service)
                base_url = self._base_url(service, action.container_ids[0])
                reload_service(service.name, service.role, base_url, self._auth(service), self.access)
                self.reporter.service(service.name, "reloaded the previous config")
            except RuntimeFailure as error:
                self.reporter.service(action.service, f"could not reload the previous config: {error}")

    # --- helpers ------------------------------------------------------------------------------
    def _parallel(self, work: Callable[[ServiceAction], Any], actions: Sequence[ServiceAction]) -> list[Any]:
        return map_all(work, actions, max_workers=_WORKERS)

    def _base_url(self, service: ServiceDefinition, container_id: str) -> str:
        port = role_runtime(service.role).port
        address = self.engine.http_address(container_id, port, self.project.network) if port else None
        if address is None:
            raise RuntimeFailure(
                f"{service.name}: no address to reach it on (no published port, no network IP)"
            )
        host, host_port = address
        return self.access.url(host, host_port)

    def _auth(self, service: ServiceDefinition) -> tuple[str, str] | None:
        if not role_runtime(service.role).admin_auth:
            return None
        user = dict(service.environment).get("GF_SECURITY_ADMIN_USER", "admin")
        password = self.files.get(GRAFANA_ADMIN_PASSWORD_FILE, b"").decode().strip()
        return (user, password)

    def _expected_jobs(self, service: ServiceDefinition) -> set[str] | None:
        path = prometheus_config_path(service)
        content = self.files.get(path) if path else None
        return prometheus_jobs(content.decode()) if content is not None else None

    def _current_container(self, service_name: str) -> str:
        for container in self.engine.containers(self.project.name):
            if container.service == service_name and container.state == "running":
                return container.id
        raise RuntimeFailure(f"{service_name}: no running container")


def grafana_password_reset_command(password: str) -> list[str]:
    """The command that sets Grafana's admin password inside its container."""
    return ["grafana", "cli", "admin", "reset-admin-password", password]


def prometheus_config_path(service: ServiceDefinition) -> str | None:
    """The output-dir path of the config file a Prometheus service reads (from --config.file)."""
    for argument in service.command or ():
        if argument.startswith("--config.file="):
            inside = argument.split("=", 1)[1]
            for mount in service.mounts:
                if mount.config_dir is not None and inside.startswith(mount.target.rstrip("/") + "/"):
                    relative = inside[len(mount.target.rstrip("/")) + 1 :]
                    return f"{mount.config_dir}/{relative}" if mount.config_dir else relative
    return None
