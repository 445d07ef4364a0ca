"""A Docker Swarm of three Docker-in-Docker node containers on this host's engine, for tests.

The host's engine is never put into swarm mode: each node is a container of the image
scripts/build-swarm-node-image.sh makes (Debian bookworm + docker.io), running its own dockerd. The
engine here refuses --privileged, so a node gets every capability but SYS_RESOURCE and no seccomp,
AppArmor or masked paths instead (its entrypoint remounts /sys and the cgroup controllers
read-write). /var/lib/docker is a named volume (overlay2 on overlay2 is refused). Each node's socket
is also served in a host directory, so the tests talk to any node; a work directory is mounted at the
same path in every node, which is what `deploy.shared_output` means (the output dir on every node).
No egress: the nodes resolve through 127.0.0.1, and images are copied in with `docker save | load`.
Everything is named `sgswarm-<id>-*` and labelled `io.stackgen.test=sgswarm-<id>`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import REPO_ROOT

BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-swarm-node-image.sh"
NODE_IMAGE = "sgswarm/node:bookworm"
TEST_LABEL = "io.stackgen.test"
_NODE_FLAGS = (
    "--cap-add",
    "ALL",
    "--cap-drop",
    "SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "--security-opt",
    "systempaths=unconfined",
    "--dns",
    "127.0.0.1",
)


def docker(
    *arguments: str,
    host: str | None = None,
    stdin: bytes | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run the docker CLI against the host engine (or `host`, a DOCKER_HOST)."""
    environment = dict(os.environ)
    environment.pop("DOCKER_HOST", None)
    if host:
        environment["DOCKER_HOST"] = host
    return subprocess.run(
        ["docker", *arguments],
        input=stdin,
        capture_output=True,
        env=environment,
        check=check,
        timeout=timeout,
    )


@dataclass
class SwarmNode:
    """One node container."""

    container: str
    hostname: str
    socket_dir: Path
    address: str = ""

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_dir}/docker.sock"


@dataclass
class Swarm:
    """nodes[0] is the leader (where apply runs); the first `managers` nodes are managers (Prometheus
    runs on managers: two replicas need two), the others workers."""

    name: str
    root: Path  # host directory: sockets, and `work/` mounted at the same path in every node
    nodes: list[SwarmNode] = field(default_factory=list)

    @property
    def manager(self) -> SwarmNode:
        return self.nodes[0]

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def network(self) -> str:
        return self.name

    def gateway(self) -> str:
        """The host's address on the nodes' network: where containers in the swarm reach test servers."""
        out = docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", self.network)
        return out.stdout.decode().strip()

    def stop(self, node: SwarmNode) -> None:
        docker("stop", "-t", "2", node.container)

    def start(self, node: SwarmNode) -> None:
        docker("start", node.container)
        _wait_engine(node)


def build_node_image() -> None:
    """scripts/build-swarm-node-image.sh (a no-op when the image is up to date)."""
    subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, capture_output=True, timeout=900)


def create_swarm(images: Sequence[str], size: int = 3, managers: int = 2) -> Swarm:
    """Start `size` nodes, make a swarm of them (the first `managers` managers) and load `images`."""
    name = f"sgswarm-{uuid.uuid4().hex[:8]}"
    # a short path: unix socket paths are limited to 107 bytes
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir="/tmp"))
    swarm = Swarm(name, root)
    (root / "work").mkdir()
    label = f"{TEST_LABEL}={name}"
    docker("network", "create", "--label", label, name)
    for number in range(1, size + 1):
        node = SwarmNode(f"{name}-node{number}", f"{name}-{number}", root / f"node{number}")
        node.socket_dir.mkdir()
        docker(
            "run",
            "-d",
            "--name",
            node.container,
            "--hostname",
            node.hostname,
            "--label",
            label,
            "--network",
            name,
            *_NODE_FLAGS,
            "-v",
            f"{node.container}:/var/lib/docker",
            "-v",
            f"{node.socket_dir}:/sgswarm-socket",
            "-v",
            f"{swarm.work_dir}:{swarm.work_dir}",
            NODE_IMAGE,
            "--host=unix:///sgswarm-socket/docker.sock",
        )
        swarm.nodes.append(node)
    for node in swarm.nodes:
        _wait_engine(node)
        node.address = (
            docker(
                "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", node.container
            )
            .stdout.decode()
            .strip()
        )
    manager = swarm.manager
    docker("swarm", "init", "--advertise-addr", manager.address, host=manager.docker_host)
    tokens = {
        role: docker("swarm", "join-token", "-q", role, host=manager.docker_host).stdout.decode().strip()
        for role in ("manager", "worker")
    }
    for number, node in enumerate(swarm.nodes[1:], start=2):
        token = tokens["manager" if number <= managers else "worker"]
        docker("swarm", "join", "--token", token, f"{manager.address}:2377", host=node.docker_host)
    archive = docker("save", *images, timeout=300).stdout
    loads = [
        subprocess.Popen(
            ["docker", "load", "-q"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "DOCKER_HOST": node.docker_host},
        )
        for node in swarm.nodes
    ]
    for process in loads:
        process.communicate(archive, timeout=300)
        if process.returncode != 0:
            raise RuntimeError("docker load into a swarm node failed")
    return swarm


def remove_swarm(swarm: Swarm) -> list[str]:
    """Remove every container, volume and network labelled for this swarm; what could not go."""
    failures = []
    label = f"label={TEST_LABEL}={swarm.name}"
    containers = docker("ps", "-aq", "--filter", label).stdout.decode().split()
    if containers:
        result = docker("rm", "-f", "-v", *containers, check=False)
        if result.returncode:
            failures.append(result.stderr.decode().strip())
    for node in swarm.nodes:
        result = docker("volume", "rm", node.container, check=False)
        if result.returncode and b"No such volume" not in result.stderr:
            failures.append(result.stderr.decode().strip())
    result = docker("network", "rm", swarm.network, check=False)
    if result.returncode and b"not found" not in result.stderr:
        failures.append(result.stderr.decode().strip())
    shutil.rmtree(swarm.root, ignore_errors=True)
    return failures


def _wait_engine(node: SwarmNode, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        result = docker("version", "--format", "{{json .Server.Version}}", host=node.docker_host, check=False)
        if result.returncode == 0 and json.loads(result.stdout or b'""'):
            return
        if time.monotonic() > deadline:
            logs = docker("logs", "--tail", "20", node.container, check=False)
            raise RuntimeError(f"{node.container}: dockerd did not start: {logs.stderr.decode()[-1500:]}")
        time.sleep(0.3)
