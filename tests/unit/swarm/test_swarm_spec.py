"""deploy: in the spec: schema, meaning and model (deploy.engine swarm)."""



from __future__ import annotations

from pathlib import Path

import yaml

from stackgen.spec.build import build_stack
from stackgen.spec.validate import check_spec
from tests.unit.core_helpers import base_spec, write_spec

CONTRACT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "contract"


def check(tmp_path: Path, **sections: object) -> tuple[list[str], list[str]]:
    path = write_spec(tmp_path, base_spec(**sections))
    checked = check_spec(path, {}, display_name="s.yaml")
    return [p.format() for p in checked.errors], [p.format() for p in checked.notices]


def test_the_fleet_contracts_deploy_section_validates_as_it_stands(tmp_path: Path) -> None:
    deploy = yaml.safe_load((CONTRACT_DIR / "fleet.example.yaml").read_text(encoding="utf-8"))["deploy"]
    assert deploy == {"engine": "compose"}
    errors, _ = check(tmp_path, deploy=deploy)
    assert errors == []


def test_defaults_and_placement_reach_the_model(tmp_path: Path) -> None:
    compose = build_stack(base_spec(), tmp_path).deploy
    assert (compose.engine, compose.max_replicas_per_node, compose.shared_output) == ("compose", 1, False)
    swarm = build_stack(
        base_spec(
            deploy={
                "engine": "swarm",
                "placement": {"prometheus": ["node.labels.monitoring == true"]},
                "docker_gid": 999,
            }
        ),
        tmp_path,
    ).deploy
    assert swarm.placement == {"prometheus": ("node.labels.monitoring == true",)}
    assert swarm.docker_gid == 999


def test_ha_replicas_need_a_shared_output_dir(tmp_path: Path) -> None:
    errors, _ = check(tmp_path, deploy={"engine": "swarm"}, prometheus={"replicas": 2})
    assert errors == [
        "s.yaml:10:13: prometheus.replicas: 2 replicas at most 1 per node need several nodes, but "
        "without deploy.shared_output every service that reads config is pinned to the node apply runs on "
        "(put the output directory on storage every node mounts at the same path and set "
        "deploy.shared_output: true, or raise deploy.max_replicas_per_node)"
    ]
    assert (
        check(tmp_path, deploy={"engine": "swarm", "shared_output": True}, prometheus={"replicas": 2})[0]
        == []
    )
    assert (
        check(tmp_path, deploy={"engine": "swarm", "max_replicas_per_node": 2}, prometheus={"replicas": 2})[0]
        == []
    )
    assert check(tmp_path, prometheus={"replicas": 2})[0] == []  # one host: no such question


def test_loopback_listen_on_swarm_is_a_notice(tmp_path: Path) -> None:
    errors, notices = check(tmp_path, deploy={"engine": "swarm"})
    assert errors == []
    assert [n.split(": ", 2)[2] for n in notices] == [
        "deploy.engine: Swarm publishes host-mode ports on every address of the node: listen 127.0.0.1 is "
        "not kept (add web.tls: {} and web.users so that what is published asks for a password, or firewall "
        "the published ports)"
    ]


def test_bad_placement_is_refused_by_the_schema(tmp_path: Path) -> None:
    errors, _ = check(
        tmp_path,
        deploy={
            "engine": "swarm",
            "placement": {"promethues": ["node.role == manager"], "grafana": ["role=manager"]},
        },
    )
    assert len(errors) == 2
    assert any("promethues" in e for e in errors) and any("role=manager" in e for e in errors)


def test_every_role_of_the_registry_can_be_placed() -> None:
    from stackgen.roles import Role
    from stackgen.spec.schema import node_at

    assert set(node_at("deploy", "placement")["propertyNames"]["enum"]) == {role.value for role in Role}
