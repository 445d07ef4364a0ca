from __future__ import annotations

from pathlib import Path

import pytest

from stackgen.errors import RuntimeFailure
from stackgen.runtime.compose_file import (
    Healthcheck,
    Mount,
    PortBinding,
    definition_hash,
    dependency_waves,
    parse_duration_ns,
    parse_project,
)

COMPOSE = {
    "name": "shop",
    "services": {
        "prometheus": {
            "image": "prom/prometheus:v3.14.0",
            "command": ["--config.file=/etc/prometheus/prometheus.yml", "--web.enable-lifecycle"],
            "volumes": ["./prometheus:/etc/prometheus:ro", "prometheus-data:/prometheus"],
            "ports": ["127.0.0.1:9090:9090"],
            "healthcheck": {
                "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:9090/-/healthy"],
                "interval": "10s",
                "timeout": "5s",
                "retries": 3,
                "start_period": "1m30s",
            },
            "restart": "unless-stopped",
            "labels": {"io.stackgen.role": "prometheus"},
            "extra_hosts": ["host.docker.internal:host-gateway"],
            "depends_on": ["alertmanager"],
        },
        "alertmanager": {
            "image": "prom/alertmanager:v0.34.0",
            "volumes": [
                "./alertmanager:/etc/alertmanager:ro",
                "./secrets/alertmanager:/etc/alertmanager/secrets:ro",
            ],
            "environment": {"A": 1, "B": None},
            "labels": ["io.stackgen.role=alertmanager"],
        },
        "node-exporter": {
            "image": "prom/node-exporter:v1.12.1",
            "volumes": ["/:/host:ro,rslave"],
            "pid": "host",
            "labels": {"io.stackgen.role": "node-exporter"},
        },
    },
    "volumes": {"prometheus-data": {}},
    "networks": {"default": {}},
}


def test_services_map_to_create_args(tmp_path: Path) -> None:
    project = parse_project(COMPOSE, tmp_path / "docker-compose.yml")
    assert project.name == "shop"
    assert project.network == "shop_default"
    assert project.volumes == ("shop_prometheus-data",)
    prometheus = project.service("prometheus")
    assert prometheus.role == "prometheus"
    assert prometheus.mounts == (
        Mount(
            str(tmp_path.resolve() / "prometheus"),
            "/etc/prometheus",
            "ro",
            is_volume=False,
            config_dir="prometheus",
        ),
        Mount("shop_prometheus-data", "/prometheus", "rw", is_volume=True),
    )
    assert prometheus.ports == (PortBinding("127.0.0.1", 9090, 9090),)
    assert prometheus.healthcheck == Healthcheck(
        ("CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:9090/-/healthy"),
        10_000_000_000,
        5_000_000_000,
        3,
        90_000_000_000,
    )
    assert prometheus.depends_on == ("alertmanager",)
    alertmanager = project.service("alertmanager")
    assert alertmanager.environment == (("A", "1"), ("B", ""))
    assert alertmanager.config_dirs == ("alertmanager", "secrets/alertmanager")
    node = project.service("node-exporter")
    assert node.mounts[0].bind == "/:/host:ro,rslave"
    assert node.config_dirs == ()


def test_project_name_parameter_wins(tmp_path: Path) -> None:
    compose = {key: value for key, value in COMPOSE.items() if key != "name"}
    assert parse_project(compose, tmp_path / "docker-compose.yml", "other").network == "other_default"
    with pytest.raises(RuntimeFailure, match="no project name"):
        parse_project(compose, tmp_path / "docker-compose.yml")


def test_unknown_compose_key_is_refused(tmp_path: Path) -> None:
    compose = {"name": "x", "services": {"a": {"image": "i", "deploy": {}}}}
    with pytest.raises(RuntimeFailure, match=r"services.a: stackgen cannot converge compose key\(s\) deploy"):
        parse_project(compose, tmp_path / "docker-compose.yml")


def test_undeclared_volume_is_refused(tmp_path: Path) -> None:
    compose = {"name": "x", "services": {"a": {"image": "i", "volumes": ["data:/data"]}}}
    with pytest.raises(RuntimeFailure, match="volume 'data' is not declared"):
        parse_project(compose, tmp_path / "docker-compose.yml")


@pytest.mark.parametrize(
    ("entry", "binding"),
    [
        ("127.0.0.1:9090:9090", PortBinding("127.0.0.1", 9090, 9090)),
        ("9091:9090", PortBinding("", 9091, 9090)),
        ("9090", PortBinding("", 9090, 9090)),
        ("0.0.0.0:53:53/udp", PortBinding("0.0.0.0", 53, 53, "udp")),
        ("[::1]:9090:9090", PortBinding("::1", 9090, 9090)),
    ],
)
def test_ports(tmp_path: Path, entry: str, binding: PortBinding) -> None:
    compose = {"name": "x", "services": {"a": {"image": "i", "ports": [entry]}}}
    assert parse_project(compose, tmp_path / "c.yml").service("a").ports == (binding,)


def test_durations() -> None:
    assert parse_duration_ns("1h2m3s", "x") == 3_723_000_000_000
    assert parse_duration_ns("500ms", "x") == 500_000_000
    assert parse_duration_ns(2, "x") == 2_000_000_000
    with pytest.raises(RuntimeFailure, match="x: invalid duration '10 parsecs'"):
        parse_duration_ns("10 parsecs", "x")


def test_definition_hash_follows_definition_and_image(tmp_path: Path) -> None:
    project = parse_project(COMPOSE, tmp_path / "docker-compose.yml")
    prometheus = project.service("prometheus")
    same = parse_project(COMPOSE, tmp_path / "docker-compose.yml").service("prometheus")
    assert definition_hash(prometheus, "sha256:a") == definition_hash(same, "sha256:a")
    assert definition_hash(prometheus, "sha256:a") != definition_hash(prometheus, "sha256:b")
    assert definition_hash(prometheus, "sha256:a") != definition_hash(prometheus, "sha256:a", "files")
    changed = dict(COMPOSE["services"]["prometheus"], ports=["127.0.0.1:9191:9090"])  # type: ignore[call-overload]
    other = parse_project(
        {**COMPOSE, "services": {**COMPOSE["services"], "prometheus": changed}},
        tmp_path / "docker-compose.yml",
    )
    assert definition_hash(other.service("prometheus"), "sha256:a") != definition_hash(prometheus, "sha256:a")


def test_dependency_waves(tmp_path: Path) -> None:
    project = parse_project(COMPOSE, tmp_path / "docker-compose.yml")
    waves = [[service.name for service in wave] for wave in dependency_waves(project.services)]
    assert waves == [["alertmanager", "node-exporter"], ["prometheus"]]


@pytest.mark.parametrize(
    "compose_file",
    sorted((Path(__file__).resolve().parents[2] / "golden").glob("*/docker-compose.yml")),
    ids=lambda path: path.parent.name,
)
def test_apply_reads_the_rendered_compose_file_as_ruamel_does(compose_file: Path) -> None:
    from ruamel.yaml import YAML

    from stackgen.output import RenderedFile
    from stackgen.rendered import COMPOSE_FILE
    from stackgen.runtime.host import load_project

    content = compose_file.read_bytes()
    expected = parse_project(YAML(typ="safe", pure=True).load(content), compose_file.parent / COMPOSE_FILE)
    assert load_project({COMPOSE_FILE: RenderedFile(content)}, compose_file.parent, None) == expected
