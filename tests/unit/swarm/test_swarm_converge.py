"""runtime/swarm/converge.py against an in-memory swarm: what apply deploys, prunes and rolls back.

The cluster here is a stand-in with the SwarmCluster's reads and writes over plain dicts (the live
tests run the real one); reloads need HTTP and are proven live.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.errors import RuntimeFailure
from stackgen.render import render_stack
from stackgen.runtime.apply import ApplyRun
from stackgen.runtime.plan import ObservedContainer
from stackgen.runtime.swarm.cluster import SwarmTask, UpdateStatus
from stackgen.runtime.swarm.converge import DEPLOYED_FILE, apply_stack
from stackgen.runtime.swarm.placement import SwarmNode
from stackgen.runtime.swarm.stack_file import CONFIG_HASH_LABEL
from stackgen.spec.build import build_stack
from tests.unit.core_helpers import base_spec


class InMemorySwarm:
    """One manager and one worker; `stack deploy` makes services from the file it is given."""

    node_id = "m1"

    def __init__(self) -> None:
        self.deployed: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.service_hashes: dict[str, str] = {}
        self.config_names: dict[str, str] = {"t_otel-collector-config-000000000000": "old-id"}
        self.removed_configs: list[str] = []
        self.pins: dict[str, str] = {}
        self.failing_update: str | None = None

    def nodes(self) -> list[SwarmNode]:
        return [SwarmNode("m1", "node-1", "manager", True), SwarmNode("w2", "node-2", "worker", True)]

    def node_addresses(self) -> dict[str, str]:
        return {"m1": "127.0.0.1", "w2": "127.0.0.1"}  # loopback: nothing here may reach further

    def set_pins(self, project: str, pins: dict[str, str]) -> list[str]:
        changed = sorted(set(pins.items()) ^ set(self.pins.items()))
        self.pins = dict(pins)
        return [label for label, _ in changed]

    def image_id(self, image: str) -> str | None:
        return f"sha256:{image}"

    def docker_socket_gid(self) -> int | None:
        return 101

    def services(self, project: str) -> list[ObservedContainer]:
        return [ObservedContainer(f"id-{name}", f"{project}_{name}", name, 1, "running", None, digest)
                for name, digest in sorted(self.service_hashes.items())]

    def tasks(self, project: str) -> list[SwarmTask]:
        return [SwarmTask(f"task-{name}", name, "m1", 1, "running", "running", "", None)
                for name in self.service_hashes]

    def update_status(self, service_id: str) -> UpdateStatus:
        if self.failing_update and service_id == f"id-{self.failing_update}":
            return UpdateStatus("rollback_completed", "task failed its healthcheck")
        return UpdateStatus("completed", "")

    def stack_deploy(self, stack_file: Path, project: str, environment: dict[str, str]) -> str:
        document = yaml.safe_load(stack_file.read_bytes())
        self.deployed.append((document, dict(environment)))
        self.service_hashes = {name: body["deploy"]["labels"][CONFIG_HASH_LABEL]
                               for name, body in document["services"].items()}
        for name in document.get("configs") or {}:
            self.config_names.setdefault(f"{project}_{name}", f"id-{name}")
        return ""

    def configs(self, project: str) -> dict[str, str]:
        return dict(self.config_names)

    def remove_config(self, config_id: str) -> bool:
        self.removed_configs.append(config_id)
        self.config_names = {k: v for k, v in self.config_names.items() if v != config_id}
        return True


def files_of(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    # no Grafana: its generated password would differ per render here (no secrets kept) and reload it
    spec = base_spec(deploy={"engine": "swarm"}, tracing={"enabled": True}, grafana={"enabled": False},
                     **sections)
    return render_stack(build_stack(spec, tmp_path / "spec"), {})


def test_first_apply_pins_deploys_once_and_removes_old_config_versions(tmp_path: Path) -> None:
    swarm = InMemorySwarm()
    out = tmp_path / "generated"
    report = apply_stack(ApplyRun(files_of(tmp_path), out), swarm)  # type: ignore[arg-type]
    assert len(swarm.deployed) == 1
    document, environment = swarm.deployed[0]
    assert environment == {"STACKGEN_DOCKER_GID": "101"}
    assert set(report.result.summary()["create"]) == set(document["services"])
    assert set(swarm.pins.values()) == {"m1"}  # no shared output: everything on the apply node
    assert swarm.removed_configs == ["old-id"]
    assert (out / DEPLOYED_FILE).is_file()
    # nothing changed: no deploy, nothing pruned
    again = apply_stack(ApplyRun(files_of(tmp_path), out), swarm)  # type: ignore[arg-type]
    assert len(swarm.deployed) == 1 and not again.plan.changes_anything


def test_a_rolled_back_update_puts_the_previous_files_and_stack_back(tmp_path: Path) -> None:
    swarm = InMemorySwarm()
    out = tmp_path / "generated"
    apply_stack(ApplyRun(files_of(tmp_path), out), swarm)  # type: ignore[arg-type]
    before = (out / "docker-stack.yml").read_bytes()
    first_deployed = swarm.deployed[0][0]
    swarm.failing_update = "prometheus"
    with pytest.raises(RuntimeFailure) as raised:
        changed = files_of(tmp_path, prometheus={"retention": "3d"})
        apply_stack(ApplyRun(changed, out), swarm)  # type: ignore[arg-type]
    expected = "prometheus: the new definition did not start (task failed its healthcheck)"
    assert expected in raised.value.message
    assert raised.value.message.endswith("(rolled back to the previous config)")
    assert (out / "docker-stack.yml").read_bytes() == before
    assert len(swarm.deployed) == 3 and swarm.deployed[2][0] == first_deployed  # the previous file again
