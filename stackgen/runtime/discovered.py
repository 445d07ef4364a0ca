"""What docker discovery makes of each labelled container: its target, or why it has none.

The same rules as the relabelling in render/docker_discovery.py, applied to the engine's container
list (GET /containers/json), so that `status` and `validate` can say which containers are scraped,
where, and what to change for the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stackgen.model import HOST_GATEWAY_NAME
from stackgen.render.docker_discovery import (
    COMPOSE_PROJECT,
    COMPOSE_SERVICE,
    JOB_LABELS,
    PATH_LABELS,
    PORT_LABELS,
    SCRAPE_LABELS,
    STACK_ROLE_LABEL,
)


@dataclass(frozen=True)
class DiscoveredContainer:
    """A labelled container: the target Prometheus makes of it (address None: none, and `reason` why)."""

    container: str
    project: str
    service: str
    job: str
    state: str
    address: str | None = None
    metrics_path: str = "/metrics"
    reason: str | None = None
    health: str | None = None  # up | down | unknown, from Prometheus when it runs
    last_error: str | None = None


def labelled(summary: Mapping[str, Any]) -> bool:
    """True when the container asks to be scraped."""
    labels = summary.get("Labels") or {}
    return any(labels.get(label) == "true" for label in SCRAPE_LABELS)


def _first(labels: Mapping[str, str], names: Iterable[str]) -> str | None:
    return next((labels[name] for name in names if labels.get(name)), None)


def discovered(summary: Mapping[str, Any]) -> DiscoveredContainer:
    """The target a labelled container becomes, or why it becomes none."""
    labels = summary.get("Labels") or {}
    name = ((summary.get("Names") or ["/?"])[0]).lstrip("/")
    service = labels.get(COMPOSE_SERVICE, "")
    found = DiscoveredContainer(
        container=name,
        project=labels.get(COMPOSE_PROJECT, ""),
        service=service,
        job=_first(labels, (*JOB_LABELS, COMPOSE_SERVICE)) or name,
        state=str(summary.get("State") or "unknown"),
        metrics_path=_first(labels, PATH_LABELS) or "/metrics",
    )
    address, reason = _reach(summary, labels)
    return DiscoveredContainer(**{**found.__dict__, "address": address, "reason": reason})


def _reach(summary: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str | None, str | None]:
    if labels.get(STACK_ROLE_LABEL):
        return None, "a service of a stackgen stack: its own jobs scrape it"
    if summary.get("State") != "running":
        return None, f"{summary.get('State') or 'not running'}: Prometheus lists running containers only"
    wanted = _first(labels, PORT_LABELS)
    if (summary.get("HostConfig") or {}).get("NetworkMode") == "host":
        if wanted is None:
            return None, "host networking: set io.stackgen.port to the port it listens on"
        return f"{HOST_GATEWAY_NAME}:{wanted}", None
    ports = [port for port in summary.get("Ports") or [] if port.get("Type") == "tcp"]
    if wanted is not None:
        ports = [port for port in ports if str(port.get("PrivatePort")) == wanted]
    if not ports:
        if wanted is None:
            return None, 'exposes no TCP port: set io.stackgen.port and publish it (ports: ["PORT"])'
        return None, f'port {wanted} is neither exposed nor published: publish it (ports: ["{wanted}"])'
    published = [port for port in ports if port.get("PublicPort")]
    if not published:
        private = wanted or ports[0].get("PrivatePort")
        return None, (
            f"port {private} is not published: containers of other networks cannot reach it; "
            f'add ports: ["{private}"] (any free host port)'
        )
    reachable = [port for port in published if not _loopback(str(port.get("IP") or ""))]
    if not reachable:
        port = published[0]
        return None, (
            f"port {port.get('PrivatePort')} is published on {port.get('IP')} only, which "
            "containers cannot reach: publish it on 0.0.0.0, or on the docker bridge's address "
            "to keep it off the network"
        )
    return f"{HOST_GATEWAY_NAME}:{reachable[0]['PublicPort']}", None


def _loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip == "::1"


def with_health(
    found: DiscoveredContainer, active_targets: Iterable[Mapping[str, Any]]
) -> DiscoveredContainer:
    """Add what Prometheus says of the container's target (matched by its `container` label)."""
    for target in active_targets:
        if (target.get("labels") or {}).get("container") == found.container:
            return DiscoveredContainer(
                **{
                    **found.__dict__,
                    "health": target.get("health"),
                    "last_error": target.get("lastError") or None,
                }
            )
    return found


def preview(socket: str) -> tuple[list[DiscoveredContainer], str | None]:
    """The labelled containers of the engine behind `socket` now (what `validate` shows), or why not."""
    from stackgen.runtime.engine import Engine
    from stackgen.runtime.engine_socket import SocketReader

    reader = SocketReader(socket, timeout=3.0)
    try:
        reader.ping()
        summaries = Engine(reader=reader).labelled_containers(f"{label}=true" for label in SCRAPE_LABELS)
    except Exception as error:  # OSError (no socket, permission) or the engine's error answer
        return [], f"{socket} did not answer ({error})"
    return [discovered(summary) for summary in summaries], None
