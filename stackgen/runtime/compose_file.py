"""Read the generated docker-compose.yml as data: one ServiceDefinition (container create args) per service.

Pure: takes the parsed compose mapping and the directory it lives in; never touches Docker or disk.
Only the compose features stackgen renders are accepted; anything else is refused loudly rather than
silently dropped, so a renderer change cannot produce a container that differs from the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.roles import ROLE_LABEL

# The layout of what definition_hash hashes. Changing it recreates every container a user runs, so it
# changes only with a stated reason (tests/unit/runtime/test_definition_hash.py pins the values).
DEFINITION_HASH_FORMAT = 2
BUILD_BASE_LABEL = "io.stackgen.build-base"
NETWORK_KEY = "default"

# Keys of a compose service that map onto container create args (or are knowingly ignored).
_SERVICE_KEYS = frozenset(
    {
        "image",
        "command",
        "entrypoint",
        "environment",
        "volumes",
        "ports",
        "healthcheck",
        "restart",
        "labels",
        "extra_hosts",
        "user",
        "group_add",
        "cap_add",
        "pid",
        "depends_on",
        "build",
        "privileged",
        "devices",
        "security_opt",
        "tmpfs",
        "working_dir",
        "hostname",
        "stop_grace_period",
        "networks",
        "read_only",
        "init",
        "ulimits",
        "container_name",
    }
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_NS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


@dataclass(frozen=True)
class PortBinding:
    """One published port: host address and port to container port."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class Healthcheck:
    """A container healthcheck with durations in nanoseconds, as the engine takes them."""

    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    retries: int = 0
    start_period_ns: int = 0


@dataclass(frozen=True)
class Mount:
    """A bind mount or named volume, as a Docker `Binds` entry plus where its files come from."""

    source: str  # absolute host path, or the full volume name
    target: str
    options: str  # "ro", "rw", "ro,rslave", ...
    is_volume: bool
    config_dir: str | None = None  # for binds inside the output dir: its relative path ("" = the dir)

    @property
    def bind(self) -> str:
        """The `Binds` entry the engine takes."""
        return f"{self.source}:{self.target}:{self.options}"


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything needed to create one service's container; frozen and hashable."""

    name: str
    role: str
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: tuple[tuple[str, str], ...] = ()
    mounts: tuple[Mount, ...] = ()
    ports: tuple[PortBinding, ...] = ()
    healthcheck: Healthcheck | None = None
    restart: str = "no"
    labels: tuple[tuple[str, str], ...] = ()
    extra_hosts: tuple[str, ...] = ()
    user: str | None = None
    group_add: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    pid: str | None = None
    privileged: bool = False
    devices: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    working_dir: str | None = None
    hostname: str | None = None
    read_only: bool = False
    init: bool | None = None
    stop_grace_period_s: int = 10
    depends_on: tuple[str, ...] = ()
    build_base: str | None = None
    # (service, condition) per dependency, for Compose's depends_on label; not part of the hash
    # (as in Compose: the order of starting does not make a different container)
    dependency_conditions: tuple[tuple[str, str], ...] = ()

    @property
    def config_dirs(self) -> tuple[str, ...]:
        """Directories of the output dir mounted into this service (relative, '' = the whole dir)."""
        return tuple(m.config_dir for m in self.mounts if m.config_dir is not None)


@dataclass(frozen=True)
class ProjectDefinition:
    """The compose project: its name, where its file lives, services, named volumes and network."""

    name: str
    working_dir: Path
    config_file: Path
    services: tuple[ServiceDefinition, ...]
    volumes: tuple[str, ...]  # full volume names
    network: str  # full network name

    def service(self, name: str) -> ServiceDefinition:
        """The service called `name`."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def parse_project(
    compose: Mapping[str, Any], compose_path: Path, project_name: str | None = None
) -> ProjectDefinition:
    """Turn a parsed docker-compose.yml into a ProjectDefinition; relative binds resolve beside it."""
    # docker-compose 1.29 rejects a top-level `name:`, so stackgen keeps it under `x-stackgen`
    name = project_name or (compose.get("x-stackgen") or {}).get("project") or compose.get("name")
    if not name:
        raise RuntimeFailure(f"{compose_path}: no project name (`x-stackgen: {{project: NAME}}`)")
    working_dir = compose_path.parent.resolve()
    volume_names = _volume_names(str(name), compose.get("volumes") or {})
    services = tuple(
        _service(str(service_name), body or {}, working_dir, volume_names, compose_path)
        for service_name, body in sorted((compose.get("services") or {}).items())
    )
    known = {service.name for service in services}
    for service in services:
        for dependency in service.depends_on:
            if dependency not in known:
                raise RuntimeFailure(
                    f"{compose_path}: {service.name} depends on unknown service {dependency}"
                )
    return ProjectDefinition(
        name=str(name),
        working_dir=working_dir,
        config_file=compose_path.resolve(),
        services=services,
        volumes=tuple(sorted(volume_names.values())),
        network=f"{name}_{NETWORK_KEY}",
    )


_NOT_HASHED = frozenset({"dependency_conditions"})


def definition_hash(service: ServiceDefinition, image_id: str | None, config_files_hash: str = "") -> str:
    """A stable hash of what the container is made from; a different hash means recreate.

    The image ID is part of it so that a re-pulled tag recreates, and `config_files_hash` lets roles
    that cannot hot-reload be recreated when their mounted files change. Fields still at their
    default are left out, so that a field added to ServiceDefinition later changes no existing hash.
    """
    defaults = {item.name: item.default for item in fields(ServiceDefinition) if item.default is not MISSING}
    data = {
        name: value
        for name, value in asdict(service).items()
        if name not in _NOT_HASHED and not (name in defaults and value == defaults[name])
    }
    payload = {
        "format": DEFINITION_HASH_FORMAT,
        "service": data,
        "image_id": image_id,
        "config_files_hash": config_files_hash,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def parse_duration_ns(value: str | int | float, where: str) -> int:
    """A compose duration ("10s", "1m30s", "500ms") in nanoseconds."""
    if isinstance(value, (int, float)):
        return int(value * 1_000_000_000)
    text = str(value).strip()
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_NS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise RuntimeFailure(f"{where}: invalid duration {value!r}")
    return int(total)


def _volume_names(project: str, volumes: Mapping[str, Any]) -> dict[str, str]:
    names = {}
    for key, body in volumes.items():
        body = body or {}
        if body.get("external"):
            names[str(key)] = str(body.get("name") or key)
        else:
            names[str(key)] = str(body.get("name") or f"{project}_{key}")
    return names


def _service(
    name: str, body: Mapping[str, Any], working_dir: Path, volume_names: Mapping[str, str], compose_path: Path
) -> ServiceDefinition:
    where = f"{compose_path.name}: services.{name}"
    unknown = sorted(set(body) - _SERVICE_KEYS)
    if unknown:
        raise RuntimeFailure(f"{where}: stackgen cannot converge compose key(s) {', '.join(unknown)}")
    if "image" not in body:
        raise RuntimeFailure(f"{where}: no image")
    networks = body.get("networks")
    if networks and list(networks) != [NETWORK_KEY]:
        raise RuntimeFailure(f"{where}: only the `default` network is supported")
    labels = _mapping(body.get("labels"), f"{where}.labels")
    healthcheck = body.get("healthcheck")
    return ServiceDefinition(
        name=name,
        role=labels.get(ROLE_LABEL, name),
        image=str(body["image"]),
        command=_argv(body.get("command")),
        entrypoint=_argv(body.get("entrypoint")),
        environment=tuple(sorted(_mapping(body.get("environment"), f"{where}.environment").items())),
        mounts=tuple(
            _mount(entry, working_dir, volume_names, f"{where}.volumes")
            for entry in body.get("volumes") or ()
        ),
        ports=tuple(_port(entry, f"{where}.ports") for entry in body.get("ports") or ()),
        healthcheck=_healthcheck(healthcheck, f"{where}.healthcheck") if healthcheck else None,
        restart=str(body.get("restart", "no")),
        labels=tuple(sorted(labels.items())),
        extra_hosts=tuple(str(host) for host in body.get("extra_hosts") or ()),
        user=str(body["user"]) if body.get("user") is not None else None,
        group_add=tuple(str(group) for group in body.get("group_add") or ()),
        cap_add=tuple(str(cap) for cap in body.get("cap_add") or ()),
        pid=str(body["pid"]) if body.get("pid") else None,
        privileged=bool(body.get("privileged", False)),
        devices=tuple(str(device) for device in body.get("devices") or ()),
        security_opt=tuple(str(option) for option in body.get("security_opt") or ()),
        tmpfs=tuple([body["tmpfs"]] if isinstance(body.get("tmpfs"), str) else body.get("tmpfs") or ()),
        working_dir=str(body["working_dir"]) if body.get("working_dir") else None,
        hostname=str(body["hostname"]) if body.get("hostname") else None,
        read_only=bool(body.get("read_only", False)),
        init=bool(body["init"]) if "init" in body else None,
        stop_grace_period_s=max(
            1, parse_duration_ns(body.get("stop_grace_period", "10s"), where) // 1_000_000_000
        ),
        depends_on=tuple(sorted(body.get("depends_on") or ())),
        build_base=labels.get(BUILD_BASE_LABEL),
        dependency_conditions=_dependency_conditions(body.get("depends_on")),
    )


def _dependency_conditions(value: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping):  # the long form: {service: {condition: ...}}
        return tuple(
            sorted(
                (str(name), str((body or {}).get("condition", "service_started")))
                for name, body in value.items()
            )
        )
    return tuple((str(name), "service_started") for name in sorted(value or ()))


def _argv(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        # compose splits a string command like a shell would
        import shlex

        return tuple(shlex.split(value))
    return tuple(str(part) for part in value)


def _mapping(value: Any, where: str) -> dict[str, str]:
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(key): "" if item is None else _scalar(item) for key, item in value.items()}
    result = {}
    for entry in value:
        key, separator, item = str(entry).partition("=")
        if not separator:
            raise RuntimeFailure(f"{where}: {entry!r} is not KEY=VALUE")
        result[key] = item
    return result


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mount(entry: Any, working_dir: Path, volume_names: Mapping[str, str], where: str) -> Mount:
    if isinstance(entry, Mapping):
        source, target = str(entry.get("source", "")), str(entry["target"])
        options = "ro" if entry.get("read_only") else "rw"
        if entry.get("type", "volume") == "bind" and not source.startswith(("/", ".", "~")):
            source = "./" + source
    else:
        parts = str(entry).split(":")
        if len(parts) < 2:
            raise RuntimeFailure(f"{where}: anonymous volume {entry!r} is not supported")
        source, target = parts[0], parts[1]
        options = ":".join(parts[2:]) or "rw"
    if source.startswith(("/", ".", "~")):
        host = (
            (working_dir / Path(source).expanduser()).resolve()
            if not source.startswith("/")
            else Path(source)
        )
        config_dir = None
        if host == working_dir or working_dir in host.parents:
            relative = PurePosixPath(*host.relative_to(working_dir).parts)
            config_dir = "" if str(relative) == "." else str(relative)
        return Mount(str(host), target, options, is_volume=False, config_dir=config_dir)
    if source not in volume_names:
        raise RuntimeFailure(f"{where}: volume {source!r} is not declared under top-level volumes")
    return Mount(volume_names[source], target, options, is_volume=True)


def _port(entry: Any, where: str) -> PortBinding:
    if isinstance(entry, Mapping):
        return PortBinding(
            str(entry.get("host_ip", "")),
            int(entry["published"]),
            int(entry["target"]),
            str(entry.get("protocol", "tcp")),
        )
    text, _, protocol = str(entry).partition("/")
    if text.startswith("["):  # [IPv6]:HOST:CONTAINER
        address, _, rest = text[1:].partition("]:")
        parts = [address, *rest.split(":", 1)]
    else:
        parts = text.rsplit(":", 2)
    container_port = parts[-1]
    host_port = parts[-2] if len(parts) >= 2 else container_port
    host_ip = parts[0] if len(parts) == 3 else ""
    try:
        return PortBinding(host_ip, int(host_port), int(container_port), protocol or "tcp")
    except ValueError as error:
        raise RuntimeFailure(f"{where}: cannot read port {entry!r}") from error


def _healthcheck(body: Mapping[str, Any], where: str) -> Healthcheck:
    if body.get("disable"):
        return Healthcheck(test=("NONE",))
    test = body.get("test")
    argv = ("CMD-SHELL", test) if isinstance(test, str) else tuple(str(part) for part in test or ())
    return Healthcheck(
        test=argv,
        interval_ns=parse_duration_ns(body.get("interval", "30s"), where),
        timeout_ns=parse_duration_ns(body.get("timeout", "30s"), where),
        retries=int(body.get("retries", 3)),
        start_period_ns=parse_duration_ns(body.get("start_period", "0s"), where),
    )


def dependency_waves(services: Sequence[ServiceDefinition]) -> list[list[ServiceDefinition]]:
    """Services grouped so that each wave depends only on earlier waves (start each wave in parallel)."""
    by_name = {service.name: service for service in services}
    remaining = dict(by_name)
    placed: set[str] = set()
    waves: list[list[ServiceDefinition]] = []
    while remaining:
        wave = [
            service
            for service in remaining.values()
            if all(dependency in placed or dependency not in by_name for dependency in service.depends_on)
        ]
        if not wave:
            raise RuntimeFailure(f"dependency cycle among services: {', '.join(sorted(remaining))}")
        waves.append(sorted(wave, key=lambda service: service.name))
        for service in wave:
            placed.add(service.name)
            del remaining[service.name]
    return waves
