"""The docker discovery job and Prometheus's socket access (render/docker_discovery.py, render/compose.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from stackgen import api
from stackgen.render.docker_discovery import meta, relabel_configs
from tests.unit.core_helpers import base_spec, write_spec


def rendered(tmp_path: Path, **sections: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(prometheus service of docker-compose.yml, prometheus.yml)."""
    stack = api.load_stack(write_spec(tmp_path, base_spec(**sections)), {})
    files = api.render_files(stack, tmp_path / "out")
    compose = yaml.safe_load(files["docker-compose.yml"].content)
    return compose["services"]["prometheus"], yaml.safe_load(files["prometheus/prometheus.yml"].content)


def test_meta_labels_are_sanitized_as_docker_sd_does() -> None:
    assert meta("prometheus.io/port") == "__meta_docker_container_label_prometheus_io_port"
    assert meta("com.docker.compose.service") == "__meta_docker_container_label_com_docker_compose_service"


def test_the_socket_is_mounted_read_only_and_prometheus_joins_its_group_only(tmp_path: Path) -> None:
    socket = tmp_path / "docker.sock"
    socket.write_text("")  # the model reads only its group
    service, config = rendered(tmp_path, host_access="off",
                               discovery={"docker": {"host": f"unix://{socket}", "refresh_interval": "3s"}})
    assert f"{socket}:{socket}:ro" in service["volumes"]
    assert service["group_add"] == [str(os.stat(socket).st_gid)]
    assert "user" not in service  # still the image's nobody
    assert service["extra_hosts"] == ["host.docker.internal:host-gateway"]  # even with host_access off
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "docker-discovery"]
    assert job["docker_sd_configs"] == [{"host": f"unix://{socket}", "refresh_interval": "3s"}]
    assert job["relabel_configs"] == relabel_configs()


def test_a_tcp_engine_needs_no_socket_and_no_group(tmp_path: Path) -> None:
    service, config = rendered(tmp_path, discovery={"docker": {"host": "tcp://socket-proxy:2375"}})
    assert not [volume for volume in service["volumes"] if "docker.sock" in volume]
    assert "group_add" not in service
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "docker-discovery"]
    assert job["docker_sd_configs"] == [{"host": "tcp://socket-proxy:2375", "refresh_interval": "5s"}]


def test_without_discovery_nothing_changes(tmp_path: Path) -> None:
    service, config = rendered(tmp_path, host_access="off")
    assert "group_add" not in service and "extra_hosts" not in service
    assert not [job for job in config["scrape_configs"] if job["job_name"] == "docker-discovery"]


def test_relabelling_keeps_labelled_containers_and_leaves_the_stacks_own_alone() -> None:
    rules = relabel_configs()
    assert rules[0] == {"source_labels": [meta("io.stackgen.scrape"), meta("prometheus.io/scrape")],
                        "regex": "true;.*|.*;true", "action": "keep"}
    assert rules[1] == {"source_labels": [meta("io.stackgen.role")], "regex": ".+", "action": "drop"}
    # stackgen's labels are written last, so they win over prometheus.io's
    job_rules = [rule for rule in rules if rule.get("target_label") == "job"]
    assert [rule["source_labels"] for rule in job_rules] == [
        ["container"], [meta("com.docker.compose.service")], [meta("io.stackgen.job")]]
    address = next(rule for rule in rules if rule.get("target_label") == "__address__")
    assert address == {"source_labels": ["__meta_docker_port_public"], "target_label": "__address__",
                       "replacement": "host.docker.internal:$1"}


def test_on_swarm_the_socket_is_mounted_once_and_the_gid_is_the_user_s(tmp_path: Path) -> None:
    from stackgen.render.swarm import STACK_FILE
    from stackgen.spec.problems import Severity
    from stackgen.spec.validate import check_spec

    spec = base_spec(discovery={"docker": True}, deploy={"engine": "swarm", "docker_gid": 999})
    path = write_spec(tmp_path, spec)
    warnings = [p.message for p in check_spec(path, {}).problems if p.severity is Severity.WARNING]
    assert [m for m in warnings if m.startswith("docker discovery watches the containers of one engine")]
    files = api.render_files(api.load_stack(path, {}), tmp_path / "out")
    prometheus = yaml.safe_load(files[STACK_FILE].content)["services"]["prometheus"]
    sockets = [volume for volume in prometheus["volumes"] if "docker.sock" in volume]
    assert sockets == ["/var/run/docker.sock:/var/run/docker.sock:ro"]
    assert "group_add" not in prometheus and prometheus["user"] == "65534:999"
