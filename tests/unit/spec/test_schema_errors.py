"""jsonschema errors turned into Problems (stackgen/spec/schema_errors.py): whole strings asserted."""

# ruff: noqa: E501  (whole error strings are asserted, as the style guide asks)

from __future__ import annotations

from pathlib import Path

from stackgen.spec.validate import check_spec
from tests.unit.core_helpers import write_spec

HEAD = "version: 1\nname: x\nrules: {include: []}\ndashboards: {include: []}\n"


def problems(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> list[str]:
    path = write_spec(tmp_path, HEAD + body)
    return [problem.format() for problem in check_spec(path, env or {}, display_name="s.yaml").errors]


def test_unknown_key_points_at_the_key_with_did_you_mean(tmp_path: Path) -> None:
    assert problems(tmp_path, "prometheus:\n  port: 9090\n  scrape_intervall: 30s\n") == [
        "s.yaml:7:3: prometheus.scrape_intervall: unknown key 'scrape_intervall' "
        "(did you mean 'scrape_interval'?)"]


def test_unknown_key_without_a_close_match_lists_the_keys(tmp_path: Path) -> None:
    [line] = problems(tmp_path, "targets:\n  - job: a\n    targets: [a:1]\n    zzz: 1\n")
    assert line.startswith("s.yaml:8:5: targets.0.zzz: unknown key 'zzz'")
    assert "(allowed here:" in line or line.endswith("'zzz'")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert problems(tmp_path, "recievers: []\n") == [
        "s.yaml:5:1: recievers: unknown key 'recievers' (did you mean 'receivers'?)"]


def test_required_key(tmp_path: Path) -> None:
    assert problems(tmp_path, "probes:\n  - name: p\n    module: http_2xx\n") == [
        "s.yaml:6:5: probes.0: missing required key 'targets'"]


def test_type(tmp_path: Path) -> None:
    assert problems(tmp_path, "prometheus:\n  replicas: two\n") == [
        "s.yaml:6:13: prometheus.replicas: expected an integer, got 'two'"]
    assert problems(tmp_path, "grafana:\n  enabled: 'yes'\n") == [
        "s.yaml:6:12: grafana.enabled: expected true or false, got 'yes'"]


def test_enum(tmp_path: Path) -> None:
    assert problems(tmp_path, "language: fr\n") == ["s.yaml:5:11: language: must be one of zh, en; got 'fr'"]


def test_pattern_uses_the_schema_x_error_text(tmp_path: Path) -> None:
    assert problems(tmp_path, "prometheus:\n  retention_size: 10 gigs\n") == [
        "s.yaml:6:19: prometheus.retention_size: expected a size like 512MB or 10GB, got '10 gigs'"]


def test_minimum_and_maximum(tmp_path: Path) -> None:
    assert problems(tmp_path, "alertmanager:\n  replicas: 0\n") == [
        "s.yaml:6:13: alertmanager.replicas: must be at least 1, got 0"]


def test_receiver_channel_object_branch(tmp_path: Path) -> None:
    """`webhook: {...}` fits the object branch of object|list: its own errors, not 'expected ...'."""
    assert problems(tmp_path, "receivers:\n  - name: r\n    webhook: {url: 'ftp://x', max_alerts: -1}\n") == [
        "s.yaml:7:20: receivers.0.webhook.url: expected an http:// or https:// URL, got 'ftp://x'",
        "s.yaml:7:43: receivers.0.webhook.max_alerts: must be at least 0, got -1",
    ]


def test_receiver_channel_list_branch(tmp_path: Path) -> None:
    assert problems(tmp_path, "receivers:\n  - name: r\n    webhook:\n      - url: http://ok\n"
                              "      - {url: http://ok, colour: red}\n") == [
        "s.yaml:9:26: receivers.0.webhook.1.colour: unknown key 'colour' (allowed here: url, max_alerts, send_resolved)"]


def test_receiver_channel_wrong_type(tmp_path: Path) -> None:
    assert problems(tmp_path, "receivers:\n  - name: r\n    dingtalk: 42\n") == [
        "s.yaml:7:15: receivers.0.dingtalk: expected a mapping or a list, got 42"]


def test_exporter_bool_or_object(tmp_path: Path) -> None:
    assert problems(tmp_path, "exporters:\n  node: {enabled: true, port: 70000}\n") == [
        "s.yaml:6:31: exporters.node.port: must be at most 65535, got 70000"]
    [line] = problems(tmp_path, "exporters:\n  node: maybe\n")
    assert line.startswith("s.yaml:6:9: exporters.node: expected true or false or a mapping, got 'maybe'")


def test_undefined_variable_is_reported_once(tmp_path: Path) -> None:
    """An undefined ${VAR} empties the value; the schema's complaint about the empty value is not added."""
    assert problems(tmp_path, "prometheus:\n  port: ${NOPE}\n") == [
        "s.yaml:6:9: prometheus.port: undefined variable ${NOPE} (set NOPE in the environment or in .env "
        "beside the spec, or write ${NOPE:-default})"]


def test_every_problem_sorted_by_position(tmp_path: Path) -> None:
    found = problems(tmp_path, "route: {receiver: ghost}\nprometheus: {port: 0}\nlisten: nowhere\n")
    assert [line.split(": ")[0] for line in found] == ["s.yaml:5:19", "s.yaml:6:20", "s.yaml:7:9"]
