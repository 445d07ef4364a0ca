"""Run the rendered playbook with ansible-core and turn its events into per-host outcomes.

ansible-core (the `fleet` extra) runs as `python -m ansible.cli.playbook` in this interpreter, with
stackgen's stdout callback (ansible_plugins/stackgen_events.py) printing one JSON line per result:
the public, stable interface of Ansible's output, without embedding its executor's internals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.errors import RuntimeFailure
from stackgen.render.ansible import ANSIBLE_DIR, STATE_DIR

EVENT_PREFIX = "STACKGEN-EVENT "
PLUGINS = Path(__file__).with_name("ansible_plugins")


@dataclass
class HostOutcome:
    """What the run did on one host."""

    name: str
    ok: int = 0
    changed: int = 0
    failed: bool = False
    unreachable: bool = False
    reason: str = ""
    changed_tasks: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """The host was reached and no task failed on it."""
        return not (self.failed or self.unreachable)

    @property
    def state(self) -> str:
        """unreachable | failed | changed | ok."""
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "ok"


def ansible_available() -> bool:
    """Whether ansible-core is importable here (the `fleet` extra)."""
    try:
        import ansible.cli.playbook  # noqa: F401
    except ImportError:
        return False
    return True


def run_playbook(
    out_dir: Path,
    hosts: Sequence[str],
    forks: int,
    check: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    extra_args: Sequence[str] = (),
) -> dict[str, HostOutcome]:
    """Run generated/ansible/fleet.yml on `hosts` (inventory names); never raises for a host's failure."""
    if not ansible_available():
        raise RuntimeFailure("ansible-core is not installed", hint="pip install 'stackgen[fleet]'")
    out_dir = out_dir.resolve()
    (out_dir / STATE_DIR).mkdir(mode=0o700, exist_ok=True)
    command = _playbook_command(out_dir / ANSIBLE_DIR, hosts, forks, check, extra_args)
    outcomes = {name: HostOutcome(name) for name in hosts}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_ansible_env(), cwd=out_dir
    )
    other = _read_events(process, outcomes, on_event)
    stderr = process.stderr.read() if process.stderr else ""
    code = process.wait()
    if code not in (0, 2, 4) or (code != 0 and all(o.succeeded for o in outcomes.values())):
        detail = " ".join((stderr or "\n".join(other)).split())[-800:]
        raise RuntimeFailure(f"ansible-playbook exited {code}: {detail}")
    return outcomes


def _playbook_command(
    ansible: Path, hosts: Sequence[str], forks: int, check: bool, extra_args: Sequence[str]
) -> list[str]:
    """ansible-playbook in this interpreter, on the rendered inventory and playbook."""
    command = [
        sys.executable,
        "-m",
        "ansible.cli.playbook",
        "-i",
        str(ansible / "inventory.yml"),
        str(ansible / "fleet.yml"),
        "--forks",
        str(max(1, min(forks, len(hosts)))),
        "--limit",
        ",".join(hosts),
        *extra_args,
    ]
    if check:
        command += ["--check", "--diff"]
    return command


def _ansible_env() -> dict[str, str]:
    """This process's environment with stackgen's event callback, Ansible's colours, retry files and
    warnings off, and no ANSIBLE_CONFIG."""
    env = {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "stackgen_events",
        "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "ANSIBLE_SYSTEM_WARNINGS": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    }
    env.pop("ANSIBLE_CONFIG", None)
    return env


def _read_events(
    process: subprocess.Popen[str],
    outcomes: dict[str, HostOutcome],
    on_event: Callable[[dict[str, Any]], None] | None,
) -> list[str]:
    """Account each event line of the run's output to its host; returns the other lines."""
    assert process.stdout is not None
    other: list[str] = []
    for line in process.stdout:
        if not line.startswith(EVENT_PREFIX):
            other.append(line.rstrip())
            continue
        event = json.loads(line[len(EVENT_PREFIX) :])
        _account(outcomes, event)
        if on_event is not None:
            on_event(event)
    return other


def _account(outcomes: dict[str, HostOutcome], event: dict[str, Any]) -> None:
    host = outcomes.get(str(event.get("host")))
    if host is None:
        return
    kind = event.get("kind")
    if kind == "ok" and event.get("changed"):
        host.changed_tasks.append(str(event.get("task")))
    elif kind == "failed":
        host.failed = True
        host.reason = host.reason or f"{event.get('task')}: {event.get('message')}"
    elif kind == "unreachable":
        host.unreachable = True
        host.reason = host.reason or str(event.get("message"))
    elif kind == "stats":
        host.ok = int(event.get("ok", 0))
        host.changed = int(event.get("changed", 0))
        host.failed = host.failed or bool(event.get("failures"))
        host.unreachable = host.unreachable or bool(event.get("unreachable"))
