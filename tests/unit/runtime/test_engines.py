"""The runtime's one seam: which engine runs a render, and that nothing above it branches on the engine."""

from __future__ import annotations

import re
from pathlib import Path

from stackgen.output import RenderedFile
from stackgen.runtime.engines import engine_for_files, engine_for_output
from stackgen.runtime.host import HostEngine
from stackgen.runtime.swarm.engine import SwarmEngine

PACKAGE = Path(__file__).resolve().parents[3] / "stackgen"


def test_a_render_with_docker_stack_yml_runs_on_the_swarm_any_other_on_one_host(tmp_path: Path) -> None:
    compose = {"docker-compose.yml": RenderedFile(b"services: {}\n")}
    swarm = {**compose, "docker-stack.yml": RenderedFile(b"services: {}\n")}
    assert isinstance(engine_for_files(compose), HostEngine)
    assert isinstance(engine_for_files(swarm), SwarmEngine)
    assert isinstance(engine_for_output(tmp_path), HostEngine)
    (tmp_path / "docker-stack.yml").write_text("services: {}\n", encoding="utf-8")
    assert isinstance(engine_for_output(tmp_path), SwarmEngine)


def test_choosing_an_engine_connects_to_nothing() -> None:
    """The adapters connect on first use: choosing one talks to no engine."""
    host = engine_for_files({"docker-compose.yml": RenderedFile(b"")})
    assert isinstance(host, HostEngine) and host._engine is None
    swarm = engine_for_files({"docker-stack.yml": RenderedFile(b"")})
    assert isinstance(swarm, SwarmEngine) and swarm._cluster is None


def test_only_the_seam_tells_the_engines_apart() -> None:
    """api.py, the commands and runtime/apply.py reach the swarm through runtime/engines.py only."""
    above = [PACKAGE / "api.py", PACKAGE / "runtime" / "apply.py", *(PACKAGE / "commands").glob("*.py")]
    swarm_import = re.compile(r"stackgen\.runtime\.swarm|docker-stack\.yml|is_swarm_output")
    offenders = [
        str(path.relative_to(PACKAGE)) for path in above if swarm_import.search(path.read_text("utf-8"))
    ]
    assert offenders == []
