"""generated/ansible/: the inventory, playbook, task files and exporter files of the fleet roll-out.

Runnable by hand like the compose file is (`ansible-playbook -i generated/ansible/inventory.yml
generated/ansible/fleet.yml`), builtin modules only (no Galaxy). The shape follows the prometheus-
community node_exporter role (preflight -> install -> configure -> verify) with fewer, cheaper tasks:
no fact gathering, the unit and web config rendered here (the same for every host) and copied, the
binary fetched and checked once on this machine (stackgen.fleet.artifact) and copied from its cache.

The exporters read web-config.yml and the certificate at every request/handshake (exporter-toolkit),
so only a new binary or unit restarts them: rotating a password or a certificate keeps the MainPID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from stackgen.fleet.model import Fleet
from stackgen.output import RenderedFile
from stackgen.render.dump import HEADER, yaml_bytes
from stackgen.render.fleet import ScrapeCredentials, host_file_stem

ANSIBLE_DIR = "ansible"
CONFIG_DIR = "/etc/node_exporter"
TEXTFILE_DIR = "/var/lib/node_exporter/textfile"
BINARY = "/usr/local/bin/node_exporter"
SYSTEM_USER = "node-exp"
UNIT = "node_exporter"
CACHE_ENV = "STACKGEN_FLEET_CACHE"
STATE_DIR = ".fleet"  # beside ansible/: known_hosts and the recorded roll-out state (not rendered)


def render_ansible(
    fleet: Fleet, credentials: ScrapeCredentials, host_tls: Mapping[str, tuple[bytes, bytes]]
) -> dict[str, RenderedFile]:
    """Every file under ansible/ (paths relative to the output dir). `host_tls`: host -> (cert, key)."""
    unit = unit_file(fleet).encode("utf-8")
    web = yaml_bytes(web_config(fleet, credentials))
    files = {
        "inventory.yml": yaml_bytes(inventory(fleet, expected_state(fleet, web, unit), host_tls)),
        "fleet.yml": yaml_bytes(playbook()),
        "tasks/preflight.yml": yaml_bytes(preflight_tasks(fleet)),
        "tasks/install.yml": yaml_bytes(install_tasks()),
        "tasks/configure.yml": yaml_bytes(configure_tasks()),
        "tasks/verify.yml": yaml_bytes(verify_tasks()),
        "files/node_exporter.service": unit,
        "files/web-config.yml": web,
    }
    return {f"{ANSIBLE_DIR}/{path}": RenderedFile(content) for path, content in files.items()}


def managed_dirs() -> list[tuple[str, str, str]]:
    """(path, mode as stat prints it, owner) of the directories the playbook makes."""
    return [(CONFIG_DIR, "750", SYSTEM_USER), (TEXTFILE_DIR, "755", "root")]


def managed_files(fleet: Fleet) -> list[tuple[str, str, str]]:
    """(path, mode, owner) of the files the playbook puts on a host, in the order preflight reports them."""
    files = [(BINARY, "755", "root"), (f"{CONFIG_DIR}/web-config.yml", "400", SYSTEM_USER)]
    if fleet.node_exporter.tls:
        files += [
            (f"{CONFIG_DIR}/tls.crt", "400", SYSTEM_USER),
            (f"{CONFIG_DIR}/tls.key", "400", SYSTEM_USER),
        ]
    return [*files, (f"/etc/systemd/system/{UNIT}.service", "644", "root")]


def expected_state(fleet: Fleet, web: bytes, unit: bytes) -> list[str]:
    """What preflight prints on a host that is in sync: modes, owners and digests, then the unit's state.

    The binary's digest is read from the cache beside it (known once fetched), a host's TLS digests from
    its host vars; a host whose report matches is skipped by every later task (one SSH round trip)."""
    digests = {
        BINARY: "{{ lookup('ansible.builtin.file', node_exporter_binary_source + '.sha256') }}",
        f"{CONFIG_DIR}/web-config.yml": hashlib.sha256(web).hexdigest(),
        f"{CONFIG_DIR}/tls.crt": "{{ stackgen_tls_sha256[0] }}",
        f"{CONFIG_DIR}/tls.key": "{{ stackgen_tls_sha256[1] }}",
        f"/etc/systemd/system/{UNIT}.service": hashlib.sha256(unit).hexdigest(),
    }
    lines = [f"{mode} {owner} root" for _, mode, owner in managed_dirs()]
    lines += [f"{mode} {owner} root {digests[path]}" for path, mode, owner in managed_files(fleet)]
    return [*lines, "active enabled"]


def binary_dir_name(version: str) -> str:
    """The release tarball's top directory, also the binary's folder in the cache."""
    return f"node_exporter-{version}.linux-amd64"


def connection_vars(fleet: Fleet) -> dict[str, Any]:
    """How Ansible connects: pipelining and a shared SSH master (the two biggest costs), no
    interpreter discovery, host keys per `ssh.host_key_checking`."""
    ssh_args = ["-o ControlMaster=auto", "-o ControlPersist=120s"]
    if fleet.host_key_checking == "no":
        ssh_args += ["-o StrictHostKeyChecking=no", "-o UserKnownHostsFile=/dev/null"]
    elif fleet.host_key_checking == "accept-new":
        ssh_args += [
            "-o StrictHostKeyChecking=accept-new",
            f"-o UserKnownHostsFile={{{{ inventory_dir }}}}/../{STATE_DIR}/known_hosts",
        ]
    values: dict[str, Any] = {
        "ansible_pipelining": True,
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_common_args": " ".join(ssh_args),
        "ansible_become": fleet.become,
    }
    if fleet.host_key_checking != "yes":
        values["ansible_host_key_checking"] = False  # ssh itself checks (accept-new) or nobody does
    if fleet.private_key_file is not None:
        values["ansible_ssh_private_key_file"] = str(fleet.private_key_file)
    return values


def exporter_vars(fleet: Fleet) -> dict[str, Any]:
    """The role-style knobs the task files read, all named node_exporter_*."""
    exporter = fleet.node_exporter
    cache = (
        f"{{{{ lookup('ansible.builtin.env', '{CACHE_ENV}') or "
        f"(lookup('ansible.builtin.env', 'HOME') + '/.cache/stackgen/fleet') }}}}"
    )
    return {
        "node_exporter_version": exporter.version,
        "node_exporter_port": exporter.port,
        "node_exporter_tls": exporter.tls,
        "node_exporter_binary_source": f"{cache}/{binary_dir_name(exporter.version)}/node_exporter",
        "node_exporter_binary": BINARY,
        "node_exporter_config_dir": CONFIG_DIR,
        "node_exporter_textfile_dir": TEXTFILE_DIR,
        "node_exporter_system_user": SYSTEM_USER,
        "node_exporter_secrets_dir": "{{ inventory_dir }}/../secrets/fleet/hosts",
    }


def inventory(
    fleet: Fleet, expected: list[str], host_tls: Mapping[str, tuple[bytes, bytes]]
) -> dict[str, Any]:
    """inventory.yml: every host under `all` with its connection, then the groups."""
    hosts: dict[str, Any] = {}
    groups: dict[str, list[str]] = {}
    for host in fleet.hosts:
        entry: dict[str, Any] = {
            "ansible_host": host.address,
            "ansible_port": host.ssh_port,
            "ansible_user": host.ssh_user,
            "stackgen_host_file": host_file_stem(host),
        }
        if host.name in host_tls:
            entry["stackgen_tls_sha256"] = [hashlib.sha256(part).hexdigest() for part in host_tls[host.name]]
        entry.update({k: v for k, v in sorted(host.vars.items()) if not k.startswith("ansible_")})
        hosts[host.name] = entry
        for group in host.groups:
            groups.setdefault(group, []).append(host.name)
    shared = {**connection_vars(fleet), **exporter_vars(fleet), "node_exporter_expected_state": expected}
    root: dict[str, Any] = {"vars": shared, "hosts": hosts}
    if groups:
        root["children"] = {
            name: {"hosts": {member: None for member in members}} for name, members in sorted(groups.items())
        }
    return {"all": root}


def playbook() -> list[dict[str, Any]]:
    """fleet.yml: one play, preflight -> install -> configure -> verify."""
    return [
        {
            "name": "node_exporter on the fleet (stackgen)",
            "hosts": "all",
            "gather_facts": False,
            # A host whose preflight report matches the expected state is skipped by every later task.
            "vars": {
                "node_exporter_in_sync": "{{ node_exporter_installed.stdout_lines == "
                "node_exporter_expected_state }}"
            },
            "tasks": [
                {"ansible.builtin.import_tasks": "tasks/preflight.yml"},
                *(
                    {"ansible.builtin.import_tasks": f"tasks/{name}.yml", "when": "not node_exporter_in_sync"}
                    for name in ("install", "configure", "verify")
                ),
            ],
            "handlers": [
                {
                    "name": "restart node_exporter",
                    "ansible.builtin.systemd": {"name": UNIT, "state": "restarted", "daemon_reload": True},
                }
            ],
        }
    ]


def preflight_tasks(fleet: Fleet) -> list[dict[str, Any]]:
    """Before any change: systemd runs the host (the exporter is a unit); report what is installed
    (modes, owners, digests, unit state) so that a host already in sync is not touched further."""
    dirs = " ".join(path for path, _, _ in managed_dirs())
    files = " ".join(path for path, _, _ in managed_files(fleet))
    script = "\n".join(
        [
            "test -d /run/systemd/system || { echo 'systemd is not PID 1 here' >&2; exit 3; }",
            f"for d in {dirs}; do stat -c '%a %U %G' \"$d\" 2>/dev/null || echo missing; done",
            f'for f in {files}; do if [ -f "$f" ]; then',
            '  echo "$(stat -c \'%a %U %G\' "$f") $(sha256sum "$f" | cut -d\' \' -f1)"',
            "else echo missing; fi; done",
            f'echo "$(systemctl is-active {UNIT}) $(systemctl is-enabled {UNIT} 2>/dev/null)"',
        ]
    )
    return [
        {
            "name": "preflight: systemd is PID 1; what is installed",
            "ansible.builtin.shell": script,
            "register": "node_exporter_installed",
            "changed_when": False,
            "failed_when": "node_exporter_installed.rc != 0",
            "check_mode": False,
        }
    ]


def install_tasks() -> list[dict[str, Any]]:
    """The system user, the directories and the binary (copied from this machine's verified cache)."""
    return [
        {
            "name": "install: system user {{ node_exporter_system_user }}",
            "ansible.builtin.user": {
                "name": "{{ node_exporter_system_user }}",
                "system": True,
                "shell": "/usr/sbin/nologin",
                "create_home": False,
                "home": "/nonexistent",
            },
        },
        {
            "name": "install: directories",
            "ansible.builtin.file": {
                "path": "{{ item.path }}",
                "state": "directory",
                "owner": "{{ item.owner }}",
                "group": "root",
                "mode": "{{ item.mode }}",
            },
            "loop": [
                {
                    "path": "{{ node_exporter_config_dir }}",
                    "owner": "{{ node_exporter_system_user }}",
                    "mode": "0750",
                },
                {"path": "{{ node_exporter_textfile_dir }}", "owner": "root", "mode": "0755"},
            ],
            "loop_control": {"label": "{{ item.path }}"},
        },
        {
            "name": "install: node_exporter {{ node_exporter_version }}",
            "ansible.builtin.copy": {
                "src": "{{ node_exporter_binary_source }}",
                "dest": "{{ node_exporter_binary }}",
                "owner": "root",
                "group": "root",
                "mode": "0755",
            },
            "notify": "restart node_exporter",
        },
    ]


def configure_tasks() -> list[dict[str, Any]]:
    """Web config and TLS files (read per request: no restart), then the unit."""
    files = [{"src": "{{ playbook_dir }}/files/web-config.yml", "dest": "web-config.yml", "mode": "0400"}]
    tls = [
        {
            "src": "{{ node_exporter_secrets_dir }}/{{ stackgen_host_file }}.crt",
            "dest": "tls.crt",
            "mode": "0400",
        },
        {
            "src": "{{ node_exporter_secrets_dir }}/{{ stackgen_host_file }}.key",
            "dest": "tls.key",
            "mode": "0400",
        },
    ]
    return [
        {
            "name": "configure: web config and TLS",
            "ansible.builtin.copy": {
                "src": "{{ item.src }}",
                "dest": "{{ node_exporter_config_dir }}/{{ item.dest }}",
                "owner": "{{ node_exporter_system_user }}",
                "group": "root",
                "mode": "{{ item.mode }}",
            },
            "loop": "{{ files + (tls if node_exporter_tls else []) }}",
            "loop_control": {"label": "{{ item.dest }}"},
            "vars": {"files": files, "tls": tls},
            "diff": False,  # --diff would print the private key
        },
        {
            "name": "configure: systemd unit",
            "ansible.builtin.copy": {
                "src": "{{ playbook_dir }}/files/node_exporter.service",
                "dest": f"/etc/systemd/system/{UNIT}.service",
                "owner": "root",
                "group": "root",
                "mode": "0644",
            },
            "notify": "restart node_exporter",
        },
        {
            "name": "configure: node_exporter enabled and running",
            "ansible.builtin.systemd": {
                "name": UNIT,
                "enabled": True,
                "state": "started",
                "daemon_reload": True,
            },
        },
    ]


def verify_tasks() -> list[dict[str, Any]]:
    """After handlers ran: the exporter answers, and refuses a request without credentials."""
    return [
        {"ansible.builtin.meta": "flush_handlers"},
        {
            "name": "verify: node_exporter answers and asks for credentials",
            "ansible.builtin.uri": {
                "url": "{{ 'https' if node_exporter_tls else 'http' }}://127.0.0.1:"
                "{{ node_exporter_port }}/metrics",
                "validate_certs": False,
                "status_code": 401,
            },
            "register": "node_exporter_answer",
            "until": "node_exporter_answer.status == 401",
            "retries": 10,
            "delay": 1,
            "check_mode": False,
        },
    ]


def web_config(fleet: Fleet, credentials: ScrapeCredentials) -> dict[str, Any]:
    """The exporter-toolkit web config: TLS from the host's certificate, every accepted scrape user."""
    config: dict[str, Any] = {}
    if fleet.node_exporter.tls:
        config["tls_server_config"] = {
            "cert_file": f"{CONFIG_DIR}/tls.crt",
            "key_file": f"{CONFIG_DIR}/tls.key",
            "min_version": "TLS12",
        }
    config["basic_auth_users"] = {user.name: user.bcrypt_hash for user in credentials.accepted}
    return config


# systemd sandboxing: the exporter reads /proc, /sys and (systemd collector) the D-Bus socket, and
# writes nothing. Every option below is checked on a real host by the fleet integration test.
HARDENING: Mapping[str, str] = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "SystemCallArchitectures": "native",
    "SystemCallFilter": "@system-service",
    "SystemCallErrorNumber": "EPERM",  # a collector's odd syscall fails, not the exporter (SIGSYS)
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "UMask": "0077",
}


def exporter_arguments(fleet: Fleet) -> list[str]:
    """node_exporter's command line."""
    exporter = fleet.node_exporter
    arguments = [f"--web.listen-address=:{exporter.port}", f"--web.config.file={CONFIG_DIR}/web-config.yml"]
    arguments += [f"--collector.{name}" for name in exporter.enable]
    arguments += [f"--no-collector.{name}" for name in exporter.disable]
    if "textfile" not in exporter.disable:
        arguments.append(f"--collector.textfile.directory={TEXTFILE_DIR}")
    return arguments


def unit_file(fleet: Fleet) -> str:
    """The hardened systemd unit (the same on every host)."""
    command = " \\\n    ".join([BINARY, *exporter_arguments(fleet)])
    lines = [
        HEADER.rstrip("\n"),
        "[Unit]",
        "Description=Prometheus node_exporter (stackgen fleet)",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"User={SYSTEM_USER}",
        f"ExecStart={command}",
        "Restart=always",
        "RestartSec=1",
        *(f"{key}={value}" for key, value in HARDENING.items()),
        f"ReadOnlyPaths={CONFIG_DIR}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"
