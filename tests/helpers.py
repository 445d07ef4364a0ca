"""Small helpers for tests: poll with a deadline, name and remove test compose projects, find gateways.

Nothing here imports `docker`: functions that talk to the engine take the client as an argument.
"""

from __future__ import annotations

import fcntl
import functools
import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
# Test stacks are named sgt-<8 hex>: easy to tell from a developer's own stacks. Runs that share an
# engine with other runs can pick their own prefix (STACKGEN_TEST_PROJECT_PREFIX=mine-).
TEST_PROJECT_PREFIX = os.environ.get("STACKGEN_TEST_PROJECT_PREFIX", "sgt-")


def unavailable(reason: str) -> NoReturn:
    """Fail in CI (CI=true), skip elsewhere: something a test needs from the machine is missing."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


class WaitTimeout(AssertionError):
    """A condition polled by wait_until did not hold before its deadline."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.2,
    message: str = "",
) -> T:
    """Call `predicate` until it returns a truthy value, and return that value; fail at the deadline.

    An exception from the predicate counts as "not yet" (a server that is still starting refuses
    connections); the last one is reported if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_value: object = None
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
        except Exception as error:
            last_error = error
        else:
            if value:
                return value
            last_value, last_error = value, None
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", "a condition")
            detail = (
                f"last error: {last_error!r}" if last_error is not None else f"last value: {last_value!r}"
            )
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what} ({detail})")
        time.sleep(interval)


def wall_clock(monotonic: float) -> float:
    """A time.monotonic() reading of this process as wall-clock seconds (containers share the clock)."""
    return time.time() - time.monotonic() + monotonic


def epoch_seconds(rfc3339: str) -> float:
    """Seconds since the epoch of a Prometheus or Alertmanager timestamp (the relay's own parser)."""
    from stackgen.relay.notification import parse_time

    moment = parse_time(rfc3339)
    if moment is None:
        raise ValueError(f"not an RFC 3339 time: {rfc3339!r}")
    return moment.timestamp()


def unique_project_name(prefix: str = TEST_PROJECT_PREFIX) -> str:
    """A compose project name no other test run uses: `sgt-` (or the run's prefix) and 8 random hex digits."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def project_filter(project: str) -> dict[str, str]:
    """The engine filter that selects what belongs to one compose project."""
    return {"label": f"{COMPOSE_PROJECT_LABEL}={project}"}


def remove_compose_project(client: Any, project: str) -> list[str]:
    """Remove every container, network and volume labelled with the project; return what failed.

    Containers first (they hold the networks and volumes), each removal on its own so that one
    failure does not leave the rest behind.
    """
    failures: list[str] = []
    filters = project_filter(project)
    for container in client.containers.list(all=True, filters=filters):
        try:
            container.remove(force=True, v=True)
        except Exception as error:
            failures.append(f"container {container.name}: {error}")
    for network in client.networks.list(filters=filters):
        try:
            network.remove()
        except Exception as error:
            failures.append(f"network {network.name}: {error}")
    for volume in client.volumes.list(filters=filters):
        try:
            volume.remove(force=True)
        except Exception as error:
            failures.append(f"volume {volume.name}: {error}")
    return failures


def interface_ipv4(name: str) -> str:
    """The IPv4 address of a network interface on this host (e.g. docker0)."""
    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("256s", name.encode()[:15])
        answer = fcntl.ioctl(probe.fileno(), siocgifaddr, request)
    return socket.inet_ntoa(answer[20:24])


def network_gateway(client: Any, network: str = "bridge") -> str:
    """The address at which containers on `network` reach this host.

    For Docker's default bridge this is docker0's address (what `host-gateway` resolves to);
    for a user-defined network, its IPAM gateway. Test servers must listen on that address
    or on 0.0.0.0 to be reached from containers.
    """
    attrs = client.networks.get(network).attrs
    bridge = (attrs.get("Options") or {}).get("com.docker.network.bridge.name")
    if bridge:
        try:
            return interface_ipv4(bridge)
        except OSError:
            pass  # the interface is in another namespace (rootless, remote engine): use IPAM
    for config in (attrs.get("IPAM") or {}).get("Config") or []:
        if config.get("Gateway"):
            return str(config["Gateway"]).split("/")[0]
        if config.get("Subnet") and ":" not in config["Subnet"]:
            # Docker gives the gateway the first address of the subnet when none is configured
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    raise LookupError(f"network {network} has no IPv4 gateway")


@functools.cache
def upstream_root() -> Path:
    """Where scripts/fetch-upstream.sh unpacks today's upstream binaries (whether or not it ran)."""
    listing = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "fetch-upstream.sh"), "--root"],
                             capture_output=True, text=True, check=True)
    return Path(listing.stdout.strip())


def tool_versions(name: str) -> dict[str, str]:
    """set -> path of `name` (promtool, amtool) in each set: `debian12` is this host's /usr/bin one
    (Debian 12's package), `current` the one scripts/fetch-upstream.sh unpacked. A missing one is
    unavailable(): skipped locally, a failure in CI."""
    found = {"debian12": shutil.which(name), "current": str(upstream_root() / "usr" / "bin" / name)}
    if not found["debian12"]:
        unavailable(f"{name} is not installed: apt-get install prometheus prometheus-alertmanager")
    if not os.access(found["current"], os.X_OK):
        unavailable(f"{found['current']} is missing: bash scripts/fetch-upstream.sh")
    return {set_name: str(path) for set_name, path in found.items()}
