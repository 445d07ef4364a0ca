"""The relay reads the exporter-toolkit web config: HTTPS, basic auth with bcrypt, and a new password
or certificate taken on the next connection without a restart."""

# ruff: noqa: E501  (whole URLs and messages)

from __future__ import annotations

import base64
import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from stackgen import pki
from stackgen.relay.config import RelayConfigError, load_config
from stackgen.relay.dispatch import Relay
from stackgen.relay.server import RelayServer
from stackgen.relay.web_auth import WebGuard, parse_web_config

NOW = pki.utc_now()


def write_web(directory: Path, ca: pki.KeyPair, users: dict[str, str], names: tuple[str, ...] = ("127.0.0.1",)
              ) -> None:
    pair = pki.server_certificate(ca, "relay", names, None, NOW)
    (directory / "web.crt").write_bytes(pair.cert_pem)
    (directory / "web.key").write_bytes(pair.key_pem)
    hashes = {name: bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode() for name, password in users.items()}
    # JSON is YAML: what the relay parses without a YAML library
    (directory / "web.yml").write_text(json.dumps({
        "tls_server_config": {"cert_file": "web.crt", "key_file": "web.key"}, "basic_auth_users": hashes}))


@pytest.fixture()
def ca() -> pki.KeyPair:
    return pki.stack_ca("relay-test", None, NOW)


@pytest.fixture()
def relay_url(tmp_path: Path, ca: pki.KeyPair) -> Iterator[str]:
    write_web(tmp_path, ca, {"stackgen-1": "first-password-123"})
    (tmp_path / "relay.yml").write_text(json.dumps({"listen": ":0", "receivers": {},
                                                     "web_config_file": "web.yml"}))
    config = load_config(tmp_path / "relay.yml")
    assert config.web_config_file == tmp_path / "web.yml"
    server = RelayServer(("127.0.0.1", 0), Relay(config), WebGuard(config.web_config_file))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.url
    server.shutdown()
    server.server_close()


def get(url: str, ca: pki.KeyPair, user: str | None = None, password: str = "") -> int:
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    headers = {}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5,
                                    context=context) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_https_and_basic_auth(relay_url: str, ca: pki.KeyPair) -> None:
    assert relay_url.startswith("https://127.0.0.1:")
    assert get(relay_url + "/-/healthy", ca) == 401
    assert get(relay_url + "/metrics", ca, "stackgen-1", "wrong-password-123") == 401
    assert get(relay_url + "/metrics", ca, "nobody", "first-password-123") == 401
    assert get(relay_url + "/-/healthy", ca, "stackgen-1", "first-password-123") == 200


def test_a_new_password_and_certificate_need_no_restart(relay_url: str, ca: pki.KeyPair, tmp_path: Path) -> None:
    assert get(relay_url + "/-/healthy", ca, "stackgen-1", "first-password-123") == 200
    other_ca = pki.stack_ca("relay-test", None, NOW)
    write_web(tmp_path, other_ca, {"stackgen-2": "second-password-123"})
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        get(relay_url + "/-/healthy", ca, "stackgen-2", "second-password-123")  # the new certificate is served
    assert get(relay_url + "/-/healthy", other_ca, "stackgen-1", "first-password-123") == 401
    assert get(relay_url + "/-/healthy", other_ca, "stackgen-2", "second-password-123") == 200


def test_a_broken_web_config_keeps_the_last_good_one(relay_url: str, ca: pki.KeyPair, tmp_path: Path) -> None:
    (tmp_path / "web.yml").write_text('{"basic_auth_users": "not a mapping"}')
    assert get(relay_url + "/-/healthy", ca, "stackgen-1", "first-password-123") == 200


def test_unknown_keys_and_half_pairs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RelayConfigError, match="unknown key 'basic_auth'"):
        parse_web_config({"basic_auth": {}}, tmp_path)
    with pytest.raises(RelayConfigError, match="both cert_file and key_file"):
        parse_web_config({"tls_server_config": {"cert_file": "a"}}, tmp_path)
    assert parse_web_config(None, tmp_path).users == {}


def test_crypt3_checks_the_same_hashes_where_bcrypt_cannot_load() -> None:
    from stackgen.relay.web_auth import _crypt_matches

    hashed = bcrypt.hashpw(b"first-password-123", bcrypt.gensalt(4)).decode()
    assert _crypt_matches("first-password-123", hashed)
    assert not _crypt_matches("other-password-123", hashed)
