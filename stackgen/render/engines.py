"""The one seam where the deploy engine shapes the rendered files: chosen by `deploy.engine`.

Every other renderer is engine-blind. An engine renderer gives the orchestration file (compose:
docker-compose.yml; swarm: docker-stack.yml) and how Prometheus finds the per-node exporters
(compose: the one container by name; swarm: every node's task through the swarm API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render.topology import by_role

PER_NODE_ROLES = ("node-exporter", "cadvisor")


@dataclass(frozen=True)
class EngineRenderer:
    """What one deploy engine renders differently."""

    orchestration: Callable[[Stack], dict[str, RenderedFile]]
    # (stack, role, port) -> the service-discovery part of the role's scrape config
    per_node_targets: Callable[[Stack, str, int], dict[str, Any]]


def _static_targets(stack: Stack, role: str, port: int) -> dict[str, Any]:
    return {"static_configs": [{"targets": [f"{service.name}:{port}" for service in by_role(stack, role)]}]}


def engine_renderer(stack: Stack) -> EngineRenderer:
    """The renderer of the stack's deploy engine."""
    if stack.deploy.engine == "swarm":
        from stackgen.render.swarm import node_discovery, render_swarm

        return EngineRenderer(render_swarm, node_discovery)
    from stackgen.render.compose import render_compose

    return EngineRenderer(render_compose, _static_targets)
