"""Docker Compose's own hash of each service, so that `docker-compose up` leaves apply's containers alone.

Compose recreates a container whose `com.docker.compose.config-hash` label differs from the hash it
computes for the service (its normalised options and the image ID). That normalisation is Compose's
and differs between versions, so stackgen does not imitate it: it asks the Compose on this machine
(`docker-compose config --hash '*'`, or `docker compose` v2) and labels the containers it creates
with the answer. Without Compose installed, the label carries stackgen's own hash (nothing to agree
with). Asked only when apply creates containers: a no-op apply runs no subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_TIMEOUT_S = 60


def compose_commands() -> list[list[str]]:
    """The Compose CLIs to ask, in order: the standalone v1/v2 binary, then the docker CLI plugin."""
    found: list[list[str]] = []
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    if shutil.which("docker"):
        found.append(["docker", "compose"])
    return found


def compose_hashes(compose_file: Path, project: str) -> dict[str, str]:
    """service -> Compose's config hash for it; empty when no Compose here can say."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    for command in compose_commands():
        try:
            completed = subprocess.run(
                [*command, "-p", project, "-f", str(compose_file), "config", "--hash", "*"],
                capture_output=True, text=True, timeout=_TIMEOUT_S, check=False,
                cwd=compose_file.parent, env=environment)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if completed.returncode != 0:
            continue  # e.g. `docker compose` where the plugin is not installed
        hashes = dict(_pairs(completed.stdout))
        if hashes:
            return hashes
    return {}


def _pairs(output: str) -> list[tuple[str, str]]:
    pairs = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[1]) == 64 and all(c in "0123456789abcdef" for c in parts[1]):
            pairs.append((parts[0], parts[1]))
    return pairs
