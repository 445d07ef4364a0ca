"""Checks of the `fleet:` section that a schema cannot express: the inventory, duplicate hosts, the
SSH key, where the exporter comes from, collectors."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from typing import Any

from stackgen.spec.load import LoadedSpec
from stackgen.spec.problems import Problem, Severity

FLEET_JOB = "fleet"
_VERSION_IN_NAME = re.compile(r"node_exporter-(\d+\.\d+\.\d+)")


def fleet_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Every problem of meaning in `fleet:`."""
    fleet = data.get("fleet")
    if not isinstance(fleet, Mapping):
        return
    yield from _hosts(spec, fleet)
    yield from _key_file(spec, fleet)
    yield from _exporter(spec, fleet)
    for index, job in enumerate(data.get("targets") or []):
        if isinstance(job, Mapping) and job.get("job") == FLEET_JOB:
            yield spec.problem(
                ("targets", index, "job"),
                f"job name '{FLEET_JOB}' is taken by the fleet's scrape job",
                "pick another name",
            )


def _hosts(spec: LoadedSpec, fleet: Mapping[str, Any]) -> Iterator[Problem]:
    from stackgen.fleet.inventory import read_inventory

    base = spec.path.parent
    seen: dict[str, str] = {}  # host name -> where it was first defined
    name = fleet.get("inventory")
    if isinstance(name, str):
        path = base / name
        shown = os.path.join(os.path.dirname(spec.file), name)
        if not path.is_file():
            yield spec.problem(
                ("fleet", "inventory"), f"no such file: {name}", f"paths are relative to {base}"
            )
        else:
            inventory = read_inventory(path)
            for problem in inventory.problems:
                yield Problem(shown, problem.line, problem.column, ("fleet", "inventory"), problem.message)
            for group, line, column in inventory.undefined_children():
                yield Problem(
                    shown,
                    line,
                    column,
                    ("fleet", "inventory"),
                    f"unknown group '{group}'",
                    "define it with a [" + group + "] section, or remove it from :children",
                )
            for group in inventory.group_vars:
                if group not in inventory.defined and group != "all":
                    line = inventory.vars_at.get(group, 1)
                    yield Problem(
                        shown,
                        line,
                        1,
                        ("fleet", "inventory"),
                        f"vars for unknown group '{group}'",
                        "a [group:vars] section needs the group's [group] or [group:children]",
                    )
            for host in inventory.hosts.values():
                seen[host.name] = f"{shown} line {host.line}"
    spec_hosts = fleet.get("hosts")
    for index, host in enumerate(spec_hosts if isinstance(spec_hosts, list) else []):
        if not isinstance(host, Mapping) or not isinstance(host.get("name"), str):
            continue
        where = seen.get(host["name"])
        if where:
            yield spec.problem(
                ("fleet", "hosts", index, "name"), f"duplicate host '{host['name']}' (also in {where})"
            )
        else:
            line, _ = spec.positions.of_value(("fleet", "hosts", index, "name"))
            seen[host["name"]] = f"line {line}"
    if not seen and ((isinstance(name, str) and (base / name).is_file()) or "inventory" not in fleet):
        yield spec.problem(
            ("fleet",), "the fleet has no hosts", "add hosts: or an inventory with hosts", at_key=True
        )


def _key_file(spec: LoadedSpec, fleet: Mapping[str, Any]) -> Iterator[Problem]:
    ssh = fleet.get("ssh")
    name = ssh.get("private_key_file") if isinstance(ssh, Mapping) else None
    if not isinstance(name, str):
        return
    path = spec.path.parent / name
    where = ("fleet", "ssh", "private_key_file")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        head = path.read_bytes()[:4096]
    except FileNotFoundError:
        yield spec.problem(where, f"no such file: {name}", "make one with ssh-keygen -t ed25519 -f " + name)
        return
    except OSError as error:
        yield spec.problem(where, f"cannot read {name}: {error.strerror}")
        return
    if mode & 0o077:
        yield spec.problem(
            where,
            f"{name} is readable by others (mode {mode:04o}): ssh refuses such a key",
            f"chmod 600 {name}",
        )
    if b"PRIVATE KEY-----" not in head:
        yield spec.problem(where, f"{name} is not a private key (no PRIVATE KEY line)")


def _exporter(spec: LoadedSpec, fleet: Mapping[str, Any]) -> Iterator[Problem]:
    exporter = fleet.get("node_exporter")
    if not isinstance(exporter, Mapping):
        return
    base = spec.path.parent
    version = exporter.get("version")
    for key in ("source", "checksums"):
        value = exporter.get(key)
        if not isinstance(value, str) or not value:
            continue
        if "://" in value:
            if not value.startswith(("http://", "https://")):
                yield spec.problem(
                    ("fleet", "node_exporter", key),
                    f"{value!r} is neither an http(s) URL nor a file",
                    "an https:// URL of the release (or a mirror), or a path relative to stack.yaml",
                )
        elif not (base / value).is_file():
            yield spec.problem(
                ("fleet", "node_exporter", key),
                f"{value!r} is neither a URL nor an existing file",
                f"paths are relative to {base}",
            )
        named = _VERSION_IN_NAME.search(value) if key == "source" else None
        if named and isinstance(version, str) and named.group(1) != version:
            yield spec.problem(
                ("fleet", "node_exporter", key),
                f"the source is node_exporter {named.group(1)} but version is {version}",
            )
    collectors = exporter.get("collectors")
    if isinstance(collectors, Mapping):
        enable = collectors.get("enable")
        enabled: list[Any] = enable if isinstance(enable, list) else []
        for index, name in enumerate(collectors.get("disable") or []):
            if name in enabled:
                yield spec.problem(
                    ("fleet", "node_exporter", "collectors", "disable", index),
                    f"collector '{name}' is both enabled and disabled",
                )
    if exporter.get("tls") is False:
        yield spec.problem(
            ("fleet", "node_exporter", "tls"),
            "without TLS the scrape password crosses the network in the clear",
            severity=Severity.NOTICE,
        )
