"""apply next to Compose v2 (adoption both ways, migration of 1.29-style names, no Compose at all), and
apply's one-line errors (port taken, no engine, image not pullable)."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stackgen.errors import RuntimeFailure
from stackgen.runtime.compose_hash import compose_commands
from stackgen.runtime.images import PullPolicy
from tests.helpers import remove_compose_project, unavailable
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


def compose(stack: TestStack, *args: str) -> subprocess.CompletedProcess[str]:
    """`docker compose ARGS` in generated/, as a user runs it there (the project name comes from .env)."""
    return subprocess.run(["docker", "compose", *args], capture_output=True, text=True, timeout=300,
                          cwd=stack.out_dir)


def require_compose_v2() -> None:
    if compose_commands() == [] or subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                  check=False).returncode != 0:
        unavailable("Compose v2 is not installed as the docker CLI plugin: bash scripts/fetch-upstream.sh")


def names(docker_client: Any, project: str) -> list[str]:
    label = {"label": f"com.docker.compose.project={project}"}
    return sorted(c.name for c in docker_client.containers.list(all=True, filters=label))


def test_apply_and_compose_v2_leave_each_other_s_containers_alone(
    small_stack: TestStack, docker_client: Any
) -> None:
    require_compose_v2()
    project = small_stack.project
    assert small_stack.cli("render").returncode == 0
    assert compose(small_stack, "config", "-q").returncode == 0
    result = compose(small_stack, "up", "-d")
    assert result.returncode == 0, result.stderr
    made_by_compose = container_ids(docker_client, project)
    assert sorted(made_by_compose) == ["alertmanager", "prometheus"]
    # apply adopts what Compose made from the same file: nothing is recreated
    plan = small_stack.plan()
    assert {action["service"]: action.get("adopted") for action in plan.plan.to_data()} == {
        "alertmanager": True, "prometheus": True}
    report, _ = small_stack.apply()
    assert report.result.summary()["recreate"] == [] and report.result.summary()["create"] == []
    assert container_ids(docker_client, project) == made_by_compose
    again, _ = small_stack.apply()
    assert again.result.summary()["noop"] == ["alertmanager", "prometheus"]
    # what apply creates carries Compose v2's names, labels and hash: `docker compose up -d` keeps it
    small_stack.edit(lambda spec: spec["alertmanager"].update(port=free_port()))
    report, _ = small_stack.apply()
    assert report.result.summary()["recreate"] == ["alertmanager"]
    made_by_apply = container_ids(docker_client, project)
    assert names(docker_client, project) == [f"{project}-alertmanager-1", f"{project}-prometheus-1"]
    result = compose(small_stack, "up", "-d")
    assert result.returncode == 0, result.stderr
    assert container_ids(docker_client, project) == made_by_apply, result.stderr
    # ps, logs and restart work on the stack apply made
    result = compose(small_stack, "ps", "--services", "--status", "running")
    assert sorted(result.stdout.split()) == ["alertmanager", "prometheus"], result.stderr
    result = compose(small_stack, "logs", "--no-color", "alertmanager")
    assert result.returncode == 0 and "Listening" in result.stdout + result.stderr, result.stderr
    result = compose(small_stack, "restart", "alertmanager")
    assert result.returncode == 0, result.stderr
    assert container_ids(docker_client, project) == made_by_apply
    assert small_stack.apply()[0].result.summary()["noop"] == ["alertmanager", "prometheus"]
    # and `docker compose down` takes it all down
    result = compose(small_stack, "down")
    assert result.returncode == 0, result.stderr
    assert names(docker_client, project) == []


def test_a_stack_of_an_earlier_stackgen_is_migrated_once_keeping_its_volumes(
    small_stack: TestStack, docker_client: Any
) -> None:
    project = small_stack.project
    small_stack.apply()
    # an earlier stackgen named containers as Compose 1.29 did (NAME_service_1)
    for service, container_id in container_ids(docker_client, project).items():
        docker_client.containers.get(container_id).rename(f"{project}_{service}_1")
    prometheus = docker_client.containers.get(container_ids(docker_client, project)["prometheus"])
    assert prometheus.exec_run(["sh", "-c", "echo kept > /prometheus/stackgen-marker"]).exit_code == 0
    report, _ = small_stack.apply()
    assert report.result.summary()["recreate"] == ["alertmanager", "prometheus"]
    assert names(docker_client, project) == [f"{project}-alertmanager-1", f"{project}-prometheus-1"]
    prometheus = docker_client.containers.get(container_ids(docker_client, project)["prometheus"])
    assert prometheus.exec_run(["cat", "/prometheus/stackgen-marker"]).output.decode().strip() == "kept"
    assert small_stack.apply()[0].result.summary()["noop"] == ["alertmanager", "prometheus"]


def test_apply_works_where_no_compose_is_installed(small_stack: TestStack, docker_client: Any) -> None:
    # PATH with only this Python's directory: no docker CLI, no docker-compose
    result = subprocess.run(small_stack.cli_argv("apply"), capture_output=True, text=True, timeout=300,
                            cwd=small_stack.directory,
                            env=small_stack.cli_env(PATH=str(Path(sys.executable).parent)))
    assert result.returncode == 0, result.stderr
    for container_id in container_ids(docker_client, small_stack.project).values():
        labels = docker_client.containers.get(container_id).labels
        # nothing to agree with: Compose's label carries stackgen's own hash
        assert labels["com.docker.compose.config-hash"] == labels["io.stackgen.config-hash"]
    assert small_stack.apply()[0].result.summary()["noop"] == ["alertmanager", "prometheus"]


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
