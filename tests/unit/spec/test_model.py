"""The model built from a valid spec (spec/build.py -> model.py): defaults from the schema, and host_access."""

# ruff: noqa: E501  (whole error strings are asserted, as the style guide asks)

from __future__ import annotations

from pathlib import Path

import pytest

from stackgen import api
from stackgen.render.topology import services
from stackgen.spec.build import rewrite_local_address
from tests.unit.core_helpers import base_spec, run_stackgen, write_spec


def test_two_line_spec_builds_a_useful_stack(tmp_path: Path) -> None:
    stack = api.load_stack(write_spec(tmp_path, "version: 1\nname: x\n"), {})
    assert [service.name for service in services(stack)] == [
        "prometheus", "alertmanager", "grafana", "node-exporter", "cadvisor", "blackbox-exporter"]
    assert stack.listen == "127.0.0.1"
    assert (stack.prometheus.port, stack.alertmanager.port, stack.grafana.port) == (9090, 9093, 3000)
    assert stack.prometheus.scrape_interval == "15s" and stack.prometheus.retention == "15d"
    assert stack.grafana.admin_password is None  # generated at render time, never a default
    assert stack.host_access == "auto" and stack.language == "zh"
    # packs and dashboards for what runs: no relay (no chat receiver), no pushgateway
    assert set(stack.rule_packs.include) == {"prometheus-self", "alertmanager", "node", "blackbox", "containers",
                                             "watchdog"}
    assert set(stack.dashboards) >= {"overview", "prometheus", "alertmanager", "node"}
    assert stack.receivers == () and stack.route is None and not stack.needs_relay


def test_default_packs_follow_what_runs(tmp_path: Path) -> None:
    spec = {"version": 1, "name": "x", "exporters": {"node": False, "cadvisor": False, "blackbox": False},
            "grafana": {"enabled": False},
            "receivers": [{"name": "d", "dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token=t"}}]}
    stack = api.load_stack(write_spec(tmp_path, spec), {})
    assert set(stack.rule_packs.include) == {"prometheus-self", "alertmanager", "relay", "watchdog"}
    assert stack.dashboards == ()
    assert stack.needs_relay
    assert [service.role for service in services(stack)] == ["prometheus", "alertmanager", "relay"]


def test_an_explicit_empty_include_means_none(tmp_path: Path) -> None:
    stack = api.load_stack(write_spec(tmp_path, base_spec()), {})
    assert stack.rule_packs.include == () and stack.dashboards == ()


@pytest.mark.parametrize(("address", "rewritten"), [
    ("localhost:8080", "host.docker.internal:8080"),
    ("127.0.0.1:9100", "host.docker.internal:9100"),
    ("[::1]:9000", "host.docker.internal:9000"),
    ("http://127.0.0.1:8081/health", "http://host.docker.internal:8081/health"),
    ("https://localhost/health", "https://host.docker.internal/health"),
    ("LOCALHOST:1", "host.docker.internal:1"),
    ("localhost", "host.docker.internal"),
    ("localhost.example.com:80", None),
    ("api.internal:8080", None),
    ("http://mylocalhost:80/", None),
    ("10.0.0.1:80", None),
])
def test_rewrite_local_address(address: str, rewritten: str | None) -> None:
    assert rewrite_local_address(address) == rewritten


LOCAL_SPEC = base_spec(
    targets=[{"job": "app", "targets": ["localhost:8080", "api.internal:8080"]}],
    probes=[{"name": "health", "module": "http_2xx", "targets": ["http://127.0.0.1:8081/health"]},
            {"name": "v6", "module": "tcp_connect", "targets": ["[::1]:9000"]}],
)


def test_host_access_auto_rewrites_targets_and_probes(tmp_path: Path) -> None:
    stack = api.load_stack(write_spec(tmp_path, LOCAL_SPEC), {})
    assert stack.jobs[0].targets == ("host.docker.internal:8080", "api.internal:8080")
    assert stack.probes[0].targets == ("http://host.docker.internal:8081/health",)
    assert stack.probes[1].targets == ("host.docker.internal:9000",)
    assert stack.uses_host_gateway


def test_host_access_off_keeps_addresses(tmp_path: Path) -> None:
    stack = api.load_stack(write_spec(tmp_path, {**LOCAL_SPEC, "host_access": "off"}), {})
    assert stack.jobs[0].targets == ("localhost:8080", "api.internal:8080")
    assert stack.probes[0].targets == ("http://127.0.0.1:8081/health",)
    assert not stack.uses_host_gateway


def test_validate_says_what_it_did_with_local_addresses(tmp_path: Path) -> None:
    write_spec(tmp_path, LOCAL_SPEC)
    completed = run_stackgen("validate", "-f", "stack.yaml", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    notices = completed.stderr.splitlines()
    assert len(notices) == 3
    assert notices[0].startswith("stack.yaml:10:5: notice: targets.0.targets.0: localhost:8080 is the Docker host: "
                                 "scraped as host.docker.internal:8080 (host-gateway)")
    assert "http://127.0.0.1:8081/health is the Docker host" in notices[1]
    assert "[::1]:9000 is the Docker host" in notices[2]
    assert "host_access: off" in notices[0]
    assert "valid" in completed.stdout


def test_validate_is_quiet_about_addresses_with_host_access_off(tmp_path: Path) -> None:
    write_spec(tmp_path, {**LOCAL_SPEC, "host_access": "off"})
    completed = run_stackgen("validate", "-f", "stack.yaml", cwd=tmp_path)
    assert completed.returncode == 0
    assert completed.stderr == ""


def test_host_gateway_is_only_added_with_host_access_auto(tmp_path: Path) -> None:
    from stackgen.render.compose import render_compose
    from stackgen.render.dump import load_yaml

    for host_access, expected in (("auto", ["host.docker.internal:host-gateway"]), ("off", None)):
        stack = api.load_stack(write_spec(tmp_path, {**LOCAL_SPEC, "host_access": host_access}), {})
        compose = load_yaml(render_compose(stack)["docker-compose.yml"].content)
        for name in ("prometheus", "blackbox-exporter"):
            assert compose["services"][name].get("extra_hosts") == expected


def test_host_access_reaches_a_local_webhook(tmp_path: Path) -> None:
    from stackgen.render.alertmanager import render_alertmanager
    from stackgen.render.compose import render_compose
    from stackgen.render.dump import load_yaml

    spec = base_spec(receivers=[{"name": "hook", "webhook": {"url": "http://localhost:5001/alerts"}}])
    stack = api.load_stack(write_spec(tmp_path, spec), {})
    config = load_yaml(render_alertmanager(stack, watchdog=False)["alertmanager/alertmanager.yml"].content)
    assert config["receivers"][0]["webhook_configs"][0]["url"] == "http://host.docker.internal:5001/alerts"
    compose = load_yaml(render_compose(stack)["docker-compose.yml"].content)
    assert compose["services"]["alertmanager"]["extra_hosts"] == ["host.docker.internal:host-gateway"]


def test_an_add_on_role_s_settings_come_with_the_schema_s_defaults(tmp_path: Path) -> None:
    stack = api.load_stack(write_spec(tmp_path, base_spec(victoria_metrics={"enabled": True})), {})
    assert stack.addon_settings("victoria-metrics") == {"enabled": True, "port": 8428, "retention": "1y"}
    assert "victoria-metrics" in [service.role for service in services(stack)]
    stack = api.load_stack(write_spec(tmp_path / "off", base_spec()), {})
    assert stack.addon_settings("victoria-metrics")["enabled"] is False
    assert "victoria-metrics" not in [service.role for service in services(stack)]
    assert stack.addon_settings("prometheus") == {}
