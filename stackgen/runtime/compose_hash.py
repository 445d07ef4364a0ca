"""Docker Compose v2's own hash of each service, so that `docker compose up` leaves apply's containers alone.

Compose v2 recreates a container whose `com.docker.compose.config-hash` label differs from the hash it
computes for the service (its normalised model, as compose-go loads it) or whose
`com.docker.compose.image` label is not the image's ID. That normalisation is Compose's and changes
between releases, so stackgen does not imitate it: it asks the Compose v2 on this machine
(`docker compose config --hash '*'`, or a standalone `docker-compose` that is v2) and labels the
containers it creates with the answer; the same answer lets apply adopt what `docker compose up`
made. Compose 1.x is never asked (its hash scheme and container names are not v2's). Without Compose
v2 the label carries stackgen's own hash: there is nothing to agree with. Asked only when apply creates
or adopts containers: a no-op apply runs no subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_TIMEOUT_S = 60


def compose_commands() -> list[list[str]]:
    """The Compose v2 CLIs to ask, in order: the docker CLI plugin, then a standalone v2 binary."""
    found: list[list[str]] = []
    if shutil.which("docker"):
        found.append(["docker", "compose"])
    if shutil.which("docker-compose") and _major_version(["docker-compose"]) >= 2:
        found.append(["docker-compose"])
    return found


def compose_hashes(compose_file: Path, project: str) -> dict[str, str]:
    """service -> Compose v2's config hash for it; empty when no Compose v2 here can say."""
    for command in compose_commands():
        completed = _run(
            [*command, "-p", project, "-f", str(compose_file), "config", "--hash", "*"], compose_file.parent
        )
        if completed is None or completed.returncode != 0:
            continue  # e.g. `docker compose` where the plugin is not installed
        hashes = dict(_pairs(completed.stdout))
        if hashes:
            return hashes
    return {}


def _run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str] | None:
    # COMPOSE_* in the caller's environment (COMPOSE_FILE, COMPOSE_PROFILES, ...) would change the answer
    environment = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False, cwd=cwd, env=environment
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _major_version(command: list[str]) -> int:
    completed = _run([*command, "version", "--short"])
    if completed is None or completed.returncode != 0:
        return 0
    digits = completed.stdout.strip().lstrip("v").split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


def _pairs(output: str) -> list[tuple[str, str]]:
    pairs = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[1]) == 64 and all(c in "0123456789abcdef" for c in parts[1]):
            pairs.append((parts[0], parts[1]))
    return pairs
