"""Fleet hosts for the tests: containers of the sgfleet/host image (Debian 12, systemd as PID 1, sshd),
fixed IPs on a network of the test's own, a throwaway SSH key, and a release-layout node_exporter
tarball made from Debian's binary (no internet)."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-fleet-host-image.sh"
# Subnets unlikely to clash with a real network; one per concurrent fleet (tests, slow lane, bench).
SUBNET = os.environ.get("STACKGEN_FLEET_TEST_SUBNET", "172.31.212.0/24")
SLOW_SUBNET = os.environ.get("STACKGEN_FLEET_TEST_SUBNET_SLOW", "172.31.213.0/24")
BENCH_SUBNET = os.environ.get("STACKGEN_FLEET_BENCH_SUBNET", "172.31.214.0/24")
DEBIAN_EXPORTER = Path("/usr/bin/prometheus-node-exporter")
LABEL = "io.stackgen.test"


@dataclass
class FleetHosts:
    """The running hosts (name -> IP), their network, the key, and a way to run commands on them."""

    run: str
    network: str
    addresses: dict[str, str]
    key: Path

    def container(self, name: str) -> str:
        return f"{self.run}-{name}"

    def exec(self, name: str, *command: str) -> str:
        return subprocess.run(
            ["docker", "exec", self.container(name), *command],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout


def host_image() -> str:
    """Build (or find, cached) the host image; its tag."""
    subprocess.run(["bash", str(BUILD_SCRIPT)], check=True, timeout=900)
    return subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--tag"], capture_output=True, text=True, check=True
    ).stdout.strip()


def start_fleet(count: int, workdir: Path, subnet: str = SUBNET) -> Iterator[FleetHosts]:
    """`count` hosts h1..hN; removed (by label) afterwards even when the test failed."""
    image = host_image()
    run = f"sgfleet-{uuid.uuid4().hex[:6]}"
    key = workdir / "fleet_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    network = ipaddress.ip_network(subnet)
    subprocess.run(
        ["docker", "network", "create", "--subnet", subnet, "--label", f"{LABEL}={run}", run],
        check=True,
        capture_output=True,
    )
    addresses = {f"h{n}": str(network.network_address + 10 + n) for n in range(1, count + 1)}
    try:
        for name, address in addresses.items():
            subprocess.run(
                [
                    "docker",
                    "run",
                    "-d",
                    "--name",
                    f"{run}-{name}",
                    "--hostname",
                    name,
                    "--label",
                    f"{LABEL}={run}",
                    "--network",
                    run,
                    "--ip",
                    address,
                    "--cap-add",
                    "SYS_ADMIN",
                    "--cgroupns=private",
                    "--tmpfs",
                    "/run",
                    "--tmpfs",
                    "/run/lock",
                    "--tmpfs",
                    "/tmp",
                    "--stop-signal",
                    "SIGRTMIN+3",
                    "-v",
                    f"{key}.pub:/etc/ssh/authorized_keys/root:ro",
                    image,
                ],
                check=True,
                capture_output=True,
            )
        deadline = time.monotonic() + 120
        while not all(ssh_answers(address) for address in addresses.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the fleet hosts' sshd did not answer within 120 s: {run}")
            time.sleep(0.3)
        yield FleetHosts(run, run, addresses, key)
    finally:
        remove_fleet(run)


def ssh_answers(address: str) -> bool:
    """Whether an sshd greets on address:22."""
    try:
        with socket.create_connection((address, 22), timeout=1) as connection:
            return connection.recv(4).startswith(b"SSH")
    except OSError:
        return False


def remove_fleet(run: str) -> None:
    """Every container and network labelled with this run."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LABEL}={run}"], capture_output=True, text=True
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    subprocess.run(["docker", "network", "rm", run], capture_output=True)


def release_tarball(directory: Path, version: str = "1.5.0") -> Path:
    """node_exporter-VERSION.linux-amd64.tar.gz + sha256sums.txt made from Debian's binary."""
    directory.mkdir(parents=True, exist_ok=True)
    top = f"node_exporter-{version}.linux-amd64"
    staging = directory / top
    staging.mkdir(exist_ok=True)
    shutil.copy2(DEBIAN_EXPORTER, staging / "node_exporter")
    tarball = directory / f"{top}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(staging, arcname=top)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    (directory / "sha256sums.txt").write_text(f"{digest}  {tarball.name}\n")
    return tarball


def docker_json(*args: str) -> Any:
    import json

    return json.loads(subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout)
