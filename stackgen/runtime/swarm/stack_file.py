"""Read the rendered docker-stack.yml as records: what apply plans and converges on a swarm.

Pure: takes the parsed file; never touches Docker or disk.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.runtime.plan import DesiredService
from stackgen.runtime.roles import role_runtime

ROLE_LABEL = "io.stackgen.role"
BUILD_BASE_LABEL = "io.stackgen.build-base"
CONFIG_HASH_LABEL = "io.stackgen.config-hash"
_PIN = re.compile(r"^node\.labels\.(?P<label>io\.stackgen\.\S+)\s*==\s*true$")


@dataclass(frozen=True)
class SwarmService:
    """One service of the stack file."""

    name: str
    role: str
    image: str
    is_global: bool
    constraints: tuple[str, ...]  # placement constraints other than the pin
    pin_label: str | None  # the node label pinning it (None: global)
    config_dirs: tuple[str, ...]  # output-dir directories bind-mounted into it ("" = the whole dir)
    ports: tuple[tuple[int, int], ...]  # (published, target), host mode
    command: tuple[str, ...]
    mounts: tuple[tuple[str, str], ...]  # (source, target) of the binds and volumes
    definition: str  # its stack-file section as canonical JSON
    build_base: str | None = None  # the base image of an image apply builds (the relay)
    environment: Mapping[str, str] = field(default_factory=dict)

    def published_port(self, target: int) -> int | None:
        """The host-mode port that reaches `target` in the task."""
        return next((published for published, inside in self.ports if inside == target), None)


@dataclass(frozen=True)
class SwarmStackDefinition:
    """The stack file: project name, services, and how placement may work."""

    project: str
    services: tuple[SwarmService, ...]
    shared_output: bool
    max_replicas_per_node: int
    configs: tuple[str, ...]  # swarm config names (without the stack prefix)

    def service(self, name: str) -> SwarmService:
        """The service called `name`."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def parse_stack(document: Mapping[str, Any], project_name: str | None = None) -> SwarmStackDefinition:
    """The records of a parsed docker-stack.yml."""
    extension = document.get("x-stackgen") or {}
    project = project_name or extension.get("project")
    if not project:
        raise RuntimeFailure("docker-stack.yml: no project name (`x-stackgen: {project: NAME}`)")
    services = tuple(
        _service(str(name), body) for name, body in sorted((document.get("services") or {}).items())
    )
    return SwarmStackDefinition(
        project=str(project),
        services=services,
        shared_output=bool(extension.get("shared_output", False)),
        max_replicas_per_node=int(extension.get("max_replicas_per_node", 1)),
        configs=tuple(sorted(document.get("configs") or {})),
    )


def _service(name: str, body: Mapping[str, Any]) -> SwarmService:
    deploy = body.get("deploy") or {}
    constraints = [str(c) for c in (deploy.get("placement") or {}).get("constraints") or ()]
    pins = [match.group("label") for c in constraints if (match := _PIN.match(c.strip()))]
    mounts = tuple(_mount(entry) for entry in body.get("volumes") or ())
    config_dirs = tuple(_relative(source) for source, _ in mounts if source.startswith("."))
    return SwarmService(
        name=name,
        role=str(
            (deploy.get("labels") or {}).get(ROLE_LABEL) or (body.get("labels") or {}).get(ROLE_LABEL) or name
        ),
        image=str(body.get("image", "")),
        is_global=deploy.get("mode") == "global",
        constraints=tuple(c for c in constraints if not _PIN.match(c.strip())),
        pin_label=pins[0] if pins else None,
        config_dirs=config_dirs,
        ports=tuple((int(p["published"]), int(p["target"])) for p in body.get("ports") or ()),
        command=tuple(str(part) for part in body.get("command") or ()),
        mounts=mounts,
        definition=json.dumps(body, sort_keys=True, separators=(",", ":"), default=str),
        build_base=(body.get("labels") or {}).get(BUILD_BASE_LABEL),
        environment={str(k): str(v) for k, v in (body.get("environment") or {}).items()}
        if isinstance(body.get("environment"), Mapping)
        else {},
    )


def _mount(entry: Any) -> tuple[str, str]:
    parts = str(entry).split(":")
    return parts[0], parts[1] if len(parts) > 1 else ""


def _relative(source: str) -> str:
    trimmed = source[2:] if source.startswith("./") else source.lstrip(".")
    return trimmed.strip("/")


def watched_files(service: SwarmService, paths: Iterable[str]) -> frozenset[str]:
    """The output-dir files bind-mounted into `service`, less those it watches itself (file_sd)."""
    runtime = role_runtime(service.role)
    prefixes = [f"{d}/" if d else "" for d in service.config_dirs]
    ignored = [
        f"{d}/{sub}/" if d else f"{sub}/" for d in service.config_dirs for sub in runtime.self_watched_dirs
    ]
    return frozenset(
        path
        for path in paths
        if not path.startswith(".")
        and "/." not in path
        and any(path.startswith(p) for p in prefixes)
        and not any(path.startswith(i) for i in ignored)
    )


def desired_services(
    stack: SwarmStackDefinition, hashes: Mapping[str, str], image_ids: Mapping[str, str | None]
) -> list[DesiredService]:
    """Each swarm service as apply wants it (the same records the one-host planner decides on)."""
    desired = []
    for service in stack.services:
        runtime = role_runtime(service.role)
        watched = watched_files(service, hashes)
        digest = hashlib.sha256(service.definition.encode())
        digest.update(f"\0{image_ids.get(service.image)}".encode())
        if not runtime.can_reload:
            # a role that cannot reload gets a new task when its mounted files change
            for path in sorted(watched):
                digest.update(f"\0{path}\0{hashes[path]}".encode())
        desired.append(
            DesiredService(
                name=service.name,
                role=service.role,
                image=service.image,
                config_hash=digest.hexdigest(),
                watched_files=watched if runtime.can_reload else frozenset(),
                can_reload=runtime.can_reload,
            )
        )
    return desired


def config_file_of(service: SwarmService) -> str | None:
    """The output-dir path of the file given to `--config.file=` (Prometheus's config)."""
    for argument in service.command:
        if not argument.startswith("--config.file="):
            continue
        inside = argument.split("=", 1)[1]
        for source, target in service.mounts:
            if source.startswith(".") and inside.startswith(target.rstrip("/") + "/"):
                directory = _relative(source)
                relative = inside[len(target.rstrip("/")) + 1 :]
                return f"{directory}/{relative}" if directory else relative
    return None


def with_hash_labels(document: Mapping[str, Any], desired: Iterable[DesiredService]) -> dict[str, Any]:
    """The stack file to deploy: each service labelled with its definition hash (what plan compares)."""
    hashes = {service.name: service.config_hash for service in desired}
    deployed = dict(document)
    services = {}
    for name, body in (document.get("services") or {}).items():
        body = dict(body)
        deploy = dict(body.get("deploy") or {})
        deploy["labels"] = {**(deploy.get("labels") or {}), CONFIG_HASH_LABEL: hashes[name]}
        body["deploy"] = deploy
        services[name] = body
    deployed["services"] = services
    return deployed
