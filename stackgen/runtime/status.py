"""What runs now: per service its container, health, image and address; Prometheus targets and alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from stackgen.render.docker_discovery import JOB_NAME as DOCKER_JOB
from stackgen.render.docker_discovery import SCRAPE_LABELS
from stackgen.roles import ROLE_LABEL
from stackgen.runtime import http
from stackgen.runtime.compose_file import ProjectDefinition
from stackgen.runtime.discovered import DiscoveredContainer, discovered, with_health
from stackgen.runtime.engine import Engine
from stackgen.runtime.health import is_ready
from stackgen.runtime.roles import role_runtime
from stackgen.runtime.web_access import PLAIN, WebAccess


@dataclass(frozen=True)
class ServiceStatus:
    """One service of the stack as it runs (state "missing": no container)."""

    service: str
    role: str
    state: str
    health: str | None = None
    container: str | None = None
    image: str | None = None
    published: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        """Running, and healthy when it has a healthcheck."""
        return self.state == "running" and self.health in (None, "healthy")


@dataclass(frozen=True)
class JobTargets:
    """Prometheus targets of one job, counted by health."""

    job: str
    up: int
    down: int
    errors: tuple[str, ...] = ()
    unknown: int = 0  # not scraped yet (a fresh Prometheus, a new target)


@dataclass(frozen=True)
class ClusterMember:
    """One Alertmanager's view of its gossip cluster (status "unreachable": its API did not answer)."""

    service: str
    status: str  # ready | settling | disabled | unreachable
    peers: int  # members it sees, itself included


def cluster_member(service: str, answer: dict[str, Any] | None) -> ClusterMember:
    """A member from Alertmanager's GET /api/v2/status answer (None: no answer)."""
    if answer is None:
        return ClusterMember(service, "unreachable", 0)
    cluster = answer.get("cluster") or {}
    return ClusterMember(service, str(cluster.get("status", "unknown")), len(cluster.get("peers") or []))


def cluster_data(members: Sequence[ClusterMember]) -> dict[str, Any] | None:
    """The cluster as JSON-ready data: size is the most peers any member sees; None without clustering."""
    if not members or all(member.status == "disabled" for member in members):
        return None
    return {"size": max(member.peers for member in members), "members": [asdict(m) for m in members]}


@dataclass(frozen=True)
class StackStatus:
    """The whole stack's status."""

    project: str
    services: tuple[ServiceStatus, ...]
    targets: tuple[JobTargets, ...] = ()
    alerts: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    alertmanager_cluster: tuple[ClusterMember, ...] = ()
    discovered: tuple[DiscoveredContainer, ...] = ()

    @property
    def healthy(self) -> bool:
        """True when every service has a running, healthy container."""
        return bool(self.services) and all(service.healthy for service in self.services)

    def to_data(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "project": self.project,
            "healthy": self.healthy,
            "services": [dict(asdict(service), healthy=service.healthy) for service in self.services],
            "targets": [asdict(job) for job in self.targets],
            "alerts": list(self.alerts),
            "notes": list(self.notes),
            "alertmanager_cluster": cluster_data(self.alertmanager_cluster),
            "discovered": [asdict(found) for found in self.discovered],
        }


def collect_status(
    engine: Engine,
    project_name: str,
    project: ProjectDefinition | None,
    access: WebAccess = PLAIN,
    docker_discovery: bool = False,
) -> StackStatus:
    """Ask the engine, then the stack's Prometheus, how things are (`access`: TLS and the internal user
    of a stack with web configs; with `docker_discovery`: and what became of each labelled container)."""
    observed = {container.service: container for container in engine.containers(project_name)}
    roles = {service.name: service.role for service in project.services} if project else {}
    names = sorted(set(roles) | set(observed))
    services: list[ServiceStatus] = []
    prometheus_urls: list[tuple[str, str]] = []  # (url, service name the certificate names)
    members: list[ClusterMember] = []
    network = project.network if project else f"{project_name}_default"
    for name in names:
        container = observed.get(name)
        if container is None:
            services.append(ServiceStatus(name, roles.get(name, name), "missing"))
            continue
        details = engine.inspect(container.id)
        role = roles.get(name) or ((details.get("Config") or {}).get("Labels") or {}).get(ROLE_LABEL, name)
        health = ((details.get("State") or {}).get("Health") or {}).get("Status")
        if health == "starting" and is_ready(engine, container.id, engine.state(container.id)):
            # the engine's first check only runs after a full interval; its command passes now
            health = "healthy"
        services.append(
            ServiceStatus(
                name, role, container.state, health, container.name, container.image, _published(details)
            )
        )
        if role == "prometheus" and container.state == "running":
            port = role_runtime(role).port
            address = engine.http_address(container.id, port, network)
            if address:
                prometheus_urls.append((access.url(*address), name))
        if role == "alertmanager" and container.state == "running":
            port = role_runtime(role).port
            address = engine.http_address(container.id, port, network)
            members.append(cluster_member(name, _status_answer(address, name, access)))
    targets, alerts, notes = _from_prometheus(prometheus_urls, access)
    found: tuple[DiscoveredContainer, ...] = ()
    if docker_discovery:
        found = _discovered(engine, prometheus_urls, access)
    return StackStatus(project_name, tuple(services), targets, alerts, notes, tuple(members), found)


def _discovered(
    engine: Engine, prometheus_urls: Sequence[tuple[str, str]], access: WebAccess
) -> tuple[DiscoveredContainer, ...]:
    """Labelled containers, with the health Prometheus gives their targets."""
    active: list[dict[str, Any]] = []
    if prometheus_urls:
        url, name = prometheus_urls[0]
        answer = http.request("GET", url + "/api/v1/targets?state=active", access=access, server_name=name)
        if answer.ok:
            active = [t for t in answer.json()["data"]["activeTargets"] if t.get("scrapePool") == DOCKER_JOB]
    summaries = engine.labelled_containers(f"{label}=true" for label in SCRAPE_LABELS)
    return tuple(with_health(discovered(summary), active) for summary in summaries)


def _status_answer(address: tuple[str, int] | None, name: str, access: WebAccess) -> dict[str, Any] | None:
    if address is None:
        return None
    answer = http.request("GET", access.url(*address) + "/api/v2/status", access=access, server_name=name)
    if not answer.ok:
        return None
    try:
        data = answer.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _published(details: dict[str, Any]) -> tuple[str, ...]:
    published = []
    for container_port, bindings in sorted(
        ((details.get("NetworkSettings") or {}).get("Ports") or {}).items()
    ):
        for binding in bindings or []:
            if ":" not in (binding.get("HostIp") or ""):
                published.append(
                    f"{binding.get('HostIp') or '0.0.0.0'}:{binding['HostPort']}->{container_port}"
                )
    return tuple(published)


def _from_prometheus(
    urls: Sequence[tuple[str, str]], access: WebAccess
) -> tuple[tuple[JobTargets, ...], tuple[dict[str, str], ...], tuple[str, ...]]:
    if not urls:
        return (), (), ("no running Prometheus: targets and alerts unknown",)
    url, name = urls[0]  # HA replicas scrape the same targets
    answer = http.request("GET", url + "/api/v1/targets?state=active", access=access, server_name=name)
    if not answer.ok:
        return (), (), (f"Prometheus at {url} did not answer: {answer.body[:200]}",)
    jobs: dict[str, list[dict[str, Any]]] = {}
    for target in answer.json()["data"]["activeTargets"]:
        jobs.setdefault(target["labels"].get("job", "?"), []).append(target)
    targets = tuple(
        JobTargets(
            job,
            sum(1 for t in items if t["health"] == "up"),
            sum(1 for t in items if t["health"] == "down"),
            tuple(sorted({t["lastError"] for t in items if t.get("lastError")})),
            sum(1 for t in items if t["health"] not in ("up", "down")),
        )
        for job, items in sorted(jobs.items())
    )
    alerts_answer = http.request("GET", url + "/api/v1/alerts", access=access, server_name=name)
    alerts: list[dict[str, str]] = []
    if alerts_answer.ok:
        for alert in alerts_answer.json()["data"]["alerts"]:
            if alert.get("state") == "firing":
                labels = alert.get("labels") or {}
                alerts.append(
                    {
                        "alertname": labels.get("alertname", "?"),
                        "severity": labels.get("severity", ""),
                        "instance": labels.get("instance", ""),
                        "job": labels.get("job", ""),
                    }
                )
    return targets, tuple(sorted(alerts, key=lambda a: (a["alertname"], a["instance"]))), ()
