"""The swarm as the runtime sees it: the only swarm module that talks to the engine.

Reads and node labels go through the docker SDK against the manager DOCKER_HOST names (or the local
socket). The stack itself is deployed and removed with the docker CLI's `docker stack deploy` and
`docker stack rm`, so that it is exactly the stack `docker stack ps|services|rm NAME` know: the CLI
converts the file and labels every service, network, config and secret with
`com.docker.stack.namespace`; doing that through the services API would mean re-implementing its
conversion and keeping up with it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.runtime.engine_socket import socket_path_from_env
from stackgen.runtime.plan import ObservedContainer
from stackgen.runtime.swarm.placement import SwarmNode
from stackgen.runtime.swarm.stack_file import CONFIG_HASH_LABEL

NAMESPACE_LABEL = "com.docker.stack.namespace"


@dataclass(frozen=True)
class SwarmTask:
    """One task of a stack's service."""

    id: str
    service: str  # the stack file's service name
    node_id: str
    slot: int | None
    desired_state: str
    state: str
    error: str
    container_id: str | None


@dataclass(frozen=True)
class UpdateStatus:
    """Where a service's last rolling update is (state None: never updated)."""

    state: str | None
    message: str


@contextmanager
def _swarm_call(what: str) -> Iterator[None]:
    try:
        yield
    except RuntimeFailure:
        raise
    except Exception as error:  # the SDK raises APIError, requests errors or OSError
        explanation = getattr(error, "explanation", None) or str(error)
        raise RuntimeFailure(f"{what}: {explanation}") from error


class SwarmCluster:
    """A swarm manager's engine."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.api = client.api

    @classmethod
    def connect(cls) -> SwarmCluster:
        """Connect as the docker CLI would; fail unless the engine is a swarm manager."""
        try:
            import docker

            client = docker.from_env(timeout=120)
            info = client.api.info()
        except Exception as error:
            from stackgen.runtime.engine import connection_failure

            raise connection_failure(error) from error
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise RuntimeFailure(
                "deploy.engine is swarm, but the Docker engine is not a swarm manager",
                hint="run apply on a manager (or set DOCKER_HOST to one); `docker swarm init` makes one",
            )
        cluster = cls(client)
        cluster.node_id = str(swarm.get("NodeID"))
        return cluster

    node_id: str = ""

    # --- nodes --------------------------------------------------------------------------------
    def nodes(self) -> list[SwarmNode]:
        """Every node of the swarm."""
        with _swarm_call("listing swarm nodes"):
            raw = self.api.nodes()
        return [_node(item) for item in raw]

    def node_addresses(self) -> dict[str, str]:
        """node id -> the address the node is reached on (what host-mode ports listen on)."""
        with _swarm_call("listing swarm nodes"):
            raw = self.api.nodes()
        addresses = {}
        for item in raw:
            address = (item.get("Status") or {}).get("Addr") or ""
            if address in ("", "0.0.0.0"):
                address = ((item.get("ManagerStatus") or {}).get("Addr") or "").rsplit(":", 1)[0]
            addresses[item["ID"]] = address
        return addresses

    def set_pins(self, project: str, pins: Mapping[str, str]) -> list[str]:
        """Make the stack's pin labels exactly `pins` (label -> node id); the labels changed."""
        prefix = f"io.stackgen.{project}."
        changed = []
        with _swarm_call("labelling swarm nodes"):
            for item in self.api.nodes():
                spec = dict(item["Spec"])
                labels = dict(spec.get("Labels") or {})
                wanted = {k: v for k, v in labels.items() if not k.startswith(prefix)}
                wanted.update({label: "true" for label, node in pins.items() if node == item["ID"]})
                if wanted != labels:
                    spec["Labels"] = wanted
                    self.api.update_node(item["ID"], item["Version"]["Index"], spec)
                    changed.extend(sorted(set(wanted) ^ set(labels)))
        return changed

    # --- services and tasks -------------------------------------------------------------------
    def services(self, project: str) -> list[ObservedContainer]:
        """The stack's services, as the records the planner compares (one per service)."""
        with _swarm_call("listing swarm services"):
            raw = self.api.services(filters={"label": f"{NAMESPACE_LABEL}={project}"})
        observed = []
        for item in raw:
            spec = item["Spec"]
            name = (
                spec["Name"][len(project) + 1 :] if spec["Name"].startswith(project + "_") else spec["Name"]
            )
            image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
            observed.append(
                ObservedContainer(
                    id=item["ID"],
                    name=spec["Name"],
                    service=name,
                    number=1,
                    # Swarm restarts tasks itself: an existing service is "running" to the planner
                    state="running",
                    health=None,
                    config_hash=(spec.get("Labels") or {}).get(CONFIG_HASH_LABEL),
                    image=image.split("@")[0],
                )
            )
        return observed

    def update_status(self, service_id: str) -> UpdateStatus:
        """The service's rolling-update status."""
        with _swarm_call("inspecting a swarm service"):
            item = self.api.inspect_service(service_id)
        status = item.get("UpdateStatus") or {}
        return UpdateStatus(status.get("State"), str(status.get("Message", "")))

    def tasks(self, project: str) -> list[SwarmTask]:
        """Every task of the stack's services (all states)."""
        with _swarm_call("listing swarm tasks"):
            raw = self.api.tasks(filters={"label": f"{NAMESPACE_LABEL}={project}"})
            names = {
                item["ID"]: item["Spec"]["Name"]
                for item in self.api.services(filters={"label": f"{NAMESPACE_LABEL}={project}"})
            }
        tasks = []
        for item in raw:
            status = item.get("Status") or {}
            full = names.get(item.get("ServiceID", ""), "")
            tasks.append(
                SwarmTask(
                    id=item["ID"],
                    service=full[len(project) + 1 :] if full.startswith(project + "_") else full,
                    node_id=item.get("NodeID", ""),
                    slot=item.get("Slot"),
                    desired_state=item.get("DesiredState", ""),
                    state=status.get("State", ""),
                    error=status.get("Err", "") or "",
                    container_id=(status.get("ContainerStatus") or {}).get("ContainerID"),
                )
            )
        return tasks

    def log_chunks(
        self, service_id: str, tail: int | None, follow: bool, since: int | None
    ) -> Iterator[bytes]:
        """A service's log output (every task on every node), as the one-host log reader takes it."""
        kwargs: dict[str, Any] = {
            "stdout": True,
            "stderr": True,
            "follow": follow,
            "timestamps": False,
            "tail": "all" if tail is None else tail,
        }
        if since:
            kwargs["since"] = since
        with _swarm_call("reading service logs"):
            yield from self.api.service_logs(service_id, **kwargs)

    # --- configs ------------------------------------------------------------------------------
    def configs(self, project: str) -> dict[str, str]:
        """The stack's swarm configs: name -> id."""
        with _swarm_call("listing swarm configs"):
            raw = self.api.configs(filters={"label": f"{NAMESPACE_LABEL}={project}"})
        return {item["Spec"]["Name"]: item["ID"] for item in raw}

    def remove_config(self, config_id: str) -> bool:
        """Remove a config; False while a task still uses it."""
        try:
            self.api.remove_config(config_id)
        except Exception:  # in use by a task that is still shutting down: the next apply removes it
            return False
        return True

    # --- images -------------------------------------------------------------------------------
    def image_id(self, image: str) -> str | None:
        """The local image ID of a tag on the node apply talks to (None: not there)."""
        try:
            return str(self.api.inspect_image(image)["Id"])
        except Exception:
            return None

    def docker_socket_gid(self) -> int | None:
        """The group of the docker socket apply talks to, when it is a local unix socket."""
        path = socket_path_from_env(os.environ)
        try:
            return os.stat(path).st_gid if path and stat.S_ISSOCK(os.stat(path).st_mode) else None
        except OSError:
            return None

    def remove_local_volumes(self, project: str, timeout_s: float = 30.0) -> list[str]:
        """Remove the stack's named volumes on the node apply talks to (other nodes keep theirs)."""
        import time

        removed = []
        with _swarm_call("listing volumes"):
            volumes = self.api.volumes(filters={"label": f"{NAMESPACE_LABEL}={project}"}).get("Volumes") or []
        for volume in volumes:
            deadline = time.monotonic() + timeout_s
            while True:  # a container of the removed stack may still be going
                try:
                    self.api.remove_volume(volume["Name"])
                    removed.append(volume["Name"])
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
        return removed

    # --- the docker CLI -----------------------------------------------------------------------
    def stack_deploy(self, stack_file: Path, project: str, environment: Mapping[str, str]) -> str:
        """`docker stack deploy --prune --resolve-image never`; its output."""
        return _docker_cli(
            ["stack", "deploy", "--prune", "--resolve-image", "never", "-c", str(stack_file), project],
            environment,
            cwd=stack_file.parent,
        )

    def stack_rm(self, project: str) -> str:
        """`docker stack rm`; its output."""
        return _docker_cli(["stack", "rm", project], {})


def _docker_cli(arguments: list[str], environment: Mapping[str, str], cwd: Path | None = None) -> str:
    docker = shutil.which("docker")
    if docker is None:
        raise RuntimeFailure(
            "the docker CLI is needed for a swarm stack (`docker stack deploy`)",
            hint="install it (Debian: apt-get install docker.io, or docker-ce-cli)",
        )
    result = subprocess.run(
        [docker, *arguments],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **environment},
        cwd=cwd,
    )
    if result.returncode != 0:
        message = " ".join((result.stderr or result.stdout).split())[-600:]
        raise RuntimeFailure(f"docker {' '.join(arguments[:2])} failed: {message}")
    return result.stdout


def _node(item: Mapping[str, Any]) -> SwarmNode:
    spec = item.get("Spec") or {}
    description = item.get("Description") or {}
    engine = (description.get("Engine") or {}).get("Labels") or {}
    return SwarmNode(
        id=str(item["ID"]),
        hostname=str(description.get("Hostname", "")),
        role=str(spec.get("Role", "worker")),
        ready=(item.get("Status") or {}).get("State") == "ready" and spec.get("Availability") == "active",
        labels=dict(spec.get("Labels") or {}),
        engine_labels=dict(engine),
        os=str((description.get("Platform") or {}).get("OS", "linux")),
    )
