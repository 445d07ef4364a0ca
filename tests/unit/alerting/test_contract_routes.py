"""The contract's routing tree, judged by Alertmanager's own router: `amtool config routes test`.

The contract (../shared/contract/stack.example.yaml, its five variables set) is rendered in process and
amtool 0.25 says which receivers each label set reaches, in order. Every route of the spec is reached
by at least one case, `receivers: [a, b]` reaches both (sibling routes, the first with continue), and
the notify-test routes take a test alert to exactly its receiver whatever its other labels.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from stackgen.api import load_stack, render_files
from tests.unit.core_helpers import CONTRACT_ENV, require_tool

RECEIVERS = ["ops-dingtalk", "ops-wecom", "ops-wecom-app", "oncall-mail"]

# labels -> receivers in the order Alertmanager notifies them. What the contract's route says:
#   root ops-dingtalk; severity="critical" -> [ops-wecom, oncall-mail]; team="payments" -> ops-wecom-app.
CASES: list[tuple[dict[str, str], list[str]]] = [
    ({"alertname": "DiskFull"}, ["ops-dingtalk"]),
    ({"alertname": "DiskFull", "severity": "warning"}, ["ops-dingtalk"]),
    ({"alertname": "HostDown", "severity": "critical"}, ["ops-wecom", "oncall-mail"]),
    ({"alertname": "LatencyHigh", "team": "payments"}, ["ops-wecom-app"]),
    ({"alertname": "LatencyHigh", "team": "payments", "severity": "warning"}, ["ops-wecom-app"]),
    # The contract's own rule: critical wins, and its last sibling has no continue, so the payments
    # route after it is not reached (Alertmanager's first-match semantics, kept by the expansion).
    ({"alertname": "HighErrorRate", "severity": "critical", "team": "payments", "job": "api"},
     ["ops-wecom", "oncall-mail"]),
    ({"alertname": "HighErrorRate", "severity": "critical", "team": "search"}, ["ops-wecom", "oncall-mail"]),
    # Values that only resemble a matcher's value do not match it.
    ({"alertname": "X", "severity": "critical-ish", "team": "payments-eu"}, ["ops-dingtalk"]),
]
# A notify-test alert carries every label that could pull it elsewhere: it must still reach only its own.
NOTIFY_TEST_CASES = [
    ({"alertname": "StackgenNotifyTest", "stackgen_notify_test": name, "severity": "critical",
      "team": "payments"}, [name])
    for name in RECEIVERS
]


@pytest.fixture(scope="module")
def alertmanager_yml(contract_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("contract-routes")
    spec = directory / "stack.yaml"
    shutil.copy(contract_path, spec)
    files = render_files(load_stack(spec, CONTRACT_ENV), directory / "generated")
    path = directory / "alertmanager.yml"
    path.write_bytes(files["alertmanager/alertmanager.yml"].content)
    return path


def routes_test(config: Path, labels: dict[str, str]) -> list[str]:
    """The receivers amtool routes `labels` to, in order."""
    amtool = require_tool("amtool")
    completed = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={config}",
         *(f"{name}={value}" for name, value in labels.items())],
        capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().split(",")


@pytest.mark.parametrize(("labels", "expected"), CASES + NOTIFY_TEST_CASES,
                         ids=[",".join(f"{k}={v}" for k, v in labels.items()) for labels, _ in
                              CASES + NOTIFY_TEST_CASES])
def test_amtool_routes_each_label_set_to_the_expected_receivers(
        alertmanager_yml: Path, labels: dict[str, str], expected: list[str]) -> None:
    assert routes_test(alertmanager_yml, labels) == expected


def test_every_route_of_the_contract_is_reached_by_a_case(contract_path: Path) -> None:
    spec = YAML(typ="safe").load(contract_path.read_text(encoding="utf-8"))

    def route_receivers(route: dict[str, Any]) -> set[str]:
        names = set(route.get("receivers") or []) | ({route["receiver"]} if "receiver" in route else set())
        for child in route.get("routes") or []:
            names |= route_receivers(child)
        return names

    reached = {name for _, expected in CASES for name in expected}
    assert route_receivers(spec["route"]) <= reached
    assert {r["name"] for r in spec["receivers"]} == set(RECEIVERS)


def test_several_receivers_become_sibling_routes_with_continue(alertmanager_yml: Path) -> None:
    config = YAML(typ="safe").load(alertmanager_yml.read_text(encoding="utf-8"))
    critical = [r for r in config["route"]["routes"] if r.get("matchers") == ['severity="critical"']]
    assert [(r["receiver"], r.get("continue", False)) for r in critical] == \
        [("ops-wecom", True), ("oncall-mail", False)]
    # The notify-test routes come first, one per receiver, without continue.
    first = config["route"]["routes"][: len(RECEIVERS)]
    assert [r["matchers"] for r in first] == [[f'stackgen_notify_test="{n}"'] for n in RECEIVERS]
    assert not any(r.get("continue") for r in first)
