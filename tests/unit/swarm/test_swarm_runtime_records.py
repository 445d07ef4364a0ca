"""The swarm engine's pure parts: stack file records, the plan over them, pin placement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.errors import RuntimeFailure
from stackgen.render import render_stack
from stackgen.runtime.plan import ActionKind, ObservedContainer, changed_files, file_hashes, plan
from stackgen.runtime.swarm.placement import SwarmNode, assign_pins, constraint_matches
from stackgen.runtime.swarm.stack_file import (
    CONFIG_HASH_LABEL,
    config_file_of,
    desired_services,
    parse_stack,
    with_hash_labels,
)
from stackgen.spec.build import build_stack
from tests.unit.core_helpers import base_spec

NODES = [
    SwarmNode("m1", "node-1", "manager", True, {"monitoring": "true"}),
    SwarmNode("m2", "node-2", "manager", True),
    SwarmNode("w3", "node-3", "worker", True),
]


def rendered(tmp_path: Path, **sections: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    spec = base_spec(**sections)
    spec.setdefault("deploy", {"engine": "swarm", "shared_output": True})
    files = render_stack(build_stack(spec, tmp_path), {})
    return yaml.safe_load(files["docker-stack.yml"].content), {p: f.content for p, f in files.items()}


def observed_from(desired: list[Any]) -> list[ObservedContainer]:
    return [
        ObservedContainer(f"id-{d.name}", f"t_{d.name}", d.name, 1, "running", None, d.config_hash, d.image)
        for d in desired
    ]


def test_the_stack_file_as_records(tmp_path: Path) -> None:
    document, _ = rendered(tmp_path, prometheus={"replicas": 2})
    stack = parse_stack(document)
    assert stack.project == "t" and stack.shared_output is True
    prometheus = stack.service("prometheus-2")
    assert (prometheus.role, prometheus.is_global, prometheus.pin_label) == (
        "prometheus",
        False,
        "io.stackgen.t.prometheus-2",
    )
    assert prometheus.constraints == ("node.role == manager",)
    assert prometheus.published_port(9090) == 9091
    assert config_file_of(prometheus) == "prometheus/prometheus-2.yml"
    assert stack.service("node-exporter").is_global and stack.service("node-exporter").pin_label is None


def test_plan_over_swarm_services_reloads_config_and_updates_definitions(tmp_path: Path) -> None:
    document, files = rendered(tmp_path)
    stack = parse_stack(document)
    hashes = file_hashes(files)
    desired = desired_services(stack, hashes, {})
    running = observed_from(desired)
    assert not plan(desired, running, changed_files(hashes, hashes)).changes_anything
    # a rule edit: Prometheus reloads, nothing gets a new task; a target edit: nothing at all
    edited = dict(hashes, **{"prometheus/rules/groups/x.yml": "new", "prometheus/targets/a.json": "new"})
    decided = plan(desired_services(stack, edited, {}), running, changed_files(edited, hashes))
    assert [(a.service, a.kind) for a in decided.actions if a.kind is not ActionKind.NOOP] == [
        ("prometheus", ActionKind.RELOAD)
    ]
    # a changed definition (another image) is an update through docker stack deploy
    document["services"]["alertmanager"]["image"] = "other/alertmanager:1"
    changed = desired_services(parse_stack(document), hashes, {})
    assert [
        (a.service, a.kind)
        for a in plan(changed, running, frozenset()).actions
        if a.kind is not ActionKind.NOOP
    ] == [("alertmanager", ActionKind.RECREATE)]
    # a service of the stack that the file no longer has is removed (stack deploy --prune)
    extra = [*running, ObservedContainer("id-old", "t_old", "old", 1, "running", None, "h")]
    assert plan(desired, extra, frozenset()).of_kind(ActionKind.REMOVE)[0].service == "old"


def test_a_new_image_id_is_a_new_definition(tmp_path: Path) -> None:
    document, files = rendered(tmp_path)
    stack = parse_stack(document)
    image = stack.service("prometheus").image
    before = {d.name: d.config_hash for d in desired_services(stack, file_hashes(files), {image: "sha256:a"})}
    after = {d.name: d.config_hash for d in desired_services(stack, file_hashes(files), {image: "sha256:b"})}
    assert before["prometheus"] != after["prometheus"] and before["alertmanager"] == after["alertmanager"]


def test_deployed_file_carries_each_definition_hash(tmp_path: Path) -> None:
    document, files = rendered(tmp_path)
    desired = desired_services(parse_stack(document), file_hashes(files), {})
    deployed = with_hash_labels(document, desired)
    for service in desired:
        assert (
            deployed["services"][service.name]["deploy"]["labels"][CONFIG_HASH_LABEL] == service.config_hash
        )
    assert CONFIG_HASH_LABEL not in document["services"]["prometheus"]["deploy"]["labels"]  # a copy


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("node.role == manager", True),
        ("node.role != manager", False),
        ("node.hostname == node-1", True),
        ("node.labels.monitoring == true", True),
        ("node.labels.monitoring != true", False),
        ("node.labels.absent == x", False),
        ("node.labels.absent != x", True),
        ("node.id == m1", True),
        ("node.platform.os == linux", True),
    ],
)
def test_constraints_as_swarm_reads_them(constraint: str, expected: bool) -> None:
    assert constraint_matches(constraint, NODES[0]) is expected


def test_ha_replicas_are_pinned_to_different_nodes_and_pins_are_kept(tmp_path: Path) -> None:
    document, _ = rendered(tmp_path, prometheus={"replicas": 2}, alertmanager={"replicas": 3})
    stack = parse_stack(document)
    pins = assign_pins(stack.services, NODES, "m1", shared_output=True, max_replicas_per_node=1)
    prometheus = [pins[f"io.stackgen.t.prometheus-{n}"] for n in (1, 2)]
    assert sorted(prometheus) == ["m1", "m2"]  # managers only, one each
    assert sorted(pins[f"io.stackgen.t.alertmanager-{n}"] for n in (1, 2, 3)) == ["m1", "m2", "w3"]
    # existing pins stay, even on a node that is down (its volume is there)
    labelled = [
        SwarmNode(
            n.id,
            n.hostname,
            n.role,
            n.id != "m2",
            {**n.labels, **{label: "true" for label, node in pins.items() if node == n.id}},
        )
        for n in NODES
    ]
    assert assign_pins(stack.services, labelled, "m1", True, 1) == pins


def test_without_a_shared_output_everything_pinned_goes_to_the_apply_node(tmp_path: Path) -> None:
    document, _ = rendered(tmp_path, deploy={"engine": "swarm"})
    pins = assign_pins(
        parse_stack(document).services, NODES, "m2", shared_output=False, max_replicas_per_node=1
    )
    assert set(pins.values()) == {"m2"}


def test_no_node_to_place_on_is_said_plainly(tmp_path: Path) -> None:
    document, _ = rendered(tmp_path, prometheus={"replicas": 3})
    with pytest.raises(RuntimeFailure) as raised:
        assign_pins(parse_stack(document).services, NODES, "m1", shared_output=True, max_replicas_per_node=1)
    assert "prometheus-" in raised.value.message and "at most 1 prometheus per node" in raised.value.message


def test_the_relay_stays_on_the_node_its_image_is_built_on(tmp_path: Path) -> None:
    document, _ = rendered(
        tmp_path,
        receivers=[{"name": "ops", "dingtalk": {"url": "https://ding.example/x"}}],
        route={"receiver": "ops"},
    )
    for apply_node in ("m2", "w3"):
        pins = assign_pins(parse_stack(document).services, NODES, apply_node, True, 1)
        assert pins["io.stackgen.t.relay"] == apply_node
