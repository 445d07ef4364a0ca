"""Web configs (render/web.py) and what the other renderers do with them: TLS and basic auth on every
endpoint, credentials only in secrets, hashes and certificates stable across renders; the spec's
problems (tests/unit/spec/test_meaning.py has the listen message) at their line and column."""

# ruff: noqa: E501  (whole error strings are asserted, as the style guide asks)

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from cryptography import x509

from stackgen import pki
from stackgen.render import render_stack
from stackgen.render.web import internal_username
from stackgen.spec.build import build_stack
from stackgen.spec.validate import check_spec
from stackgen.upstream_check import check_rendered
from tests.unit.core_helpers import base_spec, require_tool, run_stackgen, write_spec

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
PASSWORD = "a-long-enough-password"
WEB_ROLES = ("prometheus", "alertmanager", "pushgateway", "blackbox-exporter", "node-exporter", "relay")


def web_spec(**sections: Any) -> dict[str, Any]:
    spec = base_spec(listen="0.0.0.0", web={"tls": {}, "users": {"admin": PASSWORD}},
                     exporters={"node": True, "blackbox": True, "pushgateway": True, "cadvisor": {"enabled": True, "port": 8080}},
                     receivers=[{"name": "chat", "dingtalk": {"url": "https://oapi.dingtalk.com/robot/send?access_token=t"}}],
                     route={"receiver": "chat"}, tracing={"enabled": True})
    spec.update(sections)
    return spec


def render(tmp_path: Path, spec: dict[str, Any], existing: dict[str, bytes] | None = None,
           now: dt.datetime = NOW) -> dict[str, Any]:
    path = write_spec(tmp_path, spec)
    checked = check_spec(path, {}, display_name="s.yaml")
    assert not checked.errors, [p.format() for p in checked.errors]
    stack = build_stack(checked.loaded.data, tmp_path)
    return render_stack(stack, existing or {}, now)


def contents(files: dict[str, Any]) -> dict[str, bytes]:
    return {path: file.content for path, file in files.items()}


def errors(tmp_path: Path, spec: dict[str, Any]) -> list[str]:
    path = write_spec(tmp_path, spec)
    return [p.format() for p in check_spec(path, {}, display_name="s.yaml").errors]


@pytest.fixture(scope="module", autouse=True)
def quick_bcrypt() -> Any:
    """bcrypt at its lowest cost here: the hashes are checked the same, ~20x faster than cost 10."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pki, "BCRYPT_COST", 4)
        yield


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return render(tmp_path_factory.mktemp("web"), web_spec())


def test_every_exporter_toolkit_service_gets_a_web_config_with_tls_and_bcrypt_users(rendered: dict[str, Any]) -> None:
    files = contents(rendered)
    for role in WEB_ROLES:
        config = yaml.safe_load(files[f"secrets/{role}/web.yml"])
        assert config["tls_server_config"] == {"cert_file": "/run/secrets/stackgen/web.crt",
                                               "key_file": "/run/secrets/stackgen/web.key"}
        users = config["basic_auth_users"]
        assert bcrypt.checkpw(PASSWORD.encode(), users["admin"].encode()), role
        assert rendered[f"secrets/{role}/web.yml"].mode == 0o600
        assert [name for name in users if name.startswith("stackgen-")], "the internal user"
    compose = yaml.safe_load(files["docker-compose.yml"])["services"]
    for role in WEB_ROLES[:-1]:
        assert "--web.config.file=/run/secrets/stackgen/web.yml" in compose[role]["command"], role
        assert "./secrets/" + role + ":/run/secrets/stackgen:ro" in compose[role]["volumes"], role
    relay = yaml.safe_load(files["relay/relay.yml"])
    assert relay["web_config_file"] == "/run/secrets/stackgen/web.yml"


def test_server_certificates_name_the_service_loopback_and_extra_names(tmp_path: Path) -> None:
    files = contents(render(tmp_path, web_spec(web={"tls": {"names": ["monitor.example.test", "10.1.2.3"]},
                                                    "users": {"admin": PASSWORD}},
                                               prometheus={"replicas": 2, "port": 9190})))
    ca = pki.KeyPair(files["secrets/ca/ca.pem"], files["secrets/ca/ca.key"])
    certificate = x509.load_pem_x509_certificate(files["secrets/prometheus/web.crt"])
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(names.get_values_for_type(x509.DNSName)) == ["localhost", "monitor.example.test", "prometheus",
                                                               "prometheus-1", "prometheus-2"]
    assert sorted(str(a) for a in names.get_values_for_type(x509.IPAddress)) == ["10.1.2.3", "127.0.0.1", "::1"]
    assert pki.signed_by(pki.KeyPair(files["secrets/prometheus/web.crt"], files["secrets/prometheus/web.key"]), ca)
    assert files["secrets/stackgen/ca.pem"] == files["secrets/ca/ca.pem"]


def test_clients_inside_the_stack_use_password_files_and_the_ca(rendered: dict[str, Any]) -> None:
    files = contents(rendered)
    prometheus = yaml.safe_load(files["prometheus/prometheus.yml"])
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    user = json.loads(files["secrets/stackgen/client.json"])["username"]
    client = {"scheme": "https", "basic_auth": {"username": user, "password_file": f"/run/secrets/stackgen/{user}.password"},
              "tls_config": {"ca_file": "/run/secrets/stackgen/web-ca.pem"}}
    for job in ("prometheus", "alertmanager", "pushgateway", "blackbox-exporter", "node-exporter", "relay"):
        assert {key: jobs[job][key] for key in client} == client, job
    assert jobs["grafana"]["scheme"] == "https" and "basic_auth" not in jobs["grafana"]
    assert "scheme" not in jobs["cadvisor"]  # no web config of its own
    alertmanagers = prometheus["alerting"]["alertmanagers"][0]
    assert {key: alertmanagers[key] for key in client} == client
    assert files[f"secrets/prometheus/{user}.password"].decode() == json.loads(files["secrets/stackgen/client.json"])["password"]
    alertmanager = yaml.safe_load(files["alertmanager/alertmanager.yml"])
    [webhook] = next(r for r in alertmanager["receivers"] if r["name"] == "chat")["webhook_configs"]
    assert webhook["url"] == "https://relay:9095/alert/chat"
    assert webhook["http_config"] == {key: client[key] for key in ("basic_auth", "tls_config")}


def test_grafana_gets_tls_settings_its_admin_and_datasources_with_credentials_from_files(rendered: dict[str, Any]) -> None:
    files = contents(rendered)
    grafana = yaml.safe_load(files["docker-compose.yml"])["services"]["grafana"]
    environment = grafana["environment"]
    assert {key: environment[key] for key in ("GF_SERVER_PROTOCOL", "GF_SERVER_CERT_FILE", "GF_SERVER_CERT_KEY",
                                              "GF_AUTH_ANONYMOUS_ENABLED", "GF_SECURITY_ADMIN_USER")} == {
        "GF_SERVER_PROTOCOL": "https", "GF_SERVER_CERT_FILE": "/run/secrets/stackgen/web.crt",
        "GF_SERVER_CERT_KEY": "/run/secrets/stackgen/web.key", "GF_AUTH_ANONYMOUS_ENABLED": "false",
        "GF_SECURITY_ADMIN_USER": "admin"}
    assert files["secrets/grafana/admin_password"].decode() == PASSWORD
    assert grafana["healthcheck"]["test"][1].endswith("https://localhost:3000/api/health")
    sources = yaml.safe_load(files["grafana/provisioning/datasources/stackgen.yml"])["datasources"]
    user = json.loads(files["secrets/stackgen/client.json"])["username"]
    for source in sources[:2]:
        assert source["url"].startswith("https://") and source["basicAuth"] is True and source["basicAuthUser"] == user
        assert source["secureJsonData"] == {"basicAuthPassword": f"$__file{{/run/secrets/stackgen/{user}.password}}",
                                            "tlsCACert": "$__file{/run/secrets/stackgen/web-ca.pem}"}
        assert source["jsonData"]["tlsAuthWithCACert"] is True


def test_healthchecks_send_the_authorization_header_from_a_secret_file(rendered: dict[str, Any]) -> None:
    compose = yaml.safe_load(contents(rendered)["docker-compose.yml"])["services"]
    test = compose["prometheus"]["healthcheck"]["test"]
    assert test == ["CMD-SHELL", 'wget -q -O /dev/null --no-check-certificate --header "Authorization: '
                    '`cat /run/secrets/stackgen/web-authorization`" https://localhost:9090/-/ready']
    assert " -T" not in test[1] and "$" not in test[1]
    assert "web-authorization" in compose["relay"]["healthcheck"]["test"][3]
    token = contents(rendered)["secrets/prometheus/web-authorization"].decode()
    assert token.startswith("Basic ")


def test_unauthenticated_services_stay_on_loopback(rendered: dict[str, Any]) -> None:
    compose = yaml.safe_load(contents(rendered)["docker-compose.yml"])["services"]
    assert compose["cadvisor"]["ports"] == ["127.0.0.1:8080:8080"]
    assert compose["jaeger"]["ports"] == ["127.0.0.1:16686:16686"]
    assert compose["prometheus"]["ports"] == ["0.0.0.0:9090:9090"]


def test_no_password_outside_secrets(rendered: dict[str, Any]) -> None:
    files = contents(rendered)
    internal = json.loads(files["secrets/stackgen/client.json"])["password"]
    for path, content in files.items():
        if not path.startswith("secrets/"):
            assert PASSWORD.encode() not in content and internal.encode() not in content, path
        else:
            assert rendered[path].mode == 0o600, path


def test_a_second_render_is_identical_and_a_new_password_changes_only_its_hash(tmp_path: Path) -> None:
    first = contents(render(tmp_path, web_spec()))
    assert contents(render(tmp_path, web_spec(), first)) == first
    changed = contents(render(tmp_path, web_spec(web={"tls": {}, "users": {"admin": "another-long-password"}}), first))
    differ = sorted(path for path in first if first[path] != changed[path])
    assert differ == sorted([f"secrets/{role}/web.yml" for role in WEB_ROLES]
                            + ["secrets/grafana/admin_password", "secrets/stackgen/web-users.json"])
    old, new = (yaml.safe_load(files["secrets/relay/web.yml"])["basic_auth_users"] for files in (first, changed))
    assert old["admin"] != new["admin"] and {k: v for k, v in old.items() if k != "admin"} == {
        k: v for k, v in new.items() if k != "admin"}


def test_certificates_are_renewed_before_they_expire(tmp_path: Path) -> None:
    first = contents(render(tmp_path, web_spec()))
    later = contents(render(tmp_path, web_spec(), first, now=NOW + pki.SERVER_VALIDITY - dt.timedelta(days=10)))
    assert later["secrets/ca/ca.pem"] == first["secrets/ca/ca.pem"]
    assert later["secrets/prometheus/web.crt"] != first["secrets/prometheus/web.crt"]
    assert pki.expires_at(later["secrets/prometheus/web.crt"]) > NOW + pki.SERVER_VALIDITY


def test_the_internal_user_is_named_after_its_password() -> None:
    assert internal_username("x") == internal_username("x") != internal_username("y")
    assert internal_username("x").startswith("stackgen-")


def test_promtool_accepts_the_web_configs_and_refuses_a_mismatched_key(rendered: dict[str, Any]) -> None:
    require_tool("promtool")
    assert "promtool" in check_rendered(rendered)
    broken = dict(rendered)
    broken["secrets/relay/web.key"] = rendered["secrets/prometheus/web.key"]
    from stackgen.upstream_check import RejectedByUpstream

    with pytest.raises(RejectedByUpstream, match=r"secrets/relay/web\.yml FAILED: .*private key does not match"):
        check_rendered(broken)


def test_the_contracts_web_part_validates_and_renders(tmp_path: Path, shared_dir: Path) -> None:
    contract = yaml.safe_load((shared_dir / "contract" / "fleet.example.yaml").read_text())
    web_part = {key: contract[key] for key in ("version", "name", "listen", "web")}
    write_spec(tmp_path, web_part)
    result = run_stackgen("render", "-f", str(tmp_path / "stack.yaml"), cwd=tmp_path,
                          env={"WEB_ADMIN_PASSWORD": "contract-web-password"})
    assert result.returncode == 0, result.stderr
    ca = run_stackgen("ca", "export", "-f", str(tmp_path / "stack.yaml"), cwd=tmp_path)
    assert ca.returncode == 0 and ca.stdout.startswith("-----BEGIN CERTIFICATE-----")


# -- bad input: exit 2 at line:col -----------------------------------------------------------------------

SERVICE_NAMES = ["prometheus", "alertmanager", "grafana", "node-exporter", "blackbox-exporter", "pushgateway", "relay",
                 "localhost"]


def own_certificate(tmp_path: Path, days: int = 30, names: tuple[str, ...] = tuple(SERVICE_NAMES)) -> tuple[str, str]:
    ca = pki.stack_ca("own", None, pki.utc_now() - dt.timedelta(days=400) if days < 0 else pki.utc_now())
    when = pki.utc_now() - dt.timedelta(days=400) if days < 0 else pki.utc_now()
    pair = pki.server_certificate(ca, "own", list(names), None, when)
    (tmp_path / "certs").mkdir(exist_ok=True)
    (tmp_path / "certs" / "web.crt").write_bytes(pair.cert_pem)
    (tmp_path / "certs" / "web.key").write_bytes(pair.key_pem)
    (tmp_path / "certs" / "other.key").write_bytes(pki.stack_ca("x", None, pki.utc_now()).key_pem)
    return "certs/web.crt", "certs/web.key"


def test_a_short_password_is_refused_at_its_value(tmp_path: Path) -> None:
    assert errors(tmp_path, base_spec(web={"users": {"admin": "short"}})) == [
        "s.yaml:9:12: web.users.admin: the password of web user 'admin' has 5 characters; at least 12 are needed (e.g. `openssl rand -base64 18` into the variable it comes from)"]


def test_basic_auth_beyond_loopback_needs_tls(tmp_path: Path) -> None:
    assert errors(tmp_path, base_spec(listen="0.0.0.0", web={"users": {"admin": PASSWORD}})) == [
        "s.yaml:9:3: web.users: basic auth on 0.0.0.0 without TLS sends the passwords in clear over the network (add `tls: {}` under web: HTTPS from the stack's own CA)"]


def test_insecure_opts_out_with_a_notice(tmp_path: Path) -> None:
    path = write_spec(tmp_path, base_spec(listen="0.0.0.0", web={"insecure": True}))
    checked = check_spec(path, {}, display_name="s.yaml")
    assert checked.errors == []
    assert [p.format() for p in checked.notices] == [
        "s.yaml:9:13: notice: web.insecure: listen 0.0.0.0 publishes every endpoint to the network without a password (only behind a proxy that authenticates; remove insecure and add web.users)"]


def test_a_key_that_does_not_match_its_certificate(tmp_path: Path) -> None:
    cert, _ = own_certificate(tmp_path)
    assert errors(tmp_path, base_spec(web={"tls": {"cert_file": cert, "key_file": "certs/other.key"}})) == [
        "s.yaml:10:15: web.tls.key_file: certs/other.key is not the private key of certs/web.crt (give the key the certificate was issued for)"]


def test_an_expired_certificate(tmp_path: Path) -> None:
    cert, key = own_certificate(tmp_path, days=-1)
    [found] = errors(tmp_path, base_spec(web={"tls": {"cert_file": cert, "key_file": key}}))
    assert found.startswith("s.yaml:9:16: web.tls.cert_file: certs/web.crt expired on ")
    assert found.endswith(" UTC (renew it, or tls: {} for the stack CA's certificates)")


def test_a_certificate_must_name_the_services_the_stack_reaches_over_tls(tmp_path: Path) -> None:
    """Prometheus scrapes https://node-exporter:9100, apply reloads https://prometheus:9090 (verified
    by name): a certificate for localhost alone would fail every one of them at run time."""
    cert, key = own_certificate(tmp_path, names=("localhost", "prometheus", "monitoring.example.org"))
    assert errors(tmp_path, base_spec(web={"tls": {"cert_file": cert, "key_file": key}})) == [
        "s.yaml:9:16: web.tls.cert_file: certs/web.crt does not name alertmanager, blackbox-exporter, grafana, node-exporter: the stack's own clients (scrapes, Alertmanager, Grafana, apply's reloads, the relay's healthcheck) verify each service by the name they reach it at (add them to the certificate's subject alternative names, or tls: {} for the stack CA's certificates (web.tls.names adds the names other machines use))"]
    without = base_spec(web={"tls": {"cert_file": cert, "key_file": key}}, grafana={"enabled": False},
                        exporters={"node": False, "blackbox": False, "cadvisor": False},
                        alertmanager={"replicas": 1})
    assert [e for e in errors(tmp_path, without) if "does not name" in e] == [
        "s.yaml:9:16: web.tls.cert_file: certs/web.crt does not name alertmanager: the stack's own clients (scrapes, Alertmanager, Grafana, apply's reloads, the relay's healthcheck) verify each service by the name they reach it at (add them to the certificate's subject alternative names, or tls: {} for the stack CA's certificates (web.tls.names adds the names other machines use))"]


def test_the_cli_exits_2_for_listen_without_users(tmp_path: Path) -> None:
    write_spec(tmp_path, base_spec(listen="0.0.0.0"))
    result = run_stackgen("validate", "-f", str(tmp_path / "stack.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "listen: listen 0.0.0.0 would publish Prometheus" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_users_own_certificate_replaces_the_ca(tmp_path: Path) -> None:
    cert, key = own_certificate(tmp_path)
    files = contents(render(tmp_path, web_spec(web={"tls": {"cert_file": cert, "key_file": key},
                                                    "users": {"admin": PASSWORD}})))
    assert "secrets/ca/ca.key" not in files
    assert files["secrets/prometheus/web.crt"] == (tmp_path / cert).read_bytes()
    assert files["secrets/stackgen/ca.pem"] == (tmp_path / cert).read_bytes()  # self-signed: trust itself


def test_rotating_the_internal_user_accepts_both_then_switches_then_drops_the_old(tmp_path: Path) -> None:
    from stackgen import api
    from stackgen.output import write_output

    path = write_spec(tmp_path, web_spec())
    stack = api.load_stack(path, {})
    out = tmp_path / "generated"
    [initial] = list(api.render_steps(stack, out))
    write_output(initial, out)
    old = json.loads(initial["secrets/stackgen/client.json"].content)["username"]
    assert [len(list(api.render_steps(stack, out)))] == [1]  # nothing to rotate

    seen: list[dict[str, bytes]] = []
    for files in api.render_steps(stack, out, rotate_credentials=True):
        write_output(files, out)
        seen.append(contents(files))
    assert len(seen) == 3
    accept, switch, drop = seen
    new = json.loads(drop["secrets/stackgen/client.json"])["username"]
    assert new != old

    def users(files: dict[str, bytes]) -> set[str]:
        return {name for name in yaml.safe_load(files["secrets/node-exporter/web.yml"])["basic_auth_users"]
                if name.startswith("stackgen-")}

    def scrape_user(files: dict[str, bytes]) -> str:
        jobs = yaml.safe_load(files["prometheus/prometheus.yml"])["scrape_configs"]
        return str(next(job for job in jobs if job["job_name"] == "relay")["basic_auth"]["username"])

    # 1: the new user is accepted everywhere; the clients still use the old one (prometheus.yml as it was)
    assert users(accept) == {old, new} and accept["prometheus/prometheus.yml"] == contents(initial)["prometheus/prometheus.yml"]
    assert {f"secrets/prometheus/{old}.password", f"secrets/prometheus/{new}.password"} <= set(accept)
    # 2: the clients switch; the old user and its password file stay for a client not yet reloaded
    assert users(switch) == {old, new} and scrape_user(switch) == new
    assert f"secrets/prometheus/{old}.password" in switch
    # 3: the old user is dropped
    assert users(drop) == {new} and scrape_user(drop) == new and f"secrets/prometheus/{old}.password" not in drop
    assert not (out / f"secrets/prometheus/{old}.password").exists()
    assert [len(list(api.render_steps(stack, out)))] == [1]
