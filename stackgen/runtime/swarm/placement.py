"""Which node each pinned service of a swarm stack runs on: pure, decided before every deploy.

A replicated service is pinned to one node by a node label (`io.stackgen.<project>.<service>=true`),
so that its node-local volume and its config directory stay with it. A pin is kept while its node
still qualifies; a new one goes to the qualifying node with the fewest pins of the stack. Replicas of
one HA role (prometheus-1, prometheus-2) go to different nodes, at most `max_replicas_per_node` on
one. Without a shared output dir, every pinned service goes to the node apply runs on, where the
files are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stackgen.errors import RuntimeFailure
from stackgen.runtime.swarm.stack_file import SwarmService

_CONSTRAINT = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.-]+)\s*(?P<op>==|!=)\s*(?P<value>.*?)\s*$")
# Roles whose image apply builds on the node it talks to (there is no registry to share it through).
LOCAL_BUILD_ROLES = ("relay",)


@dataclass(frozen=True)
class SwarmNode:
    """A node as placement sees it."""

    id: str
    hostname: str
    role: str  # manager | worker
    ready: bool
    labels: Mapping[str, str] = field(default_factory=dict)
    engine_labels: Mapping[str, str] = field(default_factory=dict)
    os: str = "linux"


def constraint_matches(constraint: str, node: SwarmNode) -> bool:
    """Whether `node` satisfies a `docker service create --constraint` expression."""
    match = _CONSTRAINT.match(constraint)
    if not match:
        raise RuntimeFailure(f"placement constraint {constraint!r} is not `key == value` or `key != value`")
    key, op, expected = match.group("key"), match.group("op"), match.group("value")
    actual: str | None
    if key.startswith("node.labels."):
        actual = node.labels.get(key[len("node.labels.") :])
    elif key.startswith("engine.labels."):
        actual = node.engine_labels.get(key[len("engine.labels.") :])
    else:
        actual = {
            "node.id": node.id,
            "node.hostname": node.hostname,
            "node.role": node.role,
            "node.platform.os": node.os,
        }.get(key)
    equal = actual is not None and actual.lower() == expected.lower()
    return equal if op == "==" else not equal


def assign_pins(
    services: Sequence[SwarmService],
    nodes: Sequence[SwarmNode],
    apply_node: str,
    shared_output: bool,
    max_replicas_per_node: int,
) -> dict[str, str]:
    """pin label -> node id for every pinned service; raises when one has nowhere to go."""
    by_role: dict[str, list[str]] = {}  # role -> node ids its services are placed on
    load: dict[str, int] = {node.id: 0 for node in nodes}
    chosen: dict[str, str] = {}
    pinned = sorted((s for s in services if s.pin_label), key=lambda s: s.name)
    # first keep the pins that still hold, so that a service with data stays where its volume is
    undecided = []
    for service in pinned:
        label = service.pin_label or ""
        current = next((n for n in nodes if n.labels.get(label) == "true"), None)
        if current is not None and _fits(
            service,
            current,
            nodes,
            apply_node,
            shared_output,
            by_role,
            max_replicas_per_node,
            ignore_ready=True,
        ):
            _take(service, current.id, chosen, by_role, load)
        else:
            undecided.append(service)
    for service in undecided:
        candidates = [
            n
            for n in nodes
            if _fits(
                service,
                n,
                nodes,
                apply_node,
                shared_output,
                by_role,
                max_replicas_per_node,
                ignore_ready=False,
            )
        ]
        if not candidates:
            where = "the node apply runs on" if not shared_output else "any ready node"
            raise RuntimeFailure(
                f"{service.name}: no node to place it on ({where}, constraints {list(service.constraints)}, "
                f"at most {max_replicas_per_node} {service.role} per node)",
                hint="label a node to match (`docker node update --label-add KEY=VALUE NODE`) or relax "
                "deploy.placement",
            )
        best = min(candidates, key=lambda n: (load[n.id], n.hostname))
        _take(service, best.id, chosen, by_role, load)
    return chosen


def _fits(
    service: SwarmService,
    node: SwarmNode,
    nodes: Sequence[SwarmNode],
    apply_node: str,
    shared_output: bool,
    by_role: Mapping[str, list[str]],
    max_per_node: int,
    ignore_ready: bool,
) -> bool:
    if not (node.ready or ignore_ready):
        return False
    if (not shared_output or service.role in LOCAL_BUILD_ROLES) and node.id != apply_node:
        return False
    if by_role.get(service.role, []).count(node.id) >= max_per_node:
        return False
    return all(constraint_matches(c, node) for c in service.constraints)


def _take(
    service: SwarmService,
    node_id: str,
    chosen: dict[str, str],
    by_role: dict[str, list[str]],
    load: dict[str, int],
) -> None:
    chosen[service.pin_label or ""] = node_id
    by_role.setdefault(service.role, []).append(node_id)
    load[node_id] = load.get(node_id, 0) + 1
