"""Helpers for the core's tests (spec → model → rendered files): specs written by a YAML dumper, the
CLI as a real subprocess, tree digests, and the upstream tools that judge the rendered files.

A missing upstream tool skips locally and FAILS in CI (CI=true): there the tools are installed by
scripts/test.sh, and a check that silently stopped running would be a test that cannot fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import tool_versions, unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the repository (STACKGEN_SHARED_DIR overrides, as in tests/conftest.py): tests that
# read it go through contract_text() or the conftest fixtures, which skip locally when it is absent
# and fail in CI
SHARED = Path(os.environ.get("STACKGEN_SHARED_DIR", REPO_ROOT.parent / "shared"))
CONTRACT = SHARED / "contract" / "stack.example.yaml"
CORPUS_RULES = SHARED / "corpus" / "awesome-prometheus-alerts" / "rules"
BAD_SPECS = REPO_ROOT / "tests" / "bad_specs"
BLUEPRINTS = REPO_ROOT / "blueprints"

# The five variables the contract names; DINGTALK_URL must look like the robot's https URL.
CONTRACT_ENV = {
    "DINGTALK_URL": "https://oapi.dingtalk.com/robot/send?access_token=contract-token-5f1e",
    "DINGTALK_SECRET": "SECcontract-dingtalk-secret-77",
    "WECOM_ROBOT_KEY": "contract-wecom-robot-key-0b3a",
    "WECOM_SECRET": "contract-wecom-app-secret-91c2",
    "SMTP_PASSWORD": "contract-smtp-password-4d4d",
}


def in_ci() -> bool:
    """True when running under CI, where every upstream tool must be present."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> str:
    """The path of an upstream tool; skip locally, fail in CI, when it is not installed."""
    found = shutil.which(name)
    if found:
        return found
    message = (f"{name} is not installed (apt-get install prometheus prometheus-alertmanager "
               "docker-compose; pip install check-jsonschema)")
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def contract_text() -> str:
    """The contract spec (../shared/contract/stack.example.yaml); skipped locally, failed in CI, if absent."""
    if not CONTRACT.is_file():
        unavailable(f"the contract {CONTRACT} is absent (../shared beside the repository)")
    return CONTRACT.read_text(encoding="utf-8")


def base_spec(**sections: Any) -> dict[str, Any]:
    """A small valid spec as data: no packs or dashboards unless given, plus `sections`."""
    spec: dict[str, Any] = {"version": 1, "name": "t", "rules": {"include": []},
                            "dashboards": {"include": []}}
    spec.update(sections)
    return spec


def dump_spec(data: Any) -> str:
    """YAML text of spec data, written by a dumper (never a string template).

    PyYAML's emitter writes a raw NEL (U+0085) inside a quoted scalar when allow_unicode is on, and every
    YAML reader folds it into a space; such data is written with escapes instead."""
    raw_unicode = "\x85" not in json.dumps(data, ensure_ascii=False)
    return yaml.safe_dump(data, allow_unicode=raw_unicode, sort_keys=False, default_flow_style=False,
                          width=1 << 20)


def write_spec(directory: Path, data: Any, name: str = "stack.yaml") -> Path:
    """Write spec data (or text) to directory/name and return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(data if isinstance(data, str) else dump_spec(data), encoding="utf-8")
    return path


def run_stackgen(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`stackgen ARGS` as a real subprocess (the installed package, a fresh interpreter)."""
    environment = {key: value for key, value in os.environ.items() if key != "STACKGEN_DEBUG"}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout, check=False)


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root (relative path) -> (sha256, permission bits): equal digests, equal trees."""
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found[path.relative_to(root).as_posix()] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                         path.stat().st_mode & 0o7777)
        elif path.is_dir():
            found[path.relative_to(root).as_posix() + "/"] = ("dir", path.stat().st_mode & 0o7777)
    return found


def render_in_memory(spec_path: Path, env: Mapping[str, str] | None = None,
                     out_dir: Path | None = None) -> dict[str, Any]:
    """Validate, build the model and render without writing or running tools: path -> RenderedFile."""
    from stackgen import api
    from stackgen.spec.build import build_stack

    checked = api.validate(spec_path, dict(os.environ, **(env or {})))
    assert not checked.errors, "\n".join(problem.format() for problem in checked.errors)
    stack = build_stack(checked.loaded.data, spec_path.parent.resolve())
    return api.render_files(stack, out_dir or spec_path.parent / "generated")


def write_files(files: Mapping[str, Any], out_dir: Path) -> Path:
    """Write rendered files as they are (test helper, not the atomic writer)."""
    for relative, file in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.content)
    return out_dir


def load_yaml_both(content: bytes | str) -> Any:
    """Read YAML as YAML 1.1 (PyYAML, like Prometheus 2.x's yaml.v2) and 1.2 (ruamel, like yaml.v3);
    both readings must agree, else a value would change meaning between Prometheus versions."""
    from ruamel.yaml import YAML

    text = content.decode("utf-8") if isinstance(content, bytes) else content
    as_11 = yaml.safe_load(text)
    as_12 = YAML(typ="safe", pure=True).load(text)
    assert as_11 == as_12, "YAML 1.1 and 1.2 readers disagree on a rendered file"
    return as_11


# ---- the upstream tools -------------------------------------------------------------------------------

def _run(command: list[str], cwd: Path | None = None) -> None:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}"


def strip_consul(config_path: Path) -> None:
    """Debian's promtool 2.42 is built without Consul discovery: replace consul_sd_configs by an empty
    static config in this (copied) file, as stackgen/upstream_check.py does before its own check."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for job in config.get("scrape_configs") or []:
        if job.pop("consul_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": []}]
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def check_prometheus(out_dir: Path, scratch: Path) -> None:
    """`promtool check config` on every prometheus*.yml (which also checks the rule files and the file_sd
    JSON it names), then `promtool check rules` on every rules file: with Prometheus 3 (today's
    upstream) and with Debian 12's 2.42."""
    for set_name, promtool in tool_versions("promtool").items():
        _check_prometheus_with(promtool, out_dir, scratch / f"promtool-{set_name}")


def _check_prometheus_with(promtool: str, out_dir: Path, scratch: Path) -> None:
    copy = scratch / "promtool-copy"
    shutil.copytree(out_dir / "prometheus", copy / "prometheus", dirs_exist_ok=True)
    configs = sorted((copy / "prometheus").glob("prometheus*.yml"))
    assert configs, f"no prometheus*.yml under {out_dir}"
    for config in configs:
        completed = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True,
                                   timeout=120, check=False)
        if completed.returncode != 0 and "consul_sd_configs not found" in completed.stdout + completed.stderr:
            strip_consul(config)  # only where this promtool lacks Consul; an upstream build checks it all
            _run([promtool, "check", "config", str(config)])
        else:
            output = completed.stdout + completed.stderr
            assert completed.returncode == 0, f"promtool check config {config}:\n{output}"
    rules = sorted((out_dir / "prometheus" / "rules").glob("*.yml"))
    if rules:
        _run([promtool, "check", "rules", *map(str, rules)])


def check_alertmanager(out_dir: Path, scratch: Path) -> None:
    """`amtool check-config` of Alertmanager 0.33 and of Debian 12's 0.25, with the templates glob
    pointed at the rendered templates so they are parsed too."""
    for amtool in tool_versions("amtool").values():
        _check_alertmanager_with(amtool, out_dir, scratch)


def _check_alertmanager_with(amtool: str, out_dir: Path, scratch: Path) -> None:
    source = out_dir / "alertmanager" / "alertmanager.yml"
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    config["templates"] = [str(out_dir / "alertmanager" / "templates" / "*.tmpl")]
    copy = scratch / "amtool-copy.yml"
    copy.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _run([amtool, "check-config", str(copy)])


def check_compose_schema(compose_files: list[Path]) -> None:
    """The official Compose schema, through check-jsonschema (batched: its start-up is the cost)."""
    tool = require_tool("check-jsonschema")
    _run([tool, "--builtin-schema", "vendor.compose-spec", *map(str, compose_files)])


def orchestration_file(out_dir: Path) -> Path:
    """The rendered docker-compose.yml, or docker-stack.yml for a swarm stack (deploy.engine: swarm)."""
    stack_file = out_dir / "docker-stack.yml"
    return stack_file if stack_file.is_file() else out_dir / "docker-compose.yml"


def check_compose_config(out_dir: Path) -> None:
    """Compose v2 (`docker compose`, the reference) accepts the file, in its own directory as a user
    runs it; so does Debian 12's docker-compose 1.29, which still reads it (ps, logs, down); a swarm
    stack file is also what `docker stack config` accepts."""
    docker = require_tool("docker")
    completed = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        message = "Compose v2 is not installed as the docker CLI plugin: bash scripts/fetch-upstream.sh"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    name = orchestration_file(out_dir).name
    _run([docker, "compose", "-f", name, "config", "-q"], cwd=out_dir)
    _run([require_tool("docker-compose"), "-f", name, "config", "-q"], cwd=out_dir)
    if name == "docker-stack.yml":
        _run([docker, "stack", "config", "-c", name], cwd=out_dir)


# The keys of a datasource in Grafana's provisioning format (docs: administration/provisioning).
DATASOURCE_KEYS = {"name", "type", "uid", "url", "access", "isDefault", "editable", "jsonData",
                   "secureJsonData", "orgId", "basicAuth", "basicAuthUser", "database", "user", "version",
                   "withCredentials"}


def check_grafana(out_dir: Path) -> None:
    """Grafana's provisioning formats (apiVersion 1; datasources name/type/url/access; file providers with
    options.path) and dashboard JSON with the keys Grafana needs to import it."""
    provisioning = out_dir / "grafana" / "provisioning"
    if not provisioning.is_dir():
        return
    for path in sorted((provisioning / "datasources").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["apiVersion"] == 1, path
        names = [source["name"] for source in data["datasources"]]
        assert len(names) == len(set(names)), f"duplicate datasource names in {path}"
        assert sum(bool(source.get("isDefault")) for source in data["datasources"]) <= 1
        for source in data["datasources"]:
            for key in ("name", "type", "url", "access"):
                assert isinstance(source.get(key), str) and source[key], f"{path}: datasource without {key}"
            assert source["access"] in ("proxy", "direct"), path
            assert source["url"].startswith(("http://", "https://")), path
            unknown = set(source) - DATASOURCE_KEYS
            assert not unknown, f"{path}: keys Grafana does not know: {unknown}"
    for path in sorted((provisioning / "dashboards").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["apiVersion"] == 1, path
        for provider in data["providers"]:
            assert isinstance(provider.get("name"), str) and provider["name"], path
            assert provider.get("type", "file") == "file", path
            path_option = provider["options"]["path"]
            assert isinstance(path_option, str) and path_option.startswith("/"), path
    for path in sorted((out_dir / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(dashboard.get("title"), str) and dashboard["title"], f"{path}: no title"
        assert isinstance(dashboard.get("panels"), list) and dashboard["panels"], f"{path}: no panels"
        assert "schemaVersion" in dashboard and isinstance(dashboard["schemaVersion"], int), path
        if "uid" in dashboard:
            assert isinstance(dashboard["uid"], str) and len(dashboard["uid"]) <= 40, f"{path}: uid too long"
        for panel in dashboard["panels"]:
            assert "type" in panel and "gridPos" in panel, f"{path}: panel without type or gridPos"
            for target in panel.get("targets", []):
                assert "expr" in target or "datasource" in target, path


def check_all(out_dir: Path, scratch: Path, compose_schema: bool = True) -> None:
    """Every upstream check on one rendered output dir."""
    check_prometheus(out_dir, scratch)
    check_alertmanager(out_dir, scratch)
    if compose_schema:
        check_compose_schema([out_dir / "docker-compose.yml"])
    check_compose_config(out_dir)
    check_grafana(out_dir)


def run_main(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    """The console entry point in-process: exit code, stdout, stderr."""
    from stackgen.cli import main

    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
