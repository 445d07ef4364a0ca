"""The Docker engine, behind the few operations the runtime needs; the only module that imports `docker`.

Containers get Docker Compose v2's labels and naming (`<project>-<service>-1`), so
`docker compose ps|logs|restart|down` works on a stack made by stackgen, and `docker compose up -d`
recreates nothing (see compose_hash.py). Every engine error
becomes a RuntimeFailure with one line saying what to do.

The docker SDK is imported only when something must change: on a local unix socket the reads (ping,
list, inspect) go through engine_socket with the standard library, so a no-op apply never pays for
importing the SDK and requests.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.runtime.compose_file import NETWORK_KEY, ProjectDefinition, ServiceDefinition
from stackgen.runtime.engine_socket import EngineResponseError, SocketReader, socket_path_from_env
from stackgen.runtime.plan import ObservedContainer

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_NUMBER = "com.docker.compose.container-number"
LABEL_ONEOFF = "com.docker.compose.oneoff"
LABEL_COMPOSE_HASH = "com.docker.compose.config-hash"
LABEL_WORKING_DIR = "com.docker.compose.project.working_dir"
LABEL_CONFIG_FILES = "com.docker.compose.project.config_files"
LABEL_VERSION = "com.docker.compose.version"
LABEL_NETWORK = "com.docker.compose.network"
LABEL_VOLUME = "com.docker.compose.volume"
LABEL_IMAGE = "com.docker.compose.image"  # the image ID: Compose v2 recreates when it differs
LABEL_DEPENDS_ON = "com.docker.compose.depends_on"
LABEL_CONFIG_HASH = "io.stackgen.config-hash"
# The Compose version whose container layout we follow (names, labels).
COMPOSE_VERSION = "2.40.3"

_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_PORT_IN_USE = re.compile(r"(?:Bind for |listen tcp\d?\s)([\[\]0-9a-fA-F.:]+?):(\d+)")


@dataclass(frozen=True)
class ContainerState:
    """A container's lifecycle state and health, from inspect."""

    status: str
    health: str | None
    exit_code: int
    healthcheck_test: tuple[str, ...]  # () or ("NONE",): no healthcheck

    @property
    def has_healthcheck(self) -> bool:
        """True when the engine runs a healthcheck in this container."""
        return bool(self.healthcheck_test) and self.healthcheck_test != ("NONE",)


def container_name(project: str, service: str, number: int = 1) -> str:
    """Compose v2's container name."""
    return f"{project}-{service}-{number}"


def legacy_container_name(project: str, service: str, number: int = 1) -> str:
    """Compose 1.29's container name, which earlier stackgen versions used: such containers are migrated."""
    return f"{project}_{service}_{number}"


class Engine:
    """The operations on the Docker engine that apply, plan, status and down need.

    `client` is a docker SDK client, made on first use when not given; `reader` answers the reads
    without the SDK (None: the SDK does everything).
    """

    def __init__(self, client: Any = None, reader: SocketReader | None = None) -> None:
        self._client = client
        self._reader = reader
        self._client_lock = threading.Lock()  # converge's worker threads may be the first to need it

    @classmethod
    def connect(cls) -> Engine:
        """Connect as the docker CLI would (DOCKER_HOST or the local socket); fail with what to do."""
        socket_path = socket_path_from_env(os.environ)
        if socket_path is not None:
            reader = SocketReader(socket_path)
            try:
                reader.ping()
            except Exception as error:  # OSError (no socket, permission), or an error answer
                raise connection_failure(error) from error
            return cls(reader=reader)
        return cls(_sdk_client())

    @property
    def client(self) -> Any:
        """The docker SDK client (for the relay image builder, which takes one)."""
        with self._client_lock:
            if self._client is None:
                self._client = _sdk_client()
            return self._client

    @property
    def _api(self) -> Any:
        return self.client.api

    # --- observing ----------------------------------------------------------------------------
    def containers(self, project: str) -> list[ObservedContainer]:
        """Every container of `project` (running or not), one-off containers excluded."""
        with _engine_call("listing containers"):
            if self._reader is not None:
                summaries = self._reader.containers({"label": [f"{LABEL_PROJECT}={project}"]})
            else:
                summaries = self._api.containers(all=True, filters={"label": f"{LABEL_PROJECT}={project}"})
        observed = []
        for summary in summaries:
            labels = summary.get("Labels") or {}
            if labels.get(LABEL_ONEOFF, "False") == "True" or LABEL_SERVICE not in labels:
                continue
            health = _HEALTH_IN_STATUS.search(summary.get("Status") or "")
            name = (summary.get("Names") or ["/?"])[0].lstrip("/")
            number = int(labels.get(LABEL_NUMBER, "1") or 1)
            observed.append(
                ObservedContainer(
                    id=summary["Id"],
                    name=name,
                    service=labels[LABEL_SERVICE],
                    number=number,
                    state=summary.get("State") or "unknown",
                    health=health.group(1).replace("health: ", "") if health else None,
                    config_hash=labels.get(LABEL_CONFIG_HASH),
                    image=summary.get("Image") or "",
                    compose_hash=labels.get(LABEL_COMPOSE_HASH),
                    image_id=labels.get(LABEL_IMAGE),
                    legacy_name=name == legacy_container_name(project, labels[LABEL_SERVICE], number),
                )
            )
        return sorted(observed, key=lambda container: (container.service, container.number))

    def labelled_containers(self, labels: Iterable[str]) -> list[dict[str, Any]]:
        """The engine's summaries of every container carrying one of `labels` (`key=value`), any state."""
        found: dict[str, dict[str, Any]] = {}
        with _engine_call("listing containers"):
            for label in labels:
                if self._reader is not None:
                    summaries = self._reader.containers({"label": [label]})
                else:
                    summaries = self._api.containers(all=True, filters={"label": label})
                found.update((summary["Id"], summary) for summary in summaries)
        return sorted(found.values(), key=lambda summary: (summary.get("Names") or [""])[0])

    def inspect(self, container_id: str) -> dict[str, Any]:
        """The engine's full description of a container."""
        with _engine_call(f"inspecting container {container_id[:12]}"):
            if self._reader is not None:
                return self._reader.inspect_container(container_id)
            data: dict[str, Any] = self._api.inspect_container(container_id)
        return data

    def state(self, container_id: str) -> ContainerState:
        """Lifecycle state and health of a container."""
        data = self.inspect(container_id)
        state = data.get("State") or {}
        health = state.get("Health") or {}
        test = ((data.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
        return ContainerState(
            status=state.get("Status", "unknown"),
            health=health.get("Status"),
            exit_code=int(state.get("ExitCode") or 0),
            healthcheck_test=tuple(test),
        )

    def http_address(self, container_id: str, container_port: int, network: str) -> tuple[str, int] | None:
        """Where the host reaches a container port: its published address, else its network IP."""
        data = self.inspect(container_id)
        settings = data.get("NetworkSettings") or {}
        for binding in (settings.get("Ports") or {}).get(f"{container_port}/tcp") or []:
            host_ip = binding.get("HostIp") or "0.0.0.0"
            if ":" in host_ip:
                continue  # prefer the IPv4 binding; docker lists both for 0.0.0.0
            return ("127.0.0.1" if host_ip == "0.0.0.0" else host_ip, int(binding["HostPort"]))
        address = ((settings.get("Networks") or {}).get(network) or {}).get("IPAddress")
        return (address, container_port) if address else None

    def logs_tail(self, container_id: str, lines: int = 5) -> str:
        """The last lines a container printed (for error messages)."""
        try:
            output: bytes = self._api.logs(container_id, tail=lines)
        except Exception:  # only used to enrich another error
            return ""
        return output.decode("utf-8", "replace").strip()

    def log_chunks(
        self, container_id: str, tail: int | None, follow: bool, since: int | None = None
    ) -> Iterator[bytes]:
        """A container's output (stdout and stderr as the engine interleaves them), in chunks."""
        options: dict[str, Any] = {"stream": True, "follow": follow, "tail": "all" if tail is None else tail}
        if since is not None:
            options["since"] = since
        with _engine_call(f"reading the logs of {container_id[:12]}"):
            yield from self._api.logs(container_id, **options)

    # --- images -------------------------------------------------------------------------------
    def image_id(self, reference: str) -> str | None:
        """The local ID of an image, or None when it is not present."""
        data = self._inspect_image(reference)
        return str(data["Id"]) if data is not None else None

    def image_labels(self, reference: str) -> dict[str, str] | None:
        """The labels of a local image, or None when it is not present."""
        data = self._inspect_image(reference)
        return dict((data.get("Config") or {}).get("Labels") or {}) if data is not None else None

    def _inspect_image(self, reference: str) -> dict[str, Any] | None:
        try:
            if self._reader is not None:
                return self._reader.inspect_image(reference)
            data: dict[str, Any] = self._api.inspect_image(reference)
            return data
        except Exception as error:
            if not isinstance(error, (EngineResponseError, *_sdk_errors("APIError"))):
                if isinstance(error, OSError):
                    raise connection_failure(error) from error
                raise
            if getattr(error, "status_code", None) == 404:  # the SDK's ImageNotFound is a 404 APIError
                return None
            explanation = getattr(error, "explanation", None) or error
            raise RuntimeFailure(f"inspecting image {reference}: {explanation}") from error

    def pull(self, reference: str, on_event: Callable[[Mapping[str, Any]], None]) -> None:
        """Pull an image, passing each progress event (per layer) to `on_event`."""
        from docker.errors import APIError
        from docker.utils import parse_repository_tag

        repository, tag = parse_repository_tag(reference)
        try:
            for event in self._api.pull(repository, tag=tag or "latest", stream=True, decode=True):
                if "error" in event:
                    raise _pull_failure(reference, str(event["error"]))
                on_event(event)
        except APIError as error:
            raise _pull_failure(reference, str(error.explanation or error)) from error
        except OSError as error:
            raise _pull_failure(reference, str(error)) from error

    # --- project resources --------------------------------------------------------------------
    def ensure_network(self, project: ProjectDefinition) -> None:
        """Create the project network if missing, labelled as compose labels it."""
        with _engine_call(f"creating network {project.network}"):
            if any(net["Name"] == project.network for net in self._api.networks(names=[project.network])):
                return
            labels = {LABEL_PROJECT: project.name, LABEL_NETWORK: NETWORK_KEY, LABEL_VERSION: COMPOSE_VERSION}
            self._api.create_network(project.network, driver="bridge", labels=labels, check_duplicate=True)

    def ensure_volumes(self, project: ProjectDefinition) -> None:
        """Create the project's named volumes if missing."""
        prefix = f"{project.name}_"
        for volume in project.volumes:
            with _engine_call(f"creating volume {volume}"):
                from docker.errors import NotFound

                try:
                    self._api.inspect_volume(volume)
                    continue
                except NotFound:
                    pass
                key = volume[len(prefix) :] if volume.startswith(prefix) else volume
                labels = {LABEL_PROJECT: project.name, LABEL_VOLUME: key, LABEL_VERSION: COMPOSE_VERSION}
                self._api.create_volume(volume, labels=labels)

    def remove_network(self, project: str) -> list[str]:
        """Remove the networks of `project`; returns their names."""
        removed = []
        with _engine_call(f"removing the network of {project}"):
            for network in self._api.networks(filters={"label": f"{LABEL_PROJECT}={project}"}):
                self._api.remove_network(network["Id"])
                removed.append(network["Name"])
        return removed

    def remove_volumes(self, project: str) -> list[str]:
        """Remove the named volumes of `project` (its metrics history); returns their names."""
        removed = []
        with _engine_call(f"removing the volumes of {project}"):
            volumes = self._api.volumes(filters={"label": f"{LABEL_PROJECT}={project}"}).get("Volumes") or []
            for volume in volumes:
                self._api.remove_volume(volume["Name"])
                removed.append(volume["Name"])
        return removed

    # --- containers ---------------------------------------------------------------------------
    def create_container(
        self,
        project: ProjectDefinition,
        service: ServiceDefinition,
        config_hash: str,
        number: int = 1,
        compose_hash: str | None = None,
        image_id: str | None = None,
    ) -> str:
        """Create (not start) the container of `service`; returns its ID.

        `compose_hash` is Compose's own hash of the service (see compose_hash.py), else ours is used;
        `image_id` is the ID of the image it is made from (Compose compares it with the tag's)."""
        labels = _container_labels(project, service, config_hash, number, compose_hash, image_id)
        host_config = self._host_config(project, service)
        networking = self._api.create_networking_config(
            {project.network: self._api.create_endpoint_config(aliases=[service.name])}
        )
        name = container_name(project.name, service.name, number)
        with _engine_call(f"creating container {name}"):
            created = self._api.create_container(
                service.image,
                command=list(service.command) if service.command is not None else None,
                entrypoint=list(service.entrypoint) if service.entrypoint is not None else None,
                name=name,
                hostname=service.hostname,
                user=service.user,
                working_dir=service.working_dir,
                environment=dict(service.environment),
                labels=labels,
                ports=[(port.container_port, port.protocol) for port in service.ports] or None,
                healthcheck=_healthcheck(service),
                host_config=host_config,
                networking_config=networking,
                stop_timeout=service.stop_grace_period_s,
                use_config_proxy=False,  # the definition alone decides the container (and its hash)
            )
        return str(created["Id"])

    def _host_config(self, project: ProjectDefinition, service: ServiceDefinition) -> Any:
        """Mounts, published ports, restart policy and privileges, on the project's network."""
        return self._api.create_host_config(
            binds=[mount.bind for mount in service.mounts],
            port_bindings=_port_bindings(service),
            restart_policy=_restart_policy(service.restart),
            extra_hosts=list(service.extra_hosts) or None,
            group_add=list(service.group_add) or None,
            cap_add=list(service.cap_add) or None,
            pid_mode=service.pid,
            privileged=service.privileged,
            devices=list(service.devices) or None,
            security_opt=list(service.security_opt) or None,
            tmpfs=list(service.tmpfs) or None,
            read_only=service.read_only or None,
            init=service.init,
            network_mode=project.network,
        )

    def start(self, container_id: str, service: str) -> None:
        """Start a container; a published port already in use gets its own message."""
        from docker.errors import APIError

        try:
            self._api.start(container_id)
        except APIError as error:
            message = str(error.explanation or error)
            taken = _PORT_IN_USE.search(message)
            if taken or "port is already allocated" in message or "address already in use" in message:
                where = f"{taken.group(1)}:{taken.group(2)}" if taken else "a published port"
                raise RuntimeFailure(
                    f"{service}: {where} is already in use",
                    hint="stop what listens there, or change the port (or `listen`) in stack.yaml",
                ) from error
            raise RuntimeFailure(f"starting {service}: {message}") from error
        except OSError as error:
            raise connection_failure(error) from error

    def unpause(self, container_id: str) -> None:
        """Resume a paused container."""
        with _engine_call("unpausing a container"):
            self._api.unpause(container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        """Stop a container (SIGTERM, then SIGKILL after `timeout` seconds)."""
        with _engine_call(f"stopping container {container_id[:12]}"):
            self._api.stop(container_id, timeout=timeout)

    def remove(self, container_id: str) -> None:
        """Remove a container (stopping it first); its named volumes stay."""
        from docker.errors import NotFound

        with _engine_call(f"removing container {container_id[:12]}"), suppress(NotFound):
            self._api.remove_container(container_id, force=True, v=False)

    def rename(self, container_id: str, name: str) -> None:
        """Rename a container."""
        with _engine_call(f"renaming container {container_id[:12]}"):
            self._api.rename(container_id, name)

    def exec(self, container_id: str, argv: list[str]) -> tuple[int, str]:
        """Run a command in a running container; returns its exit code and output."""
        with _engine_call(f"running {argv[0]} in container {container_id[:12]}"):
            exec_id = self._api.exec_create(container_id, argv, stdout=True, stderr=True)["Id"]
            output: bytes = self._api.exec_start(exec_id)
            code = self._api.exec_inspect(exec_id).get("ExitCode")
        return (int(code) if code is not None else -1), output.decode("utf-8", "replace")


def connection_failure(error: BaseException) -> RuntimeFailure:
    """A one-line explanation of why the engine cannot be reached."""
    text = " ".join(str(item) for item in _causes(error))
    if "Permission denied" in text or isinstance(error, PermissionError):
        return RuntimeFailure(
            "permission denied on the Docker socket",
            hint="add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again) "
            "or run as root",
        )
    return RuntimeFailure(
        "cannot reach the Docker engine",
        hint="start it (`sudo systemctl start docker`, or `dockerd &`) or set DOCKER_HOST",
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        for argument in getattr(seen, "args", ()):
            if isinstance(argument, BaseException):
                yield from _causes(argument)
        seen = seen.__cause__ or seen.__context__


def _pull_failure(reference: str, message: str) -> RuntimeFailure:
    return RuntimeFailure(
        f"cannot pull image {reference}: {message.strip()}",
        hint="check the name and tag, set `images.registry` to a mirror you can reach, "
        "or load the image yourself (`docker load`) and apply with --pull never",
    )


def _sdk_client() -> Any:
    """The docker SDK's client as the docker CLI would connect (DOCKER_HOST, TLS settings, ...)."""
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.api.ping()
    except Exception as error:  # docker raises DockerException, requests errors or OSError
        raise connection_failure(error) from error
    return client


def _sdk_errors(name: str) -> tuple[type[Exception], ...]:
    """`docker.errors.<name>` if the SDK was imported; else none of its errors can have been raised."""
    errors = sys.modules.get("docker.errors")
    return (getattr(errors, name),) if errors is not None else ()


@contextmanager
def _engine_call(what: str) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        # APIError first: it is also an OSError (through requests' HTTPError)
        if isinstance(error, (EngineResponseError, *_sdk_errors("APIError"))):
            raise RuntimeFailure(f"{what}: {getattr(error, 'explanation', None) or error}") from error
        if isinstance(error, _sdk_errors("DockerException")):
            raise RuntimeFailure(f"{what}: {error}") from error
        if isinstance(error, OSError):  # requests' connection errors are OSErrors
            raise connection_failure(error) from error
        raise


def _container_labels(
    project: ProjectDefinition,
    service: ServiceDefinition,
    config_hash: str,
    number: int,
    compose_hash: str | None,
    image_id: str | None,
) -> dict[str, str]:
    """The service's own labels with Compose v2's and stackgen's on top."""
    labels = dict(service.labels)
    labels.update(
        {
            LABEL_PROJECT: project.name,
            LABEL_SERVICE: service.name,
            LABEL_NUMBER: str(number),
            LABEL_ONEOFF: "False",
            LABEL_COMPOSE_HASH: compose_hash or config_hash,
            LABEL_WORKING_DIR: str(project.working_dir),
            LABEL_CONFIG_FILES: str(project.config_file),
            LABEL_VERSION: COMPOSE_VERSION,
            LABEL_DEPENDS_ON: ",".join(
                f"{name}:{condition}:false" for name, condition in service.dependency_conditions
            ),
            LABEL_CONFIG_HASH: config_hash,
        }
    )
    if image_id:
        labels[LABEL_IMAGE] = image_id
    return labels


def _healthcheck(service: ServiceDefinition) -> dict[str, Any] | None:
    """The service's healthcheck as the engine API takes it (durations in nanoseconds)."""
    check = service.healthcheck
    if check is None:
        return None
    return {
        "test": list(check.test),
        "interval": check.interval_ns,
        "timeout": check.timeout_ns,
        "retries": check.retries,
        "start_period": check.start_period_ns,
    }


def _port_bindings(service: ServiceDefinition) -> dict[str, list[tuple[str, int]]] | None:
    bindings: dict[str, list[tuple[str, int]]] = {}
    for port in service.ports:
        bindings.setdefault(f"{port.container_port}/{port.protocol}", []).append(
            (port.host_ip, port.host_port)
        )
    return bindings or None


def _restart_policy(restart: str) -> dict[str, Any] | None:
    if restart in ("no", ""):
        return None
    name, _, count = restart.partition(":")
    policy: dict[str, Any] = {"Name": name}
    if count:
        policy["MaximumRetryCount"] = int(count)
    return policy
