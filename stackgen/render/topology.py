"""Which containers a stack has, their compose names, roles and internal ports.

Compose, Prometheus (self-scrape), Alertmanager peers and Grafana datasources all read this one table.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from stackgen.model import Stack
from stackgen.roles import REGISTRY, SECRETS_MOUNT

__all__ = ["INTERNAL_PORTS", "SECRETS_MOUNT", "Service", "by_role", "public_url", "services", "slug"]

# Ports the services listen on inside the stack network (the role registry's).
INTERNAL_PORTS = {str(role): entry.port for role, entry in REGISTRY.items()}
ALERTMANAGER_CLUSTER_PORT = 9094


@dataclass(frozen=True)
class Service:
    """One container of the stack."""

    name: str
    role: str
    replica: int | None = None

    @property
    def port(self) -> int:
        return INTERNAL_PORTS[self.role]

    @property
    def address(self) -> str:
        """host:port inside the stack network."""
        return f"{self.name}:{self.port}"


def replicated(role: str, count: int) -> list[Service]:
    """`prometheus` for one, `prometheus-1..N` for several."""
    if count == 1:
        return [Service(role, role)]
    return [Service(f"{role}-{n}", role, n) for n in range(1, count + 1)]


def services(stack: Stack) -> list[Service]:
    """Every container of the stack, in a stable order."""
    found = replicated("prometheus", stack.prometheus.replicas)
    found += replicated("alertmanager", stack.alertmanager.replicas)
    # every other role is one container, there when the model attribute its registry entry names is
    # true, or for an add-on role when its settings say `enabled`
    found += [
        Service(str(role), str(role))
        for role, entry in REGISTRY.items()
        if (entry.enabled_by and _attribute(stack, entry.enabled_by))
        or (entry.addon and stack.addon_settings(str(role)).get("enabled") is True)
    ]
    return found


def _attribute(stack: Stack, dotted: str) -> bool:
    value: object = stack
    for name in dotted.split("."):
        value = getattr(value, name)
    return bool(value)


def by_role(stack: Stack, role: str) -> list[Service]:
    """The containers of one role."""
    return [service for service in services(stack) if service.role == role]


def slug(name: str) -> str:
    """A file-name-safe form of any user-given name; a hash keeps distinct names distinct."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"
    if safe != name:
        safe = f"{safe[:60]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return safe


def public_url(stack: Stack, port: int) -> str:
    """How a person on this host reaches a published port: links in alerts and messages."""
    host = "127.0.0.1" if stack.listen in ("0.0.0.0", "::") else stack.listen
    host = f"[{host}]" if ":" in host else host
    return f"{stack.web.scheme}://{host}:{port}"
