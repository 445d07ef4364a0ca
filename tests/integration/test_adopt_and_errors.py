"""apply next to docker-compose, and apply's one-line errors (port taken, no engine, image not pullable)."""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stackgen.errors import RuntimeFailure
from stackgen.runtime.images import PullPolicy
from tests.helpers import remove_compose_project
from tests.integration.runtime_stack import TestStack, base_spec, container_ids, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def small_stack(docker_client: Any, local_images: dict[str, str], tmp_path: Path) -> Iterator[TestStack]:
    project = f"sgadopt{uuid.uuid4().hex[:8]}"
    spec = base_spec(project, local_images)
    spec["exporters"]["blackbox"] = False
    try:
        yield TestStack(tmp_path, spec)
    finally:
        failures = remove_compose_project(docker_client, project)
        assert not failures, f"cleanup of project {project} left: {failures}"


def test_apply_adopts_what_docker_compose_started(small_stack: TestStack, docker_client: Any) -> None:
    result = small_stack.cli("render")
    assert result.returncode == 0, result.stderr
    compose = [
        "docker-compose",
        "-p",
        small_stack.project,
        "-f",
        str(small_stack.out_dir / "docker-compose.yml"),
    ]
    result = subprocess.run([*compose, "up", "-d"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(container_ids(docker_client, small_stack.project)) == ["alertmanager", "prometheus"]
    report, _ = small_stack.apply()
    assert set(report.result.summary()["recreate"]) <= {"alertmanager", "prometheus"}
    label = {"label": f"com.docker.compose.project={small_stack.project}"}
    names = sorted(c.name for c in docker_client.containers.list(all=True, filters=label))
    assert names == [f"{small_stack.project}_alertmanager_1", f"{small_stack.project}_prometheus_1"]
    again, _ = small_stack.apply()
    assert again.result.summary()["noop"] == ["alertmanager", "prometheus"]
    # containers apply made carry Compose's own hash: `docker-compose up -d` finds nothing to recreate
    made_by_apply = container_ids(docker_client, small_stack.project)
    result = subprocess.run([*compose, "up", "-d"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert container_ids(docker_client, small_stack.project) == made_by_apply, result.stderr
    # and docker-compose still manages what apply made
    result = subprocess.run([*compose, "down"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert docker_client.containers.list(all=True, filters=label) == []


def test_port_already_taken_is_one_line_with_what_to_do(small_stack: TestStack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        small_stack.edit(lambda spec: spec["alertmanager"].update(port=port))
        result = small_stack.cli("apply")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"stackgen: alertmanager: 127.0.0.1:{port} is already in use" in result.stderr
    assert "hint: stop what listens there, or change the port" in result.stderr


def test_no_engine_is_one_line_with_what_to_do(small_stack: TestStack, tmp_path: Path) -> None:
    result = subprocess.run(
        [*small_stack.cli_argv("apply")],
        capture_output=True,
        text=True,
        timeout=120,
        env=small_stack.cli_env(DOCKER_HOST=f"unix://{tmp_path}/no-such.sock"),
        cwd=small_stack.directory,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "stackgen: cannot reach the Docker engine"
    assert "Traceback" not in result.stderr


def test_image_that_cannot_be_pulled_changes_nothing(small_stack: TestStack, docker_client: Any) -> None:
    # a registry address on loopback where nothing listens: the pull fails at once, offline
    missing = f"127.0.0.1:{free_port()}/stackgen-test/absent:1"
    small_stack.edit(lambda spec: spec["images"].update(prometheus=missing))
    with pytest.raises(RuntimeFailure) as failure:
        from stackgen.runtime.apply import ApplyOptions, apply_files

        apply_files(
            small_stack.rendered(),
            small_stack.out_dir,
            small_stack.project,
            options=ApplyOptions(pull=PullPolicy.MISSING),
        )
    assert str(failure.value).startswith(f"cannot pull image {missing}: ")
    assert "images.registry" in str(failure.value)
    assert not (small_stack.out_dir / "prometheus").exists()
    assert container_ids(docker_client, small_stack.project) == {}
    result = small_stack.cli("apply", "--pull", "never")
    assert result.returncode == 1
    assert f"stackgen: image {missing} is not present locally and --pull is never" in result.stderr
