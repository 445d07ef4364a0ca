"""The upstream tools judge what stackgen renders, for the contract and for every blueprint:
promtool (config, rule files, file_sd) and amtool of today's upstream and of Debian 12, the flags each
program's --help lists, the official Compose schema, Compose v2 and docker-compose 1.29, and Grafana's
provisioning and dashboard formats.

Each output is rendered once (by `stackgen render` as a subprocess, as a user runs it) and shared by the
checks. A missing tool skips locally and fails in CI (see core_helpers.require_tool).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.helpers import unavailable, upstream_root
from tests.unit.core_helpers import (
    BLUEPRINTS,
    CONTRACT,
    CONTRACT_ENV,
    check_alertmanager,
    check_compose_config,
    check_compose_schema,
    check_grafana,
    check_prometheus,
    contract_text,
    orchestration_file,
    run_stackgen,
)

# Rendering six outputs and running the tools on them takes ~10 s in all.
pytestmark = pytest.mark.slow

BLUEPRINT_NAMES = sorted(path.parent.name for path in BLUEPRINTS.glob("*/stack.yaml"))
OUTPUTS = ["contract", *(f"blueprint-{name}" for name in BLUEPRINT_NAMES)]


def blueprint_env(env_example: Path) -> dict[str, str]:
    """A value for every variable a blueprint's .env.example names: URLs look like URLs."""
    values = dict(CONTRACT_ENV)
    if env_example.is_file():
        for line in env_example.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", line)
            if match and match.group(1) not in values:
                name = match.group(1)
                values[name] = (f"https://hooks.example.com/{name.lower()}?access_token=t"
                                if name.endswith("URL") else f"test-{name.lower()}")
    return values


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Output dir per name: the contract and `stackgen init --blueprint NAME` for each blueprint."""
    outputs: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("upstream")
    envs = {}
    if CONTRACT.is_file():  # else the tests of the contract's output are skipped (failed in CI)
        contract_dir = root / "contract"
        contract_dir.mkdir()
        shutil.copy(CONTRACT, contract_dir / "stack.yaml")
        envs["contract"] = (contract_dir, CONTRACT_ENV)
    for name in BLUEPRINT_NAMES:
        directory = root / f"blueprint-{name}"
        completed = run_stackgen("init", str(directory), "--blueprint", name)
        assert completed.returncode == 0, completed.stderr
        envs[f"blueprint-{name}"] = (directory, blueprint_env(directory / ".env.example"))
    for name, (directory, env) in envs.items():
        completed = run_stackgen("render", "-f", "stack.yaml", cwd=directory, env=env)
        assert completed.returncode == 0, f"{name}: render failed:\n{completed.stderr}"
        assert "Traceback" not in completed.stderr
        outputs[name] = directory / "generated"
    return outputs


def output(rendered: dict[str, Path], name: str) -> Path:
    """The output dir called `name`; the contract's is unavailable() without ../shared."""
    if name not in rendered:
        contract_text()  # the only output that can be missing: skips locally, fails in CI
    return rendered[name]


def test_every_blueprint_is_covered() -> None:
    assert {"minimal", "default"} <= set(BLUEPRINT_NAMES)


@pytest.mark.parametrize("name", OUTPUTS)
def test_promtool(name: str, rendered: dict[str, Path], tmp_path: Path) -> None:
    check_prometheus(output(rendered, name), tmp_path)


@pytest.mark.parametrize("name", OUTPUTS)
def test_amtool(name: str, rendered: dict[str, Path], tmp_path: Path) -> None:
    check_alertmanager(output(rendered, name), tmp_path)


@pytest.mark.parametrize("name", OUTPUTS)
def test_docker_compose_config(name: str, rendered: dict[str, Path]) -> None:
    check_compose_config(output(rendered, name))


def test_compose_schema(rendered: dict[str, Path]) -> None:
    check_compose_schema([orchestration_file(rendered[name]) for name in OUTPUTS if name in rendered])


@pytest.mark.parametrize("name", OUTPUTS)
def test_grafana_formats(name: str, rendered: dict[str, Path]) -> None:
    check_grafana(output(rendered, name))
    if name != "blueprint-minimal":
        dashboards = output(rendered, name) / "grafana" / "dashboards"
        assert list(dashboards.glob("*.json")), "no dashboards rendered"


def test_contract_secrets_stay_in_secret_files(rendered: dict[str, Path]) -> None:
    out = output(rendered, "contract")
    for path in out.rglob("*"):
        if path.is_file() and "secrets" not in path.relative_to(out).parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            for value in CONTRACT_ENV.values():
                assert value not in text, f"a secret leaked into {path}"


# role -> the Debian binary of that program (the same name in Debian 12 and in the unpacked current set)
PROGRAMS = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "node-exporter": "prometheus-node-exporter",
    "blackbox-exporter": "prometheus-blackbox-exporter",
    "pushgateway": "prometheus-pushgateway",
}
HELP_FLAG = re.compile(r"^\s*(?:-\w, )?--(\[no-\])?([\w.-]+)", re.MULTILINE)


@cache
def known_flags(binary: str) -> frozenset[str]:
    """Every flag `binary --help` lists (kingpin), with `no-X` for each `--[no-]X`."""
    completed = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60, check=False)
    flags = set()
    for negatable, name in HELP_FLAG.findall(completed.stdout + completed.stderr):
        flags.add(name)
        if negatable:
            flags.add(f"no-{name}")
    assert "help" in flags, f"{binary} --help did not list its flags"
    return frozenset(flags)


@pytest.mark.parametrize("set_name", ["current", "debian12"])
def test_every_rendered_flag_is_one_the_program_knows(set_name: str, rendered: dict[str, Path]) -> None:
    # Prometheus 3 removed flags (--storage.tsdb.retention, --alertmanager.timeout, ...); kingpin refuses
    # an unknown flag at start, so a stale one would be a container that never becomes healthy
    root = upstream_root() if set_name == "current" else Path("/")
    unknown = set()
    for name in sorted(rendered):
        compose = yaml.safe_load(orchestration_file(rendered[name]).read_text(encoding="utf-8"))
        for service_name, service in compose["services"].items():
            role = (service.get("labels") or {}).get("io.stackgen.role", service_name)
            program = PROGRAMS.get(role)
            if program is None:
                continue
            binary = root / "usr" / "bin" / program
            if not binary.exists():
                unavailable(f"{binary} is missing (scripts/fetch-upstream.sh; apt-get install {program})")
            flags = known_flags(str(binary))
            for argument in service.get("command") or []:
                flag = str(argument).split("=", 1)[0].removeprefix("--")
                # kingpin takes --no-X for every boolean X (older releases list it as plain --X)
                known = flag in flags or flag.removeprefix("no-") in flags
                if str(argument).startswith("--") and not known:
                    unknown.add((name, service_name, flag))
    assert unknown == set()
