"""Every shipped rule pack, rendered with its defaults, passes promtool's checks and its own unit tests,
with Prometheus 3 (today's upstream) and with Debian 12's 2.42."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stackgen.content.locate import blueprints_dir
from stackgen.content.rules import LANGUAGES, available_packs, load_pack
from stackgen.render.dump import load_yaml, yaml_bytes
from tests.helpers import tool_versions

PROMTOOL_SETS = ("current", "debian12")
TESTS_DIR = blueprints_dir() / "rules" / "tests"


def write_pack(directory: Path, pack: str, language: str) -> Path:
    path = directory / f"{pack}.yml"
    # Written the way `render` writes it, so this tests what Prometheus will be given.
    path.write_bytes(yaml_bytes({"groups": load_pack(pack, language=language)}))
    return path


def promtool(set_name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    # Not a skip: packs that were never run through promtool must not pass as tested.
    path = tool_versions("promtool")[set_name]
    return subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_every_pack_has_unit_tests() -> None:
    tested = sorted(path.name.removesuffix(".test.yml") for path in TESTS_DIR.glob("*.test.yml"))
    assert tested == available_packs()


@pytest.mark.slow  # promtool per pack and language
@pytest.mark.parametrize("set_name", PROMTOOL_SETS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("pack", available_packs())
def test_pack_passes_promtool_check(pack: str, language: str, set_name: str, tmp_path: Path) -> None:
    result = promtool(set_name, "check", "rules", write_pack(tmp_path, pack, language))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # promtool test rules: http-red's baselines alone take ~20 s
@pytest.mark.parametrize("set_name", PROMTOOL_SETS)
@pytest.mark.parametrize("pack", available_packs())
def test_pack_unit_tests_pass(pack: str, set_name: str, tmp_path: Path) -> None:
    # The unit tests expect the English annotations; the check above covers the Chinese templates.
    write_pack(tmp_path, pack, "en")
    test_file = shutil.copy(TESTS_DIR / f"{pack}.test.yml", tmp_path)
    result = promtool(set_name, "test", "rules", test_file)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("pack", available_packs())
def test_unit_tests_cover_every_alert_firing_and_not_firing(pack: str) -> None:
    rules = [rule for group in load_pack(pack) for rule in group["rules"] if "alert" in rule]
    alerts = {rule["alert"] for rule in rules}
    always_firing = {rule["alert"] for rule in rules if rule["expr"] == "vector(1)"}  # Watchdog, by design
    tests = load_yaml((TESTS_DIR / f"{pack}.test.yml").read_bytes())
    cases = [case for group in tests["tests"] for case in group.get("alert_rule_test") or []]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert alerts - fired == set(), "alerts never tested firing"
    assert alerts - always_firing - silent == set(), "alerts never tested staying silent"
