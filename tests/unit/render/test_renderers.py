"""Renderers (stackgen/render/*): compose, prometheus, alertmanager, relay, secrets; determinism."""

# ruff: noqa: E501  (expected config fragments are easier to read on one line)

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from stackgen import api
from tests.unit.core_helpers import CONTRACT_ENV, base_spec, contract_text, write_spec


def render(tmp_path: Path, spec: dict[str, Any] | str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Render through the public API into tmp_path/out; return path -> RenderedFile."""
    path = write_spec(tmp_path, spec)
    stack = api.load_stack(path, env or {})
    return api.render_files(stack, tmp_path / "out")


def doc(files: dict[str, Any], path: str) -> Any:
    return yaml.safe_load(files[path].content)


SECRETS = {
    "dingtalk_url": "https://oapi.dingtalk.com/robot/send?access_token=SECRET-ding-url-1",
    "dingtalk_secret": "SECRET-ding-sign-2",
    "wecom_key": "SECRET-wecom-robot-3",
    "wecom_secret": "SECRET-wecom-app-4",
    "feishu_url": "https://open.feishu.cn/open-apis/bot/v2/hook/SECRET-feishu-5",
    "feishu_secret": "SECRET-feishu-sign-6",
    "smtp": "SECRET-smtp-7",
    "basic": "SECRET-basic-8",
    "bearer": "SECRET-bearer-9",
    "rw_basic": "SECRET-rw-basic-10",
    "rw_bearer": "SECRET-rw-bearer-11",
    "consul": "SECRET-consul-12",
    "grafana": "SECRET-grafana-13",
}

EVERY_SECRET_SPEC = base_spec(
    grafana={"admin_password": SECRETS["grafana"]},
    prometheus={"remote_write": [{"name": "lt", "url": "https://lt.example/write",
                                  "basic_auth": {"username": "u", "password": SECRETS["rw_basic"]}},
                                 {"url": "https://lt2.example/write", "bearer_token": SECRETS["rw_bearer"]}]},
    targets=[{"job": "auth", "targets": ["a:1"], "basic_auth": {"username": "u", "password": SECRETS["basic"]}},
             {"job": "token", "targets": ["b:1"], "bearer_token": SECRETS["bearer"]},
             {"job": "svc", "consul": {"server": "consul:8500", "token": SECRETS["consul"]}}],
    receivers=[
        {"name": "ding", "dingtalk": {"url": SECRETS["dingtalk_url"], "secret": SECRETS["dingtalk_secret"]}},
        {"name": "robot", "wecom_robot": {"key": SECRETS["wecom_key"]}},
        {"name": "app", "wecom": {"corp_id": "ww1", "agent_id": 1000002, "secret": SECRETS["wecom_secret"]}},
        {"name": "fei", "feishu": {"url": SECRETS["feishu_url"], "secret": SECRETS["feishu_secret"]}},
        {"name": "mail", "email": {"to": "a@example.com", "from": "b@example.com", "smarthost": "smtp.example.com:587",
                                   "username": "b", "password": SECRETS["smtp"]}},
    ],
)


# ---- secrets ----------------------------------------------------------------------------------------

def test_secrets_never_appear_in_non_secret_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.render(write_spec(tmp_path, EVERY_SECRET_SPEC), out, {})
    non_secret = [p for p in out.rglob("*") if p.is_file() and "secrets" not in p.relative_to(out).parts]
    assert non_secret
    secret_texts = {p.read_text() for p in (out / "secrets").rglob("*") if p.is_file()}
    for name, value in SECRETS.items():
        assert value in secret_texts, f"{name} has no secret file"
        for path in non_secret:
            assert value not in path.read_text(encoding="utf-8", errors="replace"), f"{name} leaked into {path}"


def test_secret_files_are_0600_in_0700_dirs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.render(write_spec(tmp_path, EVERY_SECRET_SPEC), out, {})
    assert stat.S_IMODE((out / "secrets").stat().st_mode) == 0o700
    secret_files = [p for p in (out / "secrets").rglob("*") if p.is_file()]
    assert secret_files
    root = os.geteuid() == 0
    for path in secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == (0o600 if root else 0o644), path
        if root:
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    if root:  # owned by the container's user, who must read them
        assert (out / "secrets/grafana/admin_password").stat().st_uid == 472
        assert (out / "secrets/alertmanager").stat().st_uid == 65534


def test_config_files_name_secret_files(tmp_path: Path) -> None:
    files = render(tmp_path, EVERY_SECRET_SPEC)
    prometheus = doc(files, "prometheus/prometheus.yml")
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["auth"]["basic_auth"]["password_file"].startswith("/run/secrets/stackgen/")
    assert jobs["token"]["authorization"]["credentials_file"].startswith("/run/secrets/stackgen/")
    assert jobs["svc"]["consul_sd_configs"][0]["authorization"]["credentials_file"].startswith("/run/secrets/stackgen/")
    assert prometheus["remote_write"][0]["basic_auth"]["password_file"].startswith("/run/secrets/stackgen/")
    am = doc(files, "alertmanager/alertmanager.yml")
    [mail] = [r for r in am["receivers"] if r["name"] == "mail"]
    password_file = mail["email_configs"][0]["auth_password_file"]
    assert password_file.startswith("/run/secrets/stackgen/") and "auth_password" not in mail["email_configs"][0]
    secret_path = "secrets/alertmanager/" + password_file.rsplit("/", 1)[1]
    assert files[secret_path].content == SECRETS["smtp"].encode()


def test_grafana_password_is_generated_once_and_kept(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, base_spec())
    out = tmp_path / "out"
    api.render(spec, out, {})
    first = (out / "secrets/grafana/admin_password").read_bytes()
    assert len(first) >= 16
    api.render(spec, out, {})
    assert (out / "secrets/grafana/admin_password").read_bytes() == first
    other = tmp_path / "other"
    api.render(spec, other, {})
    assert (other / "secrets/grafana/admin_password").read_bytes() != first  # random, not a default


# ---- compose -----------------------------------------------------------------------------------------

def test_compose_operator_details(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(listen="127.0.0.2", exporters={"node": {"enabled": True, "port": 9100}}))
    compose = doc(files, "docker-compose.yml")
    assert "name" not in compose and compose["x-stackgen"]["project"] == "t"
    assert files[".env"].content == b"COMPOSE_PROJECT_NAME=t\n"
    services = compose["services"]
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        assert service["labels"]["io.stackgen.role"] in name, name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.2:"), (name, port)
        for volume in service.get("volumes", []):
            source, _target, *mode = volume.split(":")
            if source.startswith("./"):
                assert mode == ["ro"], volume  # config and secrets: read-only directories
                assert not Path(source).suffix, f"{volume}: a single-file bind mount goes stale on rename"
        if name != "jaeger":
            assert service["healthcheck"]["test"][0] == "CMD", name
    assert services["prometheus"]["ports"] == ["127.0.0.2:9090:9090"]
    assert services["node-exporter"]["ports"] == ["127.0.0.2:9100:9100"]
    assert "ports" not in services["cadvisor"]
    assert "--web.enable-lifecycle" in services["prometheus"]["command"]
    assert {"prometheus-data", "alertmanager-data", "grafana-data"} <= set(compose["volumes"])
    assert "prometheus-data:/prometheus" in services["prometheus"]["volumes"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "./secrets/grafana:/run/secrets/stackgen:ro" in services["grafana"]["volumes"]
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/stackgen/admin_password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in services["grafana"]["environment"]


def test_ipv6_listen_is_bracketed(tmp_path: Path) -> None:
    compose = doc(render(tmp_path, base_spec(listen="::1")), "docker-compose.yml")
    assert compose["services"]["prometheus"]["ports"] == ["[::1]:9090:9090"]


def test_single_alertmanager_turns_clustering_off(tmp_path: Path) -> None:
    compose = doc(render(tmp_path, base_spec()), "docker-compose.yml")
    command = compose["services"]["alertmanager"]["command"]
    assert "--cluster.listen-address=" in command
    assert not [arg for arg in command if arg.startswith("--cluster.peer")]


def test_high_availability(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(prometheus={"replicas": 2, "external_labels": {"cluster": "c1"}},
                                       alertmanager={"replicas": 3}))
    compose = doc(files, "docker-compose.yml")
    services = compose["services"]
    assert {"prometheus-1", "prometheus-2", "alertmanager-1", "alertmanager-2", "alertmanager-3"} <= set(services)
    assert "prometheus" not in services and "alertmanager" not in services
    assert services["prometheus-2"]["ports"] == ["127.0.0.1:9091:9090"]
    assert services["alertmanager-3"]["ports"] == ["127.0.0.1:9095:9093"]
    assert "--config.file=/etc/prometheus/prometheus-2.yml" in services["prometheus-2"]["command"]
    command = services["alertmanager-2"]["command"]
    assert "--cluster.listen-address=0.0.0.0:9094" in command
    assert sorted(arg for arg in command if arg.startswith("--cluster.peer=")) == [
        "--cluster.peer=alertmanager-1:9094", "--cluster.peer=alertmanager-3:9094"]
    assert {"prometheus-1-data", "prometheus-2-data"} <= set(compose["volumes"])
    for replica in ("prometheus-1", "prometheus-2"):
        config = doc(files, f"prometheus/{replica}.yml")
        assert config["global"]["external_labels"] == {"cluster": "c1", "replica": replica}
        assert config["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "replica"}]
        assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
            "alertmanager-1:9093", "alertmanager-2:9093", "alertmanager-3:9093"]
    assert "prometheus/prometheus.yml" not in files


def test_every_prometheus_resends_alerts_after_5s_not_a_minute(tmp_path: Path) -> None:
    # Alerts of the first evaluations are dropped until the notifier has discovered its Alertmanagers
    # (up to 5 s); the resend delay is how long they then wait.
    for spec in (base_spec(), base_spec(prometheus={"replicas": 2})):
        services = doc(render(tmp_path, spec), "docker-compose.yml")["services"]
        commands = [s["command"] for s in services.values() if s["labels"]["io.stackgen.role"] == "prometheus"]
        assert commands and all("--rules.alert.resend-delay=5s" in command for command in commands)


def test_a_resend_delay_in_extra_args_replaces_stackgens(tmp_path: Path) -> None:
    for extra in (["--rules.alert.resend-delay=30s"], ["--rules.alert.resend-delay", "30s"]):
        compose = doc(render(tmp_path, base_spec(prometheus={"extra_args": extra})), "docker-compose.yml")
        command = compose["services"]["prometheus"]["command"]
        assert [arg for arg in command if arg.startswith("--rules.alert.resend-delay")] == [extra[0]]
        assert command[-len(extra):] == extra


def test_an_external_url_with_a_path_keeps_the_routes_at_the_root(tmp_path: Path) -> None:
    # With the path as route prefix, /-/healthy, /-/reload and /metrics answer 404 inside the stack.
    spec = base_spec(prometheus={"external_url": "https://mon.example.com/prom/"},
                     alertmanager={"external_url": "https://mon.example.com/alerts"})
    services = doc(render(tmp_path, spec), "docker-compose.yml")["services"]
    assert "--web.route-prefix=/" in services["prometheus"]["command"]
    assert "--web.route-prefix=/" in services["alertmanager"]["command"]
    plain = doc(render(tmp_path, base_spec(prometheus={"external_url": "https://mon.example.com/"})),
                "docker-compose.yml")["services"]
    assert not [arg for arg in plain["prometheus"]["command"] if arg.startswith("--web.route-prefix")]
    own = base_spec(prometheus={"external_url": "https://x/prom", "extra_args": ["--web.route-prefix=/prom"]})
    command = doc(render(tmp_path, own), "docker-compose.yml")["services"]["prometheus"]["command"]
    assert [arg for arg in command if arg.startswith("--web.route-prefix")] == ["--web.route-prefix=/prom"]


def test_images_are_pinned_and_overridable(tmp_path: Path) -> None:
    compose = doc(render(tmp_path, base_spec(images={"registry": "mirror.local/m",
                                                     "prometheus": "local/prometheus:2.42.0"})), "docker-compose.yml")
    services = compose["services"]
    assert services["prometheus"]["image"] == "local/prometheus:2.42.0"
    assert services["alertmanager"]["image"] == "mirror.local/m/prom/alertmanager:v0.34.0"
    assert services["cadvisor"]["image"] == "mirror.local/m/google/cadvisor:0.60.5"
    for service in services.values():
        assert ":" in service["image"].rsplit("/", 1)[1] and not service["image"].endswith(":latest")


# ---- prometheus ------------------------------------------------------------------------------------

def test_prometheus_paths_are_relative_and_file_sd_holds_targets(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(targets=[{"job": "api", "targets": ["a:1", "b:2"], "labels": {"team": "p"}}]))
    config = doc(files, "prometheus/prometheus.yml")
    assert config["rule_files"] == ["rules/*.yml", "rules/packs/*.yml", "rules/files/*.yml"]
    [api_job] = [job for job in config["scrape_configs"] if job["job_name"] == "api"]
    assert api_job["file_sd_configs"] == [{"files": ["targets/api.json"]}]
    assert json.loads(files["prometheus/targets/api.json"].content) == [
        {"targets": ["a:1", "b:2"], "labels": {"team": "p"}}]
    self_jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"prometheus", "alertmanager", "grafana", "node-exporter", "cadvisor", "blackbox-exporter"} <= self_jobs


def test_probe_relabelling(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(probes=[{"name": "web", "module": "http_2xx", "targets": ["https://w/h"],
                                                "labels": {"tier": "front"}, "interval": "30s"}]))
    [probe] = [job for job in doc(files, "prometheus/prometheus.yml")["scrape_configs"] if job["job_name"] == "web"]
    assert probe["metrics_path"] == "/probe" and probe["params"] == {"module": ["http_2xx"]}
    assert probe["scrape_interval"] == "30s"
    assert probe["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": "blackbox-exporter:9115"}]
    [files_entry] = probe["file_sd_configs"]
    assert json.loads(files["prometheus/" + files_entry["files"][0]].content) == [
        {"targets": ["https://w/h"], "labels": {"tier": "front"}}]


def test_consul_and_dns_discovery(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(targets=[
        {"job": "c", "consul": {"server": "consul:8500", "services": ["web"], "datacenter": "dc1"},
         "labels": {"env": "prod"}},
        {"job": "d", "dns": {"names": ["_m._tcp.x"], "refresh_interval": "1m"}},
        {"job": "a", "dns": {"names": ["x.local"], "type": "A", "port": 9100}}]))
    jobs = {job["job_name"]: job for job in doc(files, "prometheus/prometheus.yml")["scrape_configs"]}
    assert jobs["c"]["consul_sd_configs"] == [{"server": "consul:8500", "services": ["web"], "datacenter": "dc1"}]
    assert jobs["c"]["relabel_configs"] == [{"target_label": "env", "replacement": "prod"}]
    assert jobs["d"]["dns_sd_configs"] == [{"names": ["_m._tcp.x"], "type": "SRV", "refresh_interval": "1m"}]
    assert jobs["a"]["dns_sd_configs"] == [{"names": ["x.local"], "type": "A", "port": 9100}]
    assert not [path for path in files if path.startswith("prometheus/targets/")]


def test_job_and_probe_target_files_do_not_collide(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(targets=[{"job": "probe-web", "targets": ["a:1"]}],
                                       probes=[{"name": "web", "module": "http_2xx", "targets": ["http://b/"]}]))
    jobs = {job["job_name"]: job for job in doc(files, "prometheus/prometheus.yml")["scrape_configs"]}
    [job_file] = jobs["probe-web"]["file_sd_configs"][0]["files"]
    assert json.loads(files[f"prometheus/{job_file}"].content)[0]["targets"] == ["a:1"]


def test_user_group_does_not_overwrite_a_pack(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(rules={"include": ["watchdog"], "groups": [
        {"name": "pack-watchdog", "rules": [{"record": "a:b", "expr": "up"}]}]}))
    alerts = [rule.get("alert") for path, file in files.items() if path.startswith("prometheus/rules/")
              for group in yaml.safe_load(file.content)["groups"] for rule in group["rules"]]
    assert "Watchdog" in alerts


def test_rule_files_are_included_byte_for_byte(tmp_path: Path) -> None:
    text = "# my rules\ngroups:\n  - name: mine   # odd spacing kept\n    rules:\n      - alert: A\n        expr: up == 0\n"
    (tmp_path / "mine.yml").write_text(text, encoding="utf-8")
    files = render(tmp_path, base_spec(rules={"include": [], "files": ["mine.yml"]}))
    assert files["prometheus/rules/files/mine.yml"].content == text.encode()


# ---- alertmanager -----------------------------------------------------------------------------------

def test_several_receivers_become_sibling_routes_with_continue(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(
        receivers=[{"name": "a"}, {"name": "b"}, {"name": "c"}],
        route={"receiver": "a", "routes": [{"matchers": ['severity="critical"'], "receivers": ["b", "c"],
                                            "group_wait": "10s"}]}))
    routes = doc(files, "alertmanager/alertmanager.yml")["route"]["routes"]
    user_routes = [route for route in routes if not any("stackgen_notify_test" in m for m in route.get("matchers", []))]
    assert user_routes == [
        {"receiver": "b", "matchers": ['severity="critical"'], "group_wait": "10s", "continue": True},
        {"receiver": "c", "matchers": ['severity="critical"'], "group_wait": "10s", "continue": False}]


def test_notify_test_routes_come_first(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(receivers=[{"name": 'we"ird'}, {"name": "b"}], route={"receiver": "b"}))
    routes = doc(files, "alertmanager/alertmanager.yml")["route"]["routes"]
    assert routes[0]["receiver"] == 'we"ird' and routes[0]["matchers"] == ['stackgen_notify_test="we\\"ird"']
    assert "continue" not in routes[0]


def test_relay_webhook_per_receiver_with_a_quoted_name(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(receivers=[
        {"name": "ops team/值班", "dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token=t"}},
        {"name": "hook", "webhook": {"url": "https://hooks.example/x", "max_alerts": 5}}]))
    receivers = {r["name"]: r for r in doc(files, "alertmanager/alertmanager.yml")["receivers"]}
    assert receivers["ops team/值班"]["webhook_configs"] == [{
        "url": "http://relay:9095/alert/ops%20team%2F%E5%80%BC%E7%8F%AD", "send_resolved": True, "max_alerts": 0}]
    assert receivers["hook"]["webhook_configs"] == [{"url": "https://hooks.example/x", "max_alerts": 5}]
    assert "null" in receivers
    relay = doc(files, "relay/relay.yml")
    assert list(relay["receivers"]) == ["ops team/值班"]
    assert relay["receivers"]["ops team/值班"][0]["url_file"].startswith("/run/secrets/stackgen/")


def test_default_route_and_watchdog(tmp_path: Path) -> None:
    files = render(tmp_path, base_spec(rules={"include": ["watchdog"]}, receivers=[{"name": "ops"}]))
    route = doc(files, "alertmanager/alertmanager.yml")["route"]
    assert route["receiver"] == "ops"
    assert {"receiver": "null", "matchers": ['alertname="Watchdog"']} in route["routes"]


# ---- determinism -------------------------------------------------------------------------------------

def test_contract_renders_deterministically(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, contract_text())
    stack = api.load_stack(spec, CONTRACT_ENV)
    first = api.render_files(stack, tmp_path / "out")
    again = api.render_files(api.load_stack(spec, CONTRACT_ENV), tmp_path / "out")
    secrets = {path for path in first if path.startswith("secrets/")}
    # everything but the freshly generated Grafana password is byte-identical
    assert {p: f.content for p, f in first.items() if p != "secrets/grafana/admin_password"} == \
           {p: f.content for p, f in again.items() if p != "secrets/grafana/admin_password"}
    assert secrets
    for path, file in first.items():
        if path.endswith((".yml", ".json")) and not path.startswith("secrets/"):
            assert file.content.endswith(b"\n"), path
        if path.endswith(".yml") and not path.startswith(("secrets/", "prometheus/rules/files/")):
            assert file.content.startswith(b"# generated by stackgen"), path


def test_render_twice_on_disk_is_byte_identical(tmp_path: Path) -> None:
    from tests.unit.core_helpers import tree_digest

    spec = write_spec(tmp_path, contract_text())
    out = tmp_path / "out"
    api.render(spec, out, CONTRACT_ENV)
    before = tree_digest(out)
    outcome = api.render(spec, out, CONTRACT_ENV)
    assert outcome.result.touched == []
    assert tree_digest(out) == before


def test_rule_files_with_the_same_name_in_two_folders(tmp_path: Path) -> None:
    for folder, alert in (("a", "FromA"), ("b", "FromB")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.yml").write_text(
            f"groups:\n  - name: {folder}\n    rules:\n      - alert: {alert}\n        expr: up == 0\n")
    files = render(tmp_path, base_spec(rules={"include": [], "files": ["a/x.yml", "b/x.yml"]}))
    text = b"".join(file.content for path, file in files.items() if path.startswith("prometheus/rules/"))
    assert b"FromA" in text and b"FromB" in text


def test_built_in_victoria_metrics(tmp_path: Path) -> None:
    """The registry's victoria-metrics role: a service, a remote_write target, a self-scrape job and a
    second Grafana datasource; its port stays on loopback (it asks for no password)."""
    files = render(tmp_path, base_spec(victoria_metrics={"enabled": True, "port": 18428, "retention": "90d"}))
    service = doc(files, "docker-compose.yml")["services"]["victoria-metrics"]
    assert service["image"] == "victoriametrics/victoria-metrics:v1.145.0"
    assert "-retentionPeriod=90d" in service["command"]
    assert service["ports"] == ["127.0.0.1:18428:8428"]
    assert service["volumes"] == ["victoria-metrics-data:/victoria-metrics-data"]
    prometheus = doc(files, "prometheus/prometheus.yml")
    assert prometheus["remote_write"] == [{"url": "http://victoria-metrics:8428/api/v1/write"}]
    [job] = [job for job in prometheus["scrape_configs"] if job["job_name"] == "victoria-metrics"]
    assert job["static_configs"] == [{"targets": ["victoria-metrics:8428"]}]
    sources = doc(files, "grafana/provisioning/datasources/stackgen.yml")["datasources"]
    assert {"name": "VictoriaMetrics", "url": "http://victoria-metrics:8428"}.items() <= sources[-1].items()
    exposed = render(tmp_path / "exposed", base_spec(listen="0.0.0.0", web={"tls": {}, "users": {"admin": "a" * 16}},
                                                     victoria_metrics={"enabled": True}))
    assert doc(exposed, "docker-compose.yml")["services"]["victoria-metrics"]["ports"] == ["127.0.0.1:8428:8428"]
    assert "victoria-metrics" not in doc(render(tmp_path / "off", base_spec()), "docker-compose.yml")["services"]
