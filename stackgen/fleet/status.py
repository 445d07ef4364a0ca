"""`stackgen fleet status`: per host the exporter version, TLS certificate expiry and scrape health."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackgen import pki
from stackgen.fleet import prometheus
from stackgen.model import Stack
from stackgen.output import SECRET_DIR
from stackgen.render.fleet import host_file_stem


@dataclass(frozen=True)
class HostStatus:
    """One fleet host as Prometheus and the rendered certificate see it."""

    name: str
    group: str
    address: str
    version: str | None
    tls_expires: str | None
    health: str
    last_error: str

    def to_data(self) -> dict[str, Any]:
        return dict(self.__dict__)


def fleet_status(stack: Stack, out_dir: Path) -> tuple[list[HostStatus], bool]:
    """Every host's status, and whether Prometheus answered."""
    assert stack.fleet is not None
    endpoint = prometheus.prometheus_endpoint(stack, out_dir)
    targets = prometheus.fleet_targets(endpoint)
    versions = prometheus.exporter_versions(endpoint) if targets is not None else {}
    found = []
    for host in stack.fleet.hosts:
        cert = out_dir / SECRET_DIR / "fleet" / "hosts" / f"{host_file_stem(host)}.crt"
        expires = pki.expires_at(cert.read_bytes()).strftime("%Y-%m-%d") if cert.is_file() else None
        target = (targets or {}).get(host.name)
        found.append(
            HostStatus(
                host.name,
                host.group,
                host.address,
                versions.get(host.name),
                expires,
                target.health if target else ("unknown" if targets is None else "not scraped"),
                target.last_error if target else "",
            )
        )
    return found, targets is not None
