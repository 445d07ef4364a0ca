"""Fixtures for integration tests: a real Docker engine, the local images, a project per test.

Everything under tests/integration/ is marked `integration` (tests/conftest.py does it). Without an
engine these tests skip locally and fail in CI.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, network_gateway, remove_compose_project, unavailable, unique_project_name

BUILD_IMAGES = REPO_ROOT / "scripts" / "build-local-images.sh"
# Roles as in the spec's `images:` keys; `relay-base` is the base image the relay is built on.
ROLE_ALIASES = {"relay-base": "python"}


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A docker SDK client for the local engine (API version negotiated with the daemon)."""
    try:
        import docker
    except ImportError as error:
        unavailable(f"the docker SDK is not installed ({error}); pip install -e '.[test]'")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as error:
        unavailable(f"no Docker engine answers ({error}); start one with: bash scripts/ensure-dockerd.sh")
    yield client
    client.close()


def local_image_tags() -> dict[str, str]:
    """role -> tag of the images scripts/build-local-images.sh builds (the script is the one source)."""
    listing = subprocess.run(
        ["bash", str(BUILD_IMAGES), "--list"], check=True, capture_output=True, text=True
    )
    tags = dict(line.split(" ", 1) for line in listing.stdout.splitlines() if line.strip())
    for alias, role in ROLE_ALIASES.items():
        tags[alias] = tags[role]
    return tags


@pytest.fixture(scope="session")
def local_images(docker_client: Any) -> dict[str, str]:
    """role -> tag of the local test images, built from Debian packages if any is missing.

    Roles: prometheus, alertmanager, node-exporter, blackbox-exporter, pushgateway,
    victoria-metrics, registry, python (and its alias relay-base).
    """
    import docker.errors

    tags = local_image_tags()

    def missing() -> list[str]:
        absent = []
        for tag in sorted(set(tags.values())):
            try:
                docker_client.images.get(tag)
            except docker.errors.ImageNotFound:
                absent.append(tag)
        return absent

    if missing():
        build = subprocess.run(["bash", str(BUILD_IMAGES)], capture_output=True, text=True)
        if build.returncode != 0:
            unavailable(f"building the local images failed: {build.stderr.strip()[-2000:]}")
        if absent := missing():
            unavailable(f"local images still missing after the build: {', '.join(absent)}")
    return tags


@pytest.fixture
def project_name(docker_client: Any) -> Iterator[str]:
    """A unique compose project name (sgt-xxxxxxxx); its containers, networks, volumes go afterwards."""
    name = unique_project_name()
    yield name
    failures = remove_compose_project(docker_client, name)
    assert not failures, f"cleanup of project {name} left: {failures}"


@pytest.fixture(scope="session")
def host_gateway_ip(docker_client: Any) -> str:
    """docker0's address: where containers reach test servers on this host (host-gateway).

    A test server must listen on it or on 0.0.0.0. For a container on a project's own network,
    `tests.helpers.network_gateway(docker_client, network)` gives that network's gateway.
    """
    return network_gateway(docker_client, "bridge")
