"""Templates judged by promtool, amtool and the relay's Jinja2 (stackgen/spec/templates.py)."""

# ruff: noqa: E501  (whole messages are asserted)

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from stackgen.spec.validate import check_spec
from tests.helpers import unavailable
from tests.unit.core_helpers import base_spec, write_spec

PROMETHEUS_HINT = "a Prometheus template: {{ $labels.instance }}, {{ $value | humanize }}"
ALERTMANAGER_HINT = "an Alertmanager template: {{ .CommonLabels.alertname }}, {{ .Alerts.Firing | len }}"


@pytest.fixture(autouse=True)
def upstream_tools() -> None:
    for tool in ("promtool", "amtool"):
        if not shutil.which(tool):
            unavailable(f"{tool} is not installed (scripts/apt-ensure.sh installs it)")


def errors(tmp_path: Path, spec: dict[str, Any]) -> list[tuple[str, int, int, str, str | None]]:
    checked = check_spec(write_spec(tmp_path, spec), {}, display_name="s.yaml")
    return [(p.file, p.line, p.column, p.message, p.hint) for p in checked.errors]


def alert(**fields: Any) -> dict[str, Any]:
    return {"include": [], "groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", **fields}]}]}


def test_broken_annotations_and_labels_are_refused_at_their_place(tmp_path: Path) -> None:
    spec = base_spec(rules=alert(labels={"team": "{{ $labels.team", "fixed": "ops"},
                                 annotations={"summary": "down {{ $labels.instance }",
                                              "description": "line one\n{{ $value | nosuch }}",
                                              "fine": "{{ $value | humanize }} {{ $externalLabels.cluster }}"}))
    path = write_spec(tmp_path, spec)
    lines = path.read_text().splitlines()
    team = next(n for n, line in enumerate(lines, 1) if "team:" in line)
    summary = next(n for n, line in enumerate(lines, 1) if "summary:" in line)
    description = next(n for n, line in enumerate(lines, 1) if "description:" in line)
    found = {(line, message) for _, line, _, message, _ in errors(tmp_path, spec)}
    assert found == {
        (team, "invalid template: unclosed action"),
        (summary, 'invalid template: unexpected "}" in operand'),
        (description, 'invalid template (line 2 of the template): function "nosuch" not defined'),
    }
    assert {hint for *_, hint in errors(tmp_path, spec)} == {PROMETHEUS_HINT}


def test_the_same_broken_text_in_many_rules_is_reported_at_each(tmp_path: Path) -> None:
    rules = [{"alert": f"A{n}", "expr": "up == 0", "annotations": {"summary": "{{ $nope }}"}} for n in range(3)]
    spec = base_spec(rules={"include": [], "groups": [{"name": "g", "rules": rules}]})
    assert [message for *_, message, _ in errors(tmp_path, spec)] == ['invalid template: undefined variable "$nope"'] * 3


def test_recording_rules_labels_are_not_templates(tmp_path: Path) -> None:
    spec = base_spec(rules={"include": [], "groups": [{"name": "g", "rules": [
        {"record": "job:up:sum", "expr": "sum by (job) (up)", "labels": {"note": "{{ literal"}}]}]})
    assert errors(tmp_path, spec) == []


def test_an_included_rule_file_is_judged_at_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "extra.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: vector(1)\n"
        "        annotations:\n          summary: '{{ .Labels.job'\n")
    spec = base_spec(rules={"include": [], "files": ["extra.yml"]})
    assert errors(tmp_path, spec) == [("extra.yml", 7, 20, "invalid template: unclosed action", PROMETHEUS_HINT)]


def test_alertmanager_fields_and_template_files_are_judged_by_amtool(tmp_path: Path) -> None:
    (tmp_path / "ok.tmpl").write_text('{{ define "mine" }}{{ .Status | toUpper }}{{ end }}')
    (tmp_path / "broken.tmpl").write_text('{{ define "x" }}\n{{ range .Alerts }}{{ .Labels.alertname }}\n{{ end }}')
    email = {"to": "a@example.com", "from": "b@example.com", "smarthost": "smtp.example.com:587",
             "headers": {"Subject": "{{ .CommonLabels.alertname | upper }}", "X-Fine": "{{ .Status | toUpper }}"}}
    spec = base_spec(alertmanager={"templates": ["ok.tmpl", "broken.tmpl"]},
                     receivers=[{"name": "mail", "email": email}], route={"receiver": "mail"})
    found = sorted((message, hint) for *_, message, hint in errors(tmp_path, spec))
    assert found == [
        ('invalid template in broken.tmpl, line 3: unexpected EOF', ALERTMANAGER_HINT),
        ('invalid template: function "upper" not defined', ALERTMANAGER_HINT),
    ]


def test_a_relay_template_must_compile(tmp_path: Path) -> None:
    (tmp_path / "ding.j2").write_text("{% for alert in alerts %}{{ alert.summary }}\n")
    spec = base_spec(receivers=[{"name": "d", "dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token=t",
                                                           "template": "ding.j2"}}], route={"receiver": "d"})
    [(_, _, _, message, _)] = errors(tmp_path, spec)
    assert message.startswith("invalid Jinja2 template ding.j2:1: Unexpected end of template.")
