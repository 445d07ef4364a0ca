"""status and down of a swarm stack: services, their tasks per node, Prometheus's targets."""

from __future__ import annotations

import time

from stackgen.runtime.down import DownReport
from stackgen.runtime.progress import Reporter
from stackgen.runtime.roles import role_runtime
from stackgen.runtime.status import (
    ClusterMember,
    ServiceStatus,
    StackStatus,
    _from_prometheus,
    _status_answer,
)
from stackgen.runtime.swarm.cluster import SwarmCluster, SwarmTask
from stackgen.runtime.swarm.stack_file import SwarmStackDefinition
from stackgen.runtime.web_access import PLAIN, WebAccess


def collect_status(
    cluster: SwarmCluster, project: str, stack: SwarmStackDefinition | None, access: WebAccess = PLAIN
) -> StackStatus:
    """One line per task that should run (a service with none: "missing"), then targets and alerts
    (`access`: TLS and the internal user of a stack with web configs)."""
    observed = {service.service: service for service in cluster.services(project)}
    roles = {service.name: service.role for service in stack.services} if stack else {}
    nodes = {node.id: node for node in cluster.nodes()}
    addresses = cluster.node_addresses()
    tasks = [t for t in cluster.tasks(project) if t.desired_state == "running"]
    services: list[ServiceStatus] = []
    prometheus_urls: list[tuple[str, str]] = []  # (url, service name the certificate names)
    members: list[ClusterMember] = []
    for name in sorted(set(roles) | set(observed)):
        role = roles.get(name, name)
        mine = sorted(
            (t for t in tasks if t.service == name),
            key=lambda t: nodes[t.node_id].hostname if t.node_id in nodes else "",
        )
        if name not in observed or not mine:
            services.append(ServiceStatus(name, role, "missing" if name not in observed else "no task"))
            continue
        definition = stack.service(name) if stack and name in roles else None
        port = role_runtime(role).port
        published = definition.published_port(port) if definition and port else None
        for task in mine:
            node = nodes.get(task.node_id)
            hostname = node.hostname if node else task.node_id[:12]
            # a task on a node that went down still says "running": the node's word wins
            state = task.state if node is None or node.ready else f"node {hostname} down"
            address = addresses.get(task.node_id)
            shown = (f"{address}:{published}",) if published and address else ()
            services.append(
                ServiceStatus(name, role, state, None, f"{name} on {hostname}", observed[name].image, shown)
            )
            if state == "running" and address and published:
                if role == "prometheus":
                    prometheus_urls.append((access.url(address, published), name))
                if role == "alertmanager":
                    from stackgen.runtime.status import cluster_member

                    members.append(cluster_member(name, _status_answer((address, published), name, access)))
    targets, alerts, notes = _from_prometheus(prometheus_urls, access)
    return StackStatus(project, tuple(services), targets, alerts, notes, tuple(members))


def take_down(
    cluster: SwarmCluster, project: str, *, volumes: bool, reporter: Reporter, timeout_s: float = 60.0
) -> DownReport:
    """`docker stack rm`, wait until its tasks are gone, drop its node pins; volumes only on request."""
    services = cluster.services(project)
    if services:
        reporter.phase(f"removing {len(services)} swarm service{'s' if len(services) != 1 else ''}")
        cluster.stack_rm(project)
    deadline = time.monotonic() + timeout_s
    remaining: list[SwarmTask] = cluster.tasks(project)
    while remaining and time.monotonic() < deadline:
        time.sleep(0.5)
        remaining = cluster.tasks(project)
    for service in services:
        reporter.service(service.service, "removed")
    cluster.set_pins(project, {})
    removed_volumes = cluster.remove_local_volumes(project) if volumes else []
    return DownReport(
        tuple(s.name for s in services), (f"{project}_default",) if services else (), tuple(removed_volumes)
    )
