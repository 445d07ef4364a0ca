"""Decide what apply must do: desired services + observed containers + changed files -> Plan.

Pure and engine-free, so every decision is unit-tested on plain records. The blind spot of
docker-compose (a changed bind-mounted file never reaches the container) is closed here: a changed
mounted file means RELOAD for roles that hot-reload and RECREATE (through the definition hash) for
the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from stackgen.runtime.compose_file import ProjectDefinition, ServiceDefinition, definition_hash
from stackgen.runtime.roles import GRAFANA_ADMIN_PASSWORD_FILE, role_runtime


class ActionKind(Enum):
    """What converge does to one service."""

    CREATE = "create"
    RECREATE = "recreate"
    START = "start"
    RELOAD = "reload"
    REMOVE = "remove"
    NOOP = "noop"


@dataclass(frozen=True)
class ObservedContainer:
    """A container of the project as the engine reports it."""

    id: str
    name: str
    service: str
    number: int
    state: str  # created | running | paused | restarting | exited | dead
    health: str | None  # starting | healthy | unhealthy | None (no healthcheck)
    config_hash: str | None  # io.stackgen.config-hash (or the adoption record); None: not stackgen's
    image: str = ""
    compose_hash: str | None = None  # com.docker.compose.config-hash
    image_id: str | None = None  # com.docker.compose.image: the image ID it was made from
    legacy_name: bool = False  # named as Compose 1.29 named containers (NAME_service_1)


@dataclass(frozen=True)
class DesiredService:
    """One service as apply wants it: its definition hash and the config files it reads."""

    name: str
    role: str
    image: str
    config_hash: str
    watched_files: frozenset[str] = frozenset()  # output-dir paths whose change needs a reload
    can_reload: bool = False
    image_id: str | None = None
    compose_hash: str | None = None  # Compose v2's hash, when it was asked (to adopt its containers)


@dataclass(frozen=True)
class ServiceAction:
    """One step of a plan: what to do to a service, and why."""

    service: str
    kind: ActionKind
    reasons: tuple[str, ...] = ()
    container_ids: tuple[str, ...] = ()  # observed containers this acts on
    changed_files: tuple[str, ...] = ()
    reset_admin_password: bool = False
    adopted: bool = False  # a container that Compose made from the same definition becomes apply's

    def to_data(self) -> dict[str, Any]:
        """The action as JSON-ready data (what `plan --json` prints)."""
        data: dict[str, Any] = {
            "service": self.service,
            "action": self.kind.value,
            "reasons": list(self.reasons),
        }
        if self.changed_files:
            data["changed_files"] = list(self.changed_files)
        if self.reset_admin_password:
            data["reset_admin_password"] = True
        if self.adopted:
            data["adopted"] = True
        return data


@dataclass(frozen=True)
class Plan:
    """Every service's action, in service-name order."""

    actions: tuple[ServiceAction, ...] = field(default_factory=tuple)

    def of_kind(self, *kinds: ActionKind) -> list[ServiceAction]:
        """The actions of the given kinds."""
        return [action for action in self.actions if action.kind in kinds]

    @property
    def adopted_containers(self) -> dict[str, str]:
        """container ID -> service, of the containers this plan adopts."""
        return {action.container_ids[0]: action.service for action in self.actions if action.adopted}

    @property
    def changes_anything(self) -> bool:
        """True when converge would touch a container or reload a service."""
        return any(
            action.kind is not ActionKind.NOOP or action.reset_admin_password for action in self.actions
        )

    def to_data(self) -> list[dict[str, Any]]:
        """The plan as JSON-ready data."""
        return [action.to_data() for action in self.actions]


@dataclass
class ConvergeResult:
    """Which services each kind of action touched, in the order it happened (converge fills it)."""

    done: dict[ActionKind, list[str]] = field(default_factory=lambda: {kind: [] for kind in ActionKind})
    password_reset: list[str] = field(default_factory=list)

    @classmethod
    def unchanged(cls, decided: Plan) -> ConvergeResult:
        """The result of a plan that changes nothing: every service unchanged."""
        result = cls()
        result.done[ActionKind.NOOP].extend(action.service for action in decided.of_kind(ActionKind.NOOP))
        return result

    def summary(self) -> dict[str, list[str]]:
        """Service names per action (JSON-ready)."""
        return {kind.value: sorted(set(names)) for kind, names in self.done.items()}


def file_hashes(files: Mapping[str, bytes]) -> dict[str, str]:
    """sha256 of each file's content, keyed by its output-dir path."""
    return {path: hashlib.sha256(content).hexdigest() for path, content in files.items()}


def changed_files(current: Mapping[str, str], applied: Mapping[str, str] | None) -> frozenset[str]:
    """Paths whose content differs from what was last applied (None: nothing known, all changed)."""
    if applied is None:
        return frozenset(current)
    return frozenset(path for path in set(current) | set(applied) if current.get(path) != applied.get(path))


def watched_files(service: ServiceDefinition, paths: Iterable[str]) -> frozenset[str]:
    """The output-dir files mounted into `service`, less the ones it watches by itself."""
    runtime = role_runtime(service.role)
    prefixes: list[str] = []
    ignored: list[str] = []
    for directory in service.config_dirs:
        prefixes.append(f"{directory}/" if directory else "")
        ignored.extend(f"{directory}/{sub}/" if directory else f"{sub}/" for sub in runtime.self_watched_dirs)
    selected = set()
    for path in paths:
        if path.startswith(".") or "/." in path:
            continue  # stackgen's own bookkeeping (manifest, applied state), never read by a service
        if (
            any(path.startswith(prefix) for prefix in prefixes)
            and not any(path.startswith(i) for i in ignored)
            and not _secret_named(runtime.self_read_secrets, path)
        ):
            selected.add(path)
    return frozenset(selected)


def _secret_named(patterns: tuple[str, ...], path: str) -> bool:
    """A secret file (under secrets/) whose name matches one of the patterns."""
    from fnmatch import fnmatchcase

    name = path.rsplit("/", 1)[-1]
    return path.startswith("secrets/") and any(fnmatchcase(name, pattern) for pattern in patterns)


def desired_services(
    project: ProjectDefinition, hashes: Mapping[str, str], image_ids: Mapping[str, str | None]
) -> list[DesiredService]:
    """What each compose service should be, given the rendered files' hashes and local image IDs."""
    desired = []
    for service in project.services:
        runtime = role_runtime(service.role)
        watched = watched_files(service, hashes)
        files_hash = ""
        if not runtime.can_reload:
            # a role that cannot reload is recreated when its files change: fold them into the hash
            files_hash = _combined_hash((path, hashes[path]) for path in sorted(watched))
        elif runtime.start_only_secrets:
            start_only = [path for path in sorted(watched) if _secret_named(runtime.start_only_secrets, path)]
            if start_only:
                files_hash = _combined_hash((path, hashes[path]) for path in start_only)
        desired.append(
            DesiredService(
                name=service.name,
                role=service.role,
                image=service.image,
                config_hash=definition_hash(service, image_ids.get(service.image), files_hash),
                watched_files=watched if runtime.can_reload else frozenset(),
                can_reload=runtime.can_reload,
                image_id=image_ids.get(service.image),
            )
        )
    return desired


def plan(
    desired: Sequence[DesiredService], observed: Sequence[ObservedContainer], changed: frozenset[str]
) -> Plan:
    """Compare desired services with running containers and the files changed since the last apply."""
    by_service: dict[str, list[ObservedContainer]] = {}
    for container in observed:
        by_service.setdefault(container.service, []).append(container)
    actions: list[ServiceAction] = []
    for service in sorted(desired, key=lambda item: item.name):
        containers = by_service.pop(service.name, [])
        actions.extend(_plan_service(service, containers, changed))
    for service_name, containers in sorted(by_service.items()):
        actions.append(
            ServiceAction(
                service_name,
                ActionKind.REMOVE,
                ("no longer in the stack",),
                tuple(container.id for container in sorted(containers, key=lambda c: c.number)),
            )
        )
    return Plan(tuple(actions))


def _plan_service(
    service: DesiredService, containers: list[ObservedContainer], changed: frozenset[str]
) -> list[ServiceAction]:
    reset_password = service.role == "grafana" and GRAFANA_ADMIN_PASSWORD_FILE in changed
    if not containers:
        return [
            ServiceAction(
                service.name, ActionKind.CREATE, ("not running",), reset_admin_password=reset_password
            )
        ]
    # keep the container that already matches (else the lowest number); extra copies go
    containers = sorted(containers, key=lambda c: (c.config_hash != service.config_hash, c.number))
    primary, extras = containers[0], containers[1:]
    actions = []
    if extras:
        actions.append(
            ServiceAction(service.name, ActionKind.REMOVE, ("extra container",), tuple(c.id for c in extras))
        )
    main = _primary_action(service, primary, changed)
    if reset_password:
        main = replace(main, reasons=(*main.reasons, "admin password changed"), reset_admin_password=True)
    return [main, *actions]


def adoptable(service: DesiredService, container: ObservedContainer) -> bool:
    """True when Compose v2 made `container` from the very definition apply wants (same hash, image)."""
    return (
        container.config_hash is None
        and not container.legacy_name
        and service.compose_hash is not None
        and container.compose_hash == service.compose_hash
        and service.image_id is not None
        and container.image_id == service.image_id
    )


def _primary_action(
    service: DesiredService, container: ObservedContainer, changed: frozenset[str]
) -> ServiceAction:
    ids = (container.id,)
    if adoptable(service, container):
        action = _primary_action(service, replace(container, config_hash=service.config_hash), changed)
        return replace(action, reasons=("adopted from Compose", *action.reasons), adopted=True)
    if container.config_hash is None:
        return ServiceAction(
            service.name, ActionKind.RECREATE, ("adopting a container stackgen did not create",), ids
        )
    if container.legacy_name:
        return ServiceAction(
            service.name, ActionKind.RECREATE, ("renaming to Compose v2's name (volumes are kept)",), ids
        )
    if container.config_hash != service.config_hash:
        if container.image and container.image != service.image:
            reason = f"image {container.image} -> {service.image}"
        else:
            reason = "definition changed"
        return ServiceAction(service.name, ActionKind.RECREATE, (reason,), ids)
    if container.state == "dead":
        return ServiceAction(service.name, ActionKind.RECREATE, ("container is dead",), ids)
    if container.state not in ("running", "restarting"):
        # a (re)started process reads its config afresh: no reload needed
        return ServiceAction(service.name, ActionKind.START, (f"container is {container.state}",), ids)
    files = tuple(sorted(service.watched_files & changed))
    if files and service.can_reload:
        noun = "file" if len(files) == 1 else "files"
        return ServiceAction(
            service.name, ActionKind.RELOAD, (f"{len(files)} config {noun} changed",), ids, files
        )
    return ServiceAction(service.name, ActionKind.NOOP, (), ids)


def _combined_hash(items: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for path, content_hash in items:
        digest.update(f"{path}\0{content_hash}\n".encode())
    return digest.hexdigest()
