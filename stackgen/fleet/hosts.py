"""The fleet's hosts: an inventory's and the spec's, merged into FleetHost records."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackgen.fleet.inventory import Inventory, read_inventory
from stackgen.fleet.model import FleetHost

# Host vars stackgen reads itself; the others are passed on to Ansible as they are.
CONNECTION_VARS = ("ansible_host", "ansible_port", "ansible_user")


def inventory_of(data: Mapping[str, Any], spec_dir: Path) -> Inventory | None:
    """The inventory named by `fleet.inventory`, read (None when there is none or it is missing)."""
    name = data.get("inventory")
    if not isinstance(name, str) or not (spec_dir / name).is_file():
        return None
    return read_inventory(spec_dir / name)


def merged_hosts(
    data: Mapping[str, Any], spec_dir: Path, default_user: str, default_port: int
) -> tuple[FleetHost, ...]:
    """Inventory hosts (file order) then spec hosts, with connection defaults applied."""
    hosts: list[FleetHost] = []
    inventory = inventory_of(data, spec_dir)
    if inventory is not None:
        for host in inventory.hosts.values():
            host_vars = inventory.vars_of(host)
            hosts.append(
                FleetHost(
                    name=host.name,
                    address=str(host_vars.get("ansible_host", host.name)),
                    ssh_port=int(host_vars.get("ansible_port", default_port)),
                    ssh_user=str(host_vars.get("ansible_user", default_user)),
                    groups=tuple(inventory.all_groups_of(host)),
                    labels={},
                    vars={k: v for k, v in host_vars.items() if k not in CONNECTION_VARS},
                )
            )
    for entry in data.get("hosts") or []:
        hosts.append(
            FleetHost(
                name=entry["name"],
                address=entry.get("address", entry["name"]),
                ssh_port=entry.get("port", default_port),
                ssh_user=entry.get("user", default_user),
                groups=tuple(_with_ancestors(entry.get("groups", []), inventory)),
                labels={k: str(v) for k, v in (entry.get("labels") or {}).items()},
            )
        )
    return tuple(hosts)


def _with_ancestors(groups: list[str], inventory: Inventory | None) -> list[str]:
    result: list[str] = []
    for group in groups:
        for name in [group, *(inventory.ancestors(group) if inventory else [])]:
            if name not in result:
                result.append(name)
    return result
