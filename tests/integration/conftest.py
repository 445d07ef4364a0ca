"""Fixtures for integration tests: a real Docker engine, the local images, a project per test.

Everything under tests/integration/ is marked `integration` (tests/conftest.py does it). Without an
engine these tests skip locally and fail in CI.

The images are today's upstream (Prometheus 3, Alertmanager 0.33, ...: the `current` set of
scripts/build-local-images.sh) unless STACKGEN_IMAGE_SET=debian12 picks what Debian 12 ships
(Prometheus 2.42, Alertmanager 0.25): the compatibility lane, `STACKGEN_IMAGE_SET=debian12 pytest -m
compat`, which scripts/test.sh runs after the main one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, network_gateway, remove_compose_project, unavailable, unique_project_name

BUILD_IMAGES = REPO_ROOT / "scripts" / "build-local-images.sh"
# Roles as in the spec's `images:` keys; `relay-base` is the base image the relay is built on.
ROLE_ALIASES = {"relay-base": "python"}
IMAGE_SETS = ("current", "debian12")


def image_set() -> str:
    """The image set the integration tests run on: STACKGEN_IMAGE_SET, else `current`."""
    name = os.environ.get("STACKGEN_IMAGE_SET") or "current"
    if name not in IMAGE_SETS:
        raise pytest.UsageError(f"STACKGEN_IMAGE_SET={name}: expected one of {', '.join(IMAGE_SETS)}")
    return name


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


def local_image_tags(set_name: str | None = None) -> dict[str, str]:
    """role -> tag of the images scripts/build-local-images.sh builds (the script is the one source)."""
    listing = subprocess.run(
        ["bash", str(BUILD_IMAGES), "--list", "--set", set_name or image_set()],
        check=True, capture_output=True, text=True,
    )
    tags = dict(line.split(" ", 1) for line in listing.stdout.splitlines() if line.strip())
    for alias, role in ROLE_ALIASES.items():
        tags[alias] = tags[role]
    return tags


@pytest.fixture(scope="session")
def local_images(docker_client: Any) -> dict[str, str]:
    """role -> tag of the local test images, built from Debian packages if any is missing.

    Roles: prometheus, alertmanager, node-exporter, blackbox-exporter, pushgateway,
    victoria-metrics, registry, python (and its alias relay-base), of the set image_set() names.
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
        build = subprocess.run(
            ["bash", str(BUILD_IMAGES), "--set", image_set()], capture_output=True, text=True
        )
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
