"""The fleet's part of the model: hosts outside the stack and the exporter rolled out to them, built
once from a valid `fleet:` section (an inventory merged with the spec's own hosts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.spec.schema import default


@dataclass(frozen=True)
class FleetHost:
    """A host of the fleet: where Ansible and Prometheus reach it, and its groups (nearest first)."""

    name: str
    address: str
    ssh_port: int
    ssh_user: str
    groups: tuple[str, ...]
    labels: Mapping[str, str]
    vars: Mapping[str, Any] = field(default_factory=dict)  # the inventory's other host vars, kept for Ansible

    @property
    def group(self) -> str:
        """The `group` target label: the first group the host is directly in."""
        return self.groups[0] if self.groups else "ungrouped"


UPSTREAM_RELEASES = "https://github.com/prometheus/node_exporter/releases/download"


@dataclass(frozen=True)
class NodeExporterSettings:
    """The exporter rolled out to the fleet."""

    version: str
    source: str  # an http(s) URL or an absolute path on this machine
    checksums: str | None
    port: int
    enable: tuple[str, ...]
    disable: tuple[str, ...]
    tls: bool
    scrape_password: str | None  # None: generated once into secrets/ and kept


@dataclass(frozen=True)
class Fleet:
    """Hosts outside the stack, rolled out over SSH."""

    hosts: tuple[FleetHost, ...]
    private_key_file: Path | None
    become: bool
    forks: int
    host_key_checking: str
    node_exporter: NodeExporterSettings


def build_fleet(data: Mapping[str, Any], spec_dir: Path) -> Fleet:
    """The fleet section: spec hosts and the inventory's merged (validation made sure they do not clash)."""
    from stackgen.fleet.hosts import merged_hosts

    ssh = data.get("ssh") or {}
    exporter = data.get("node_exporter") or {}
    collectors = exporter.get("collectors") or {}
    version = exporter.get("version", default("fleet", "node_exporter", "version"))
    source = exporter.get("source") or (
        f"{UPSTREAM_RELEASES}/v{version}/node_exporter-{version}.linux-amd64.tar.gz"
    )
    checksums = exporter.get("checksums")

    def local(path: str | None) -> str | None:
        if path is None or "://" in path:
            return path
        return str((spec_dir / path).resolve())

    key = ssh.get("private_key_file")
    return Fleet(
        hosts=merged_hosts(
            data,
            spec_dir,
            ssh.get("user", default("fleet", "ssh", "user")),
            ssh.get("port", default("fleet", "ssh", "port")),
        ),
        private_key_file=(spec_dir / key).resolve() if key else None,
        become=data.get("become", default("fleet", "become")),
        forks=data.get("forks", default("fleet", "forks")),
        host_key_checking=ssh.get("host_key_checking", default("fleet", "ssh", "host_key_checking")),
        node_exporter=NodeExporterSettings(
            version=version,
            source=local(source) or source,
            checksums=local(checksums),
            port=exporter.get("port", default("fleet", "node_exporter", "port")),
            enable=tuple(collectors.get("enable", [])),
            disable=tuple(collectors.get("disable", [])),
            tls=exporter.get("tls", default("fleet", "node_exporter", "tls")),
            scrape_password=exporter.get("scrape_password"),
        ),
    )
