"""The swarm of Docker-in-Docker nodes: one per test session, made on first use, removed at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.helpers import unavailable
from tests.integration.swarm.swarm_nodes import Swarm, build_node_image, create_swarm, remove_swarm

# The local test images the swarm stacks run, by role (tests/conftest.py's local_images keys).
SWARM_ROLES = ("prometheus", "alertmanager", "node-exporter", "relay-base")


@pytest.fixture(scope="session")
def swarm(local_images: dict[str, str]) -> Iterator[Swarm]:
    """Three nodes (two managers, one worker) with the local images loaded; removed afterwards."""
    try:
        build_node_image()
    except Exception as error:
        unavailable(f"building the swarm node image failed: {error}")
    made = create_swarm(sorted({local_images[role] for role in SWARM_ROLES}))
    try:
        yield made
    finally:
        failures = remove_swarm(made)
        assert not failures, f"cleanup of swarm {made.name} left: {failures}"


@contextmanager
def talking_to(swarm: Swarm) -> Iterator[None]:
    """DOCKER_HOST names the swarm's leader for the duration (apply, the SDK and `docker stack`)."""
    saved = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = swarm.manager.docker_host
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = saved


def swarm_images(local_images: dict[str, str]) -> dict[str, Any]:
    """The spec's `images:` for a swarm stack."""
    return {role: local_images[role] for role in SWARM_ROLES}
