"""tls_config with files (an internal CA, a client certificate): checked, copied into secrets, named.

Targets, remote_write and email take `ca_file`, `cert_file`, `key_file` as paths relative to the spec.
The rendered configs name the copies under /run/secrets/stackgen (0600, owned by the container's user),
so a key never sits in a config file and the generated directory is self-contained.
"""

# ruff: noqa: E501  (whole error strings are asserted)

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackgen import api
from stackgen.spec.validate import check_spec
from stackgen.upstream_check import check_rendered
from tests.unit.core_helpers import base_spec, require_tool, write_spec

CA = b"-----BEGIN CERTIFICATE-----\nMIIB-ca\n-----END CERTIFICATE-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIB-client\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN PRIVATE KEY-----\nMIIE-private-key-material\n-----END PRIVATE KEY-----\n"
CLIENT = {"ca_file": "tls/ca.pem", "cert_file": "tls/client.pem", "key_file": "tls/client.key"}


def spec_with_tls(tmp_path: Path, tls: dict[str, Any]) -> Path:
    (tmp_path / "tls").mkdir(exist_ok=True)
    for name, content in (("ca.pem", CA), ("client.pem", CERT), ("client.key", KEY), ("junk.txt", b"not pem")):
        (tmp_path / "tls" / name).write_bytes(content)
    return write_spec(tmp_path, base_spec(
        targets=[{"job": "api", "targets": ["api:443"], "scheme": "https", "tls_config": tls}],
        prometheus={"remote_write": [{"name": "lts", "url": "https://lts:8428/api/v1/write",
                                      "tls_config": {"ca_file": "tls/ca.pem", "server_name": "lts.internal"}}]},
        receivers=[{"name": "mail", "email": {"to": "ops@corp.test", "from": "am@corp.test",
                                              "smarthost": "smtp.corp.test:587",
                                              "tls_config": {"ca_file": "tls/ca.pem"}}}],
        route={"receiver": "mail"}))


def rendered(tmp_path: Path) -> dict[str, Any]:
    stack = api.load_stack(spec_with_tls(tmp_path, CLIENT), {})
    return api.render_files(stack, tmp_path / "out")


def test_configs_name_copies_in_the_services_secrets(tmp_path: Path) -> None:
    files = rendered(tmp_path)
    prometheus = yaml.safe_load(files["prometheus/prometheus.yml"].content)
    [job] = [job for job in prometheus["scrape_configs"] if job["job_name"] == "api"]
    tls = job["tls_config"]
    assert set(tls) == set(CLIENT)
    for key, content in (("ca_file", CA), ("cert_file", CERT), ("key_file", KEY)):
        assert tls[key].startswith("/run/secrets/stackgen/"), tls[key]
        copy = files["secrets/prometheus/" + tls[key].rsplit("/", 1)[1]]
        assert copy.content == content and copy.mode == 0o600
    remote = prometheus["remote_write"][0]["tls_config"]
    assert remote["server_name"] == "lts.internal"
    assert files["secrets/prometheus/" + remote["ca_file"].rsplit("/", 1)[1]].content == CA
    am = yaml.safe_load(files["alertmanager/alertmanager.yml"].content)
    [mail] = [r for r in am["receivers"] if r["name"] == "mail"]
    ca_path = mail["email_configs"][0]["tls_config"]["ca_file"]
    assert files["secrets/alertmanager/" + ca_path.rsplit("/", 1)[1]].content == CA


def test_the_key_is_in_no_config_file(tmp_path: Path) -> None:
    files = rendered(tmp_path)
    holders = [path for path, file in files.items() if b"private-key-material" in file.content]
    assert len(holders) == 1 and holders[0].startswith("secrets/prometheus/"), holders


def test_promtool_and_amtool_accept_the_configs(tmp_path: Path) -> None:
    require_tool("promtool")
    require_tool("amtool")
    assert {"promtool", "amtool"} <= set(check_rendered(rendered(tmp_path)))


def problems(tmp_path: Path, tls: dict[str, Any]) -> list[str]:
    checked = check_spec(spec_with_tls(tmp_path, tls), {}, display_name="s.yaml")
    return [p.format().split(": ", 1)[1] for p in checked.errors]


def test_missing_and_non_pem_files_are_named(tmp_path: Path) -> None:
    assert problems(tmp_path, {"ca_file": "tls/nope.pem", "cert_file": "tls/junk.txt", "key_file": "tls/client.key"}) == [
        f"targets.0.tls_config.ca_file: no such file: tls/nope.pem (paths are relative to {tmp_path})",
        "targets.0.tls_config.cert_file: tls/junk.txt is not a PEM file (no -----BEGIN line)",
    ]


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    assert problems(tmp_path, {"cert_file": "tls/client.pem"}) == [
        "targets.0.tls_config.cert_file: cert_file needs key_file: a client certificate is a pair"]


def test_valid_files_give_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, CLIENT) == []


def test_blackbox_modules_get_copies_and_secret_files(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.pem").write_bytes(CA)
    modules = {"internal_https": {"prober": "http", "http": {
        "tls_config": {"ca_file": "tls/ca.pem", "server_name": "svc.internal"},
        "basic_auth": {"username": "probe", "password": "probe-Pass#1"},
        "bearer_token": "probe-token-2"}}}
    spec = write_spec(tmp_path, base_spec(blackbox={"modules": modules},
                                          probes=[{"name": "svc", "module": "internal_https",
                                                   "targets": ["https://svc.internal/"]}]))
    files = api.render_files(api.load_stack(spec, {}), tmp_path / "out")
    http = yaml.safe_load(files["blackbox/blackbox.yml"].content)["modules"]["internal_https"]["http"]
    assert http["tls_config"]["server_name"] == "svc.internal"
    copies = {key: files["secrets/blackbox-exporter/" + path.rsplit("/", 1)[1]].content
              for key, path in (("ca", http["tls_config"]["ca_file"]),
                                ("password", http["basic_auth"]["password_file"]),
                                ("token", http["bearer_token_file"]))}
    assert copies == {"ca": CA, "password": b"probe-Pass#1", "token": b"probe-token-2"}
    assert http["basic_auth"]["username"] == "probe" and "password" not in http["basic_auth"]
    assert b"probe-Pass#1" not in files["blackbox/blackbox.yml"].content
    compose = yaml.safe_load(files["docker-compose.yml"].content)
    assert "./secrets/blackbox-exporter:/run/secrets/stackgen:ro" in compose["services"]["blackbox-exporter"]["volumes"]


def test_a_blackbox_module_file_is_checked(tmp_path: Path) -> None:
    modules = {"m": {"prober": "tcp", "tcp": {"tls": True, "tls_config": {"ca_file": "nope.pem"}}}}
    checked = check_spec(write_spec(tmp_path, base_spec(blackbox={"modules": modules})), {}, display_name="s.yaml")
    assert [p.format().split(": ", 1)[1] for p in checked.errors] == [
        f"blackbox.modules.m.tcp.tls_config.ca_file: no such file: nope.pem (paths are relative to {tmp_path})"]
