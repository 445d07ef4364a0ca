"""Add-on roles: what compose, Prometheus and Grafana ask of a role that only its own module knows.

An add-on role's registry entry (roles.py) names its settings section and its renderer module; that
module defines `RENDERER = AddonRenderer(...)`. The renderers of the stack's shared files call the
functions below and never name an add-on role themselves (tests/unit/test_roles.py checks that the
built-in VictoriaMetrics is named by nothing but its entry, its module, the schema and the docs).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stackgen.model import Stack
from stackgen.render.topology import Service, services
from stackgen.roles import facts


def _nothing(stack: Stack, service: Service, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    return []


@dataclass(frozen=True)
class AddonRenderer:
    """What an add-on role contributes to the stack's files."""

    # its compose service definition (image, command, volumes, ports, healthcheck)
    compose_service: Callable[[Stack, Service, Mapping[str, Any]], dict[str, Any]]
    # entries of every Prometheus replica's `remote_write:`
    remote_write: Callable[[Stack, Service, Mapping[str, Any]], list[dict[str, Any]]] = _nothing
    # Grafana datasources it serves
    grafana_datasources: Callable[[Stack, Service, Mapping[str, Any]], list[dict[str, Any]]] = _nothing


def renderer_of(role: str) -> AddonRenderer | None:
    """The renderer module's RENDERER of an add-on role (None for the roles compose.py builds)."""
    addon = facts(role).addon
    if addon is None:
        return None
    module = addon.renderer
    renderer = importlib.import_module(module).RENDERER
    if not isinstance(renderer, AddonRenderer):  # a registry entry naming the wrong module
        raise TypeError(f"{module}.RENDERER is not an AddonRenderer")
    return renderer


def _running(stack: Stack) -> list[tuple[Service, AddonRenderer]]:
    found = []
    for service in services(stack):
        renderer = renderer_of(service.role)
        if renderer is not None:
            found.append((service, renderer))
    return found


def compose_service(stack: Stack, service: Service) -> dict[str, Any] | None:
    """An add-on container's compose definition; None when its role is not an add-on."""
    renderer = renderer_of(service.role)
    if renderer is None:
        return None
    return renderer.compose_service(stack, service, stack.addon_settings(service.role))


def remote_write(stack: Stack) -> list[dict[str, Any]]:
    """The remote_write entries the running add-ons ask Prometheus for."""
    return [
        entry
        for service, renderer in _running(stack)
        for entry in renderer.remote_write(stack, service, stack.addon_settings(service.role))
    ]


def grafana_datasources(stack: Stack) -> list[dict[str, Any]]:
    """The Grafana datasources the running add-ons serve."""
    return [
        source
        for service, renderer in _running(stack)
        for source in renderer.grafana_datasources(stack, service, stack.addon_settings(service.role))
    ]
