"""The container-definition hash is pinned: upgrading stackgen must not recreate a user's containers.

apply recreates a container when the hash of its definition differs from the one on its label. A
stackgen release that hashed the same definition differently would therefore recreate every container
of every user (and lose the data of those without volumes). If this test fails, the change of hash is
the bug: leave fields at their default out of it, exclude label-only fields (`_NOT_HASHED`), or, when
recreating everything once is the intended price, bump DEFINITION_HASH_FORMAT, say why in the commit
and update the values here.
"""

from __future__ import annotations

from pathlib import Path

from stackgen.runtime.compose_file import (
    DEFINITION_HASH_FORMAT,
    ServiceDefinition,
    definition_hash,
    parse_project,
)

COMPOSE = {
    "x-stackgen": {"project": "shop"},
    "services": {
        "prometheus": {
            "image": "prom/prometheus:v3.14.0",
            "command": ["--config.file=/etc/prometheus/prometheus.yml", "--web.enable-lifecycle"],
            "volumes": ["./prometheus:/etc/prometheus:ro", "prometheus-data:/prometheus"],
            "ports": ["127.0.0.1:9090:9090"],
            "extra_hosts": ["host.docker.internal:host-gateway"],
            "depends_on": {"alertmanager": {"condition": "service_healthy"}},
            "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:9090/-/healthy"],
                            "interval": "10s", "timeout": "5s", "retries": 5, "start_period": "20s"},
            "restart": "unless-stopped",
            "labels": {"io.stackgen.role": "prometheus"},
        },
        "alertmanager": {
            "image": "prom/alertmanager:v0.34.0",
            "environment": {"TZ": "UTC"},
            "user": "65534:65534",
            "restart": "unless-stopped",
            "labels": {"io.stackgen.role": "alertmanager"},
        },
    },
    "volumes": {"prometheus-data": {}},
}
IMAGE_ID = "sha256:" + "1" * 64

# DEFINITION_HASH_FORMAT 2 (with Compose v2 names; fields at their default left out)
PINNED = {
    "prometheus": "9f088d258ed7c3cd635d9c22b66bff3aee8d6b3db54c64f5b9758f65a58e6595",
    "alertmanager": "6a5970fdb21fe3dfd99a476649759aa0d12c407bfabf489c3ed53492e1146ffe",
}


def test_the_definition_hash_of_an_unchanged_definition_does_not_change() -> None:
    assert DEFINITION_HASH_FORMAT == 2
    project = parse_project(COMPOSE, Path("/srv/shop/generated/docker-compose.yml"))
    hashes = {service.name: definition_hash(service, IMAGE_ID) for service in project.services}
    assert hashes == PINNED


def test_a_new_field_at_its_default_leaves_the_hash_alone() -> None:
    service = ServiceDefinition("x", "x", "image:1")
    assert definition_hash(service, IMAGE_ID) == definition_hash(
        ServiceDefinition("x", "x", "image:1", dependency_conditions=(("y", "service_healthy"),)), IMAGE_ID
    )
    # what makes a different container does change it
    other_image = ServiceDefinition("x", "x", "image:2")
    assert definition_hash(service, IMAGE_ID) != definition_hash(other_image, IMAGE_ID)
    assert definition_hash(service, IMAGE_ID) != definition_hash(service, "sha256:" + "2" * 64)
    assert definition_hash(service, IMAGE_ID) != definition_hash(service, IMAGE_ID, "files")
