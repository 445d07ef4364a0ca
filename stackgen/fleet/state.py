"""What the last roll-out left on each host, as a fingerprint of everything the playbook puts there.

A host whose recorded fingerprint matches what would be rolled out now (and whose target Prometheus
scrapes as up, when Prometheus answers) is not contacted: a no-change run costs no SSH round trips."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from stackgen.fleet.model import FleetHost
from stackgen.output import SECRET_DIR
from stackgen.render.ansible import ANSIBLE_DIR, STATE_DIR
from stackgen.render.fleet import host_file_stem

STATE_FILE = f"{STATE_DIR}/state.json"


def host_fingerprint(out_dir: Path, host: FleetHost, binary_sha256: str) -> str:
    """A digest of the binary, the playbook files, the host's inventory entry and its TLS files."""
    digest = hashlib.sha256(binary_sha256.encode())
    ansible = out_dir / ANSIBLE_DIR
    for path in sorted(p for p in ansible.rglob("*") if p.is_file() and p.name != "inventory.yml"):
        digest.update(path.relative_to(ansible).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(
        json.dumps(
            [host.name, host.address, host.ssh_port, host.ssh_user, dict(host.vars)],
            sort_keys=True,
            default=str,
        ).encode()
    )
    inventory = (ansible / "inventory.yml").read_bytes()
    digest.update(inventory.split(b"\n  hosts:", 1)[0])  # the shared vars, not other hosts' entries
    for suffix in (".crt", ".key"):
        path = out_dir / SECRET_DIR / "fleet" / "hosts" / f"{host_file_stem(host)}{suffix}"
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def read_state(out_dir: Path) -> dict[str, str]:
    """host -> fingerprint of its last successful roll-out."""
    try:
        data = json.loads((out_dir / STATE_FILE).read_text())
        return {str(k): str(v) for k, v in data.get("hosts", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def write_state(out_dir: Path, hosts: Mapping[str, str]) -> None:
    """Record the fingerprints (atomically)."""
    path = out_dir / STATE_FILE
    path.parent.mkdir(mode=0o700, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"hosts": dict(sorted(hosts.items()))}, indent=1) + "\n")
    os.replace(partial, path)
