"""The core commands through the console entry point: init, validate, render, schema (exit codes and
output), a few as real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.core_helpers import (
    CONTRACT_ENV,
    base_spec,
    contract_text,
    run_main,
    run_stackgen,
    tree_digest,
    write_spec,
)


def validate_without(names: set[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`stackgen validate` in a subprocess whose environment lacks `names`."""
    environment = {key: value for key, value in os.environ.items() if key not in names}
    return subprocess.run([sys.executable, "-m", "stackgen", "validate", "-f", "stack.yaml"], cwd=cwd,
                          env=environment, capture_output=True, text=True, check=False)




def test_init_writes_spec_gitignore_and_env_example(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["init", str(tmp_path / "demo")], capsys)
    assert code == 0, err
    for name in ("stack.yaml", ".gitignore", ".env.example"):
        assert (tmp_path / "demo" / name).is_file(), name
    ignored = (tmp_path / "demo" / ".gitignore").read_text().splitlines()
    assert "generated/secrets/" in ignored
    # what apply records beside the rendered files is machine state, not something to commit
    from stackgen.runtime.state import STATE_FILE
    from stackgen.upstream_check import CHECK_RECORD

    assert {f"generated/{CHECK_RECORD}", f"generated/{STATE_FILE}"} <= set(ignored)
    assert "#" in (tmp_path / "demo" / "stack.yaml").read_text()  # commented from the schema


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, "version: 1\nname: mine\n")
    code, _, err = run_main(["init", str(tmp_path)], capsys)
    assert code == 2 and "Traceback" not in err
    assert spec.read_text() == "version: 1\nname: mine\n"
    code, _, err = run_main(["init", str(tmp_path), "--force"], capsys)
    assert code == 0, err
    assert spec.read_text() != "version: 1\nname: mine\n"


def test_init_unknown_blueprint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["init", str(tmp_path / "x"), "--blueprint", "minimall"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "minimal" in err


def test_init_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["init", "--list"], capsys)
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert {"minimal", "default"} <= set(names)


@pytest.mark.parametrize("blueprint", ["minimal", "default"])
def test_init_then_validate_and_render(blueprint: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / blueprint
    assert run_main(["init", str(directory), "--blueprint", blueprint], capsys)[0] == 0
    code, out, err = run_main(["validate", "-f", str(directory / "stack.yaml")], capsys)
    assert code == 0, err
    assert "valid" in out
    code, out, err = run_main(["render", "-f", str(directory / "stack.yaml")], capsys)
    assert code == 0, err
    assert (directory / "generated" / "docker-compose.yml").is_file()
    assert "created" in out


def test_validate_default_path_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(["validate"], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("stack.yaml:1:1: no such file")
    write_spec(tmp_path, base_spec())
    assert run_main(["validate", "-q"], capsys) == (0, "", "")


def test_render_reports_changes_then_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, base_spec(targets=[{"job": "api", "targets": ["a:1"]}]))
    code, out, _ = run_main(["render", "-f", str(spec), "-o", str(tmp_path / "out")], capsys)
    assert code == 0 and "created  prometheus/targets/api.json" in out
    code, out, _ = run_main(["render", "-f", str(spec), "-o", str(tmp_path / "out")], capsys)
    assert code == 0 and "up to date" in out
    write_spec(tmp_path, base_spec(targets=[{"job": "api", "targets": ["a:1", "b:2"]}]))
    code, out, _ = run_main(["render", "-f", str(spec), "-o", str(tmp_path / "out")], capsys)
    assert code == 0
    assert [line.split() for line in out.splitlines() if line.startswith("  ")] == [
        ["changed", "prometheus/targets/api.json"]]


def test_render_removes_what_it_no_longer_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, base_spec(targets=[{"job": "api", "targets": ["a:1"]}]))
    out_dir = tmp_path / "out"
    run_main(["render", "-f", str(spec), "-o", str(out_dir)], capsys)
    write_spec(tmp_path, base_spec())
    code, out, _ = run_main(["render", "-f", str(spec), "-o", str(out_dir)], capsys)
    assert code == 0 and "removed  prometheus/targets/api.json" in out
    assert not (out_dir / "prometheus/targets/api.json").exists()


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["schema"], capsys)
    assert code == 0
    schema = json.loads(out)
    assert schema["required"] == ["version", "name"]
    assert "scrape_interval" in json.dumps(schema)


def test_contract_validates_and_renders_as_a_subprocess(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(contract_text(), encoding="utf-8")
    completed = run_stackgen("validate", "-f", "stack.yaml", cwd=tmp_path, env=CONTRACT_ENV)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("stack.yaml: valid")
    completed = run_stackgen("render", "-f", "stack.yaml", cwd=tmp_path, env=CONTRACT_ENV)
    assert completed.returncode == 0, completed.stderr
    digest = tree_digest(tmp_path / "generated")
    completed = run_stackgen("render", "-f", "stack.yaml", cwd=tmp_path, env=CONTRACT_ENV)
    assert completed.returncode == 0 and "up to date" in completed.stdout
    assert tree_digest(tmp_path / "generated") == digest


def test_contract_variables_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(contract_text(), encoding="utf-8")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in CONTRACT_ENV.items()), encoding="utf-8")
    completed = validate_without(set(CONTRACT_ENV), tmp_path)  # the environment would win over .env
    assert completed.returncode == 0, completed.stderr


def test_contract_without_its_variables(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(contract_text(), encoding="utf-8")
    completed = validate_without(set(CONTRACT_ENV), tmp_path)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    undefined = [line for line in completed.stderr.splitlines() if "undefined variable" in line]
    assert {line.split("${")[1].split("}")[0] for line in undefined} == set(CONTRACT_ENV)


def test_unknown_command_and_help() -> None:
    completed = run_stackgen("frobnicate")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    completed = run_stackgen("--help")
    assert completed.returncode == 0
    for command in ("init", "validate", "render", "schema"):
        assert command in completed.stdout


def test_plan_diff_shows_changes_and_never_a_secret() -> None:
    from stackgen.commands.console import file_diff

    assert file_diff("prometheus/prometheus.yml", b"a: 1\nb: 2\n", b"a: 1\nb: 3\n") == [
        "--- a/prometheus/prometheus.yml", "+++ b/prometheus/prometheus.yml", "@@ -1,2 +1,2 @@",
        " a: 1", "-b: 2", "+b: 3"]
    assert file_diff("new.yml", None, b"x: 1\n")[:2] == ["--- /dev/null", "+++ b/new.yml"]
    shown = file_diff("secrets/alertmanager/mail.password", b"old-Secret", b"new-Secret")
    assert not any("Secret" in line for line in shown)


BROKEN_SPEC = """version: 1
name: t
receivers:
  - name: a
route: {receiver: b}
targets:
  - job: x
    targets: ["localhost:8080"]
"""


def test_validate_json_lists_errors_and_notices_as_data(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, BROKEN_SPEC)
    code, out, _ = run_main(["validate", "-f", str(spec), "--format", "json"], capsys)
    assert code == 2
    data = json.loads(out)
    assert data["valid"] is False
    error, notice = data["problems"]
    where = (error["line"], error["column"], error["path"], error["severity"])
    assert where == (5, 19, "route.receiver", "error")
    assert error["message"] == "unknown receiver 'b'" and error["hint"] == "define it under receivers"
    assert (notice["path"], notice["severity"]) == ("targets.0.targets.0", "notice")
    code, out, _ = run_main(["validate", "-f", str(write_spec(tmp_path, base_spec())), "--format", "json"],
                            capsys)
    assert (code, json.loads(out)["valid"], json.loads(out)["problems"]) == (0, True, [])


def test_validate_github_annotations_escape_what_the_format_reserves(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, BROKEN_SPEC)
    code, out, _ = run_main(["validate", "-f", str(spec), "--format", "github"], capsys)
    assert code == 2
    error, notice = out.splitlines()
    assert error.startswith("::error file=") and ",line=5,col=19,title=route.receiver::" in error
    assert error.endswith("::unknown receiver 'b' (define it under receivers)")
    assert notice.startswith("::notice ") and "title=targets.0.targets.0::" in notice
    from stackgen.spec.problems import Problem

    odd = Problem("a,b:c.yaml", 1, 2, ("x",), "50% done\nnext line")
    expected = "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=x::50%25 done%0Anext line"
    assert odd.github_annotation() == expected


def test_render_check_writes_nothing_and_fails_only_on_a_stale_committable_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, base_spec(targets=[{"job": "api", "targets": ["api:8080"]}]))
    out_dir = tmp_path / "out"
    code, out, _ = run_main(["render", "-f", str(spec), "-o", str(out_dir), "--check"], capsys)
    assert code == 1 and "missing  prometheus/prometheus.yml" in out
    assert not out_dir.exists()  # nothing written
    assert run_main(["render", "-f", str(spec), "-o", str(out_dir)], capsys)[0] == 0
    shutil.rmtree(out_dir / "secrets")  # never committed: not compared
    code, out, _ = run_main(["render", "-f", str(spec), "-o", str(out_dir), "--check"], capsys)
    assert code == 0 and "up to date" in out
    write_spec(tmp_path, base_spec(targets=[{"job": "api", "targets": ["api:8080", "api:8081"]}]))
    code, out, _ = run_main(["render", "-f", str(spec), "-o", str(out_dir), "--check"], capsys)
    assert code == 1 and out.splitlines()[0] == "  differs  prometheus/targets/api.json"
    assert "api:8081" not in (out_dir / "prometheus/targets/api.json").read_text()


def test_logs_completes_the_rendered_services(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_spec(tmp_path, base_spec())
    assert run_main(["render", "-f", str(spec)], capsys)[0] == 0
    monkeypatch.setenv("COMP_WORDS", f"stackgen logs -f {spec} a")
    monkeypatch.setenv("COMP_CWORD", "4")
    monkeypatch.setenv("_STACKGEN_COMPLETE", "bash_complete")
    _, out, _ = run_main([], capsys)
    assert out.split() == ["plain,alertmanager"]


def test_a_bug_is_one_line_and_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import stackgen.api

    def broken(*_: object, **__: object) -> None:
        raise KeyError("no such thing")

    monkeypatch.setattr(stackgen.api, "validate", broken)
    write_spec(tmp_path, base_spec())
    monkeypatch.delenv("STACKGEN_DEBUG", raising=False)
    code, out, err = run_main(["validate", "-f", str(tmp_path / "stack.yaml")], capsys)
    assert (code, out) == (3, "")
    assert err == ("stackgen: internal error: KeyError: 'no such thing'; "
                   "STACKGEN_DEBUG=1 shows the traceback\n")
    monkeypatch.setenv("STACKGEN_DEBUG", "1")
    with pytest.raises(KeyError):
        run_main(["validate", "-f", str(tmp_path / "stack.yaml")], capsys)


FLEET_CONTRACT_ENV = {"WEB_ADMIN_PASSWORD": "contract-admin-password",
                      "FLEET_SCRAPE_PASSWORD": "contract-scrape-password"}


def test_fleet_contract_validates_and_renders_as_it_stands(tmp_path: Path, shared_dir: Path) -> None:
    """../shared/contract/fleet.example.yaml, every key of it (web, fleet, discovery, deploy), exactly as
    written, with inventory.ini beside it and a throwaway key at keys/fleet_ed25519; never applied."""
    for name in ("fleet.example.yaml", "inventory.ini"):
        shutil.copy(shared_dir / "contract" / name, tmp_path / name)
    (tmp_path / "keys").mkdir()
    key = tmp_path / "keys" / "fleet_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    completed = run_stackgen("validate", "-f", "fleet.example.yaml", cwd=tmp_path, env=FLEET_CONTRACT_ENV)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("fleet.example.yaml: valid")
    completed = run_stackgen("render", "-f", "fleet.example.yaml", cwd=tmp_path, env=FLEET_CONTRACT_ENV)
    assert completed.returncode == 0, completed.stderr
    rendered = tmp_path / "generated"
    for path in ("docker-compose.yml", "ansible/fleet.yml", "ansible/inventory.yml",
                 "prometheus/targets/fleet.json", "prometheus/prometheus.yml"):
        assert (rendered / path).is_file(), path
    prometheus = (rendered / "prometheus" / "prometheus.yml").read_text()
    assert "docker_sd_configs" in prometheus and "job_name: fleet" in prometheus
    assert "contract-admin-password" not in prometheus + (rendered / "docker-compose.yml").read_text()
    digest = tree_digest(rendered)
    completed = run_stackgen("render", "-f", "fleet.example.yaml", cwd=tmp_path, env=FLEET_CONTRACT_ENV)
    assert completed.returncode == 0 and "up to date" in completed.stdout, completed.stdout + completed.stderr
    assert tree_digest(rendered) == digest


def test_invalid_spec_from_python_names_each_problem(tmp_path: Path) -> None:
    """A caller of stackgen.api (a test fixture, a script) sees the problems, not only their count."""
    from stackgen import api
    from stackgen.errors import InvalidSpec

    spec = tmp_path / "stack.yaml"
    spec.write_text("version: 1\nname: demo\nprometheus: {port: 9090}\nalertmanager: {port: 9090}\n",
                    encoding="utf-8")
    with pytest.raises(InvalidSpec) as raised:
        api.load_stack(spec)
    assert str(raised.value).splitlines()[0] == "1 problem in the spec"
    message = str(raised.value)
    assert "stack.yaml:4:" in message and "port 9090 is already published by prometheus.port" in message
