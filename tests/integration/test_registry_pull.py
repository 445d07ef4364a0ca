"""Images come from a real registry: Debian's docker-registry on 127.0.0.1 holds images the test pushed,
`images.registry` points the stack's default images at it, and apply pulls what is missing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from stackgen.model import DEFAULT_IMAGES
from tests.helpers import COMPOSE_PROJECT_LABEL, wait_until
from tests.integration.runtime_stack import free_port

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ROLES = ("prometheus", "alertmanager")


def _registry_answers(port: int) -> bool:
    with _NO_PROXY.open(f"http://127.0.0.1:{port}/v2/", timeout=2) as answer:
        return bool(answer.status == 200)


def test_apply_pulls_missing_images_from_the_registry(docker_client: Any, local_images: dict[str, str],
                                                      project_name: str, tmp_path: Path) -> None:
    port = free_port()
    registry = f"127.0.0.1:{port}"
    docker_client.containers.run(
        local_images["registry"], detach=True, name=f"{project_name}-registry",
        ports={"5000/tcp": ("127.0.0.1", port)}, labels={COMPOSE_PROJECT_LABEL: project_name})
    wait_until(lambda: _registry_answers(port), timeout=30, message="the registry did not answer")

    # Push the local test images under the names stackgen's defaults have behind a mirror prefix,
    # then drop the local copies of those names so that apply must pull them.
    mirrored = {role: f"{registry}/{DEFAULT_IMAGES[role]}" for role in ROLES}
    for role, reference in mirrored.items():
        repository, tag = reference.rsplit(":", 1)
        docker_client.images.get(local_images[role]).tag(repository, tag)
        for line in docker_client.images.push(repository, tag, stream=True, decode=True):
            assert "error" not in line, line
        docker_client.images.remove(reference)
    try:
        spec = {
            "version": 1, "name": project_name, "images": {"registry": registry},
            "prometheus": {"port": free_port()}, "alertmanager": {"port": free_port()},
            "grafana": {"enabled": False}, "tracing": {"enabled": False},
            "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        }
        (tmp_path / "stack.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "stackgen", "apply", "--pull", "missing"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "NO_COLOR": "1"})
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        for reference in mirrored.values():
            assert f"pulling {reference}" in output
        label = f"{COMPOSE_PROJECT_LABEL}={project_name}"
        containers = docker_client.containers.list(filters={"label": label})
        running = {c.labels.get("com.docker.compose.service"): c.attrs["Config"]["Image"] for c in containers}
        assert running.get("prometheus") == mirrored["prometheus"]
        assert running.get("alertmanager") == mirrored["alertmanager"]

        # With the images present, a second apply pulls nothing (policy `missing`).
        again = subprocess.run([sys.executable, "-m", "stackgen", "apply"], cwd=tmp_path, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "pulling" not in again.stdout + again.stderr
    finally:
        subprocess.run([sys.executable, "-m", "stackgen", "down", "--volumes"], cwd=tmp_path,
                       capture_output=True, timeout=120)
        for reference in mirrored.values():
            # already gone, or never pulled because the test failed early
            with contextlib.suppress(Exception):
                docker_client.images.remove(reference, force=True)
