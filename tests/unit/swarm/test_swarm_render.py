"""render/swarm.py and the per-node discovery: docker-stack.yml and what Prometheus scrapes on a swarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackgen.render import render_stack
from stackgen.render.swarm import STACK_FILE, swarm_config_name
from stackgen.spec.build import build_stack
from tests.unit.core_helpers import base_spec, check_prometheus, write_files


def swarm_files(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    spec = base_spec(**sections)
    spec.setdefault("deploy", {"engine": "swarm", "shared_output": True})
    return render_stack(build_stack(spec, tmp_path), {})


def stack_document(files: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(files[STACK_FILE].content)


def test_the_swarm_engine_renders_a_stack_file_instead_of_a_compose_file(tmp_path: Path) -> None:
    files = swarm_files(tmp_path)
    assert STACK_FILE in files and "docker-compose.yml" not in files and ".env" not in files
    compose = render_stack(build_stack(base_spec(), tmp_path), {})
    assert "docker-compose.yml" in compose and STACK_FILE not in compose


def test_exporters_are_global_and_named_after_their_node(tmp_path: Path) -> None:
    services = stack_document(swarm_files(tmp_path))["services"]
    for name in ("node-exporter", "cadvisor"):
        assert services[name]["deploy"]["mode"] == "global"
        assert services[name]["hostname"] == "{{.Node.Hostname}}"
        assert "placement" not in services[name]["deploy"]  # every node
        assert "privileged" not in services[name] and "pid" not in services[name]


def test_other_services_are_pinned_dnsrr_and_published_in_host_mode(tmp_path: Path) -> None:
    document = stack_document(
        swarm_files(
            tmp_path,
            deploy={
                "engine": "swarm",
                "shared_output": True,
                "placement": {"prometheus": ["node.labels.monitoring == true"]},
            },
        )
    )
    prometheus = document["services"]["prometheus"]
    assert prometheus["deploy"]["endpoint_mode"] == "dnsrr"
    assert prometheus["deploy"]["placement"]["constraints"] == [
        "node.role == manager",
        "node.labels.monitoring == true",
        "node.labels.io.stackgen.t.prometheus == true",
    ]
    assert prometheus["ports"] == [{"target": 9090, "published": 9090, "protocol": "tcp", "mode": "host"}]
    assert prometheus["user"] == "65534:${STACKGEN_DOCKER_GID}"
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in prometheus["volumes"]
    assert "./prometheus:/etc/prometheus:ro" in prometheus["volumes"]  # hot-reloaded from the directory
    assert prometheus["deploy"]["update_config"]["failure_action"] == "rollback"
    for service in document["services"].values():
        assert not {"restart", "depends_on", "extra_hosts"} & set(service)
    assert document["networks"] == {"default": {"driver": "overlay", "attachable": True}}
    assert document["x-stackgen"]["shared_output"] is True


def test_a_given_docker_gid_is_written_as_it_is(tmp_path: Path) -> None:
    document = stack_document(swarm_files(tmp_path, deploy={"engine": "swarm", "docker_gid": 998}))
    assert document["services"]["prometheus"]["user"] == "65534:998"


def test_alertmanagers_of_a_cluster_advertise_their_overlay_address(tmp_path: Path) -> None:
    services = stack_document(swarm_files(tmp_path, alertmanager={"replicas": 2}))["services"]
    entrypoint = services["alertmanager-1"]["entrypoint"]
    assert entrypoint[:2] == ["/bin/sh", "-c"]
    assert "--cluster.advertise-address=$$(hostname -i):9094" in entrypoint[2]
    assert "--cluster.peer=alertmanager-2:9094" in services["alertmanager-1"]["command"]
    lone = stack_document(swarm_files(tmp_path))["services"]["alertmanager"]
    assert "entrypoint" not in lone


def test_start_only_config_is_a_swarm_config_named_after_its_content(tmp_path: Path) -> None:
    files = swarm_files(tmp_path, tracing={"enabled": True})
    document = stack_document(files)
    name = swarm_config_name("otel-collector/config.yml", files["otel-collector/config.yml"].content)
    assert document["configs"] == {name: {"file": "./otel-collector/config.yml"}}
    collector = document["services"]["otel-collector"]
    assert collector["configs"] == [{"source": name, "target": "/etc/otelcol/config.yml", "mode": 0o444}]
    assert "volumes" not in collector
    assert swarm_config_name("a/b.yml", b"x") != swarm_config_name("a/b.yml", b"y")


def test_prometheus_finds_the_per_node_exporters_through_the_swarm_api(tmp_path: Path) -> None:
    config = yaml.safe_load(swarm_files(tmp_path)["prometheus/prometheus.yml"].content)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    node = jobs["node-exporter"]
    assert node["dockerswarm_sd_configs"] == [
        {
            "host": "unix:///var/run/docker.sock",
            "role": "tasks",
            "port": 9100,
            "refresh_interval": "5s",
            "filters": [{"name": "service", "values": ["t_node-exporter"]}],
        }
    ]
    keep_tasks = node["relabel_configs"][1]
    assert keep_tasks["regex"] == "running;.*;.*|shutdown;running;down"  # a down node's task stays a target
    assert node["relabel_configs"][2] == {
        "source_labels": ["__meta_dockerswarm_node_hostname"],
        "target_label": "instance",
    }
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["prometheus:9090"]}]  # one task: its name
    compose = yaml.safe_load(
        render_stack(build_stack(base_spec(), tmp_path), {})["prometheus/prometheus.yml"].content
    )
    assert {j["job_name"]: j for j in compose["scrape_configs"]}["node-exporter"]["static_configs"] == [
        {"targets": ["node-exporter:9100"]}
    ]


def test_the_swarm_pack_comes_with_the_swarm_engine(tmp_path: Path) -> None:
    spec = {"version": 1, "name": "t", "deploy": {"engine": "swarm"}}
    assert "swarm" in build_stack(spec, tmp_path).rule_packs.include
    assert "swarm" not in build_stack({"version": 1, "name": "t"}, tmp_path).rule_packs.include


def test_promtool_accepts_the_swarm_prometheus_config(tmp_path: Path) -> None:
    files = swarm_files(tmp_path / "spec", prometheus={"replicas": 2}, rules={"include": ["swarm"]})
    check_prometheus(write_files(files, tmp_path / "out"), tmp_path)


def test_what_compose_keeps_on_loopback_is_not_published_on_a_swarm(tmp_path: Path) -> None:
    """Host mode binds every address of a node: a service that asks for no password (cAdvisor,
    VictoriaMetrics) loses its port when the stack is published beyond loopback with web.users."""
    exposed = stack_document(
        swarm_files(
            tmp_path,
            listen="0.0.0.0",
            web={"tls": {}, "users": {"admin": "a" * 16}},
            exporters={"cadvisor": {"enabled": True, "port": 8080}},
            victoria_metrics={"enabled": True},
        )
    )["services"]
    assert "ports" not in exposed["cadvisor"] and "ports" not in exposed["victoria-metrics"]
    assert exposed["prometheus"]["ports"][0]["published"] == 9090  # it asks for the password
    private = stack_document(
        swarm_files(tmp_path / "private", exporters={"cadvisor": {"enabled": True, "port": 8080}},
                    victoria_metrics={"enabled": True})
    )["services"]
    assert private["cadvisor"]["ports"][0]["published"] == 8080
    assert private["victoria-metrics"]["ports"][0]["published"] == 8428
