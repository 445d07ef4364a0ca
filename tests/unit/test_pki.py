"""stackgen.pki: the stack CA and server certificates are kept while they fit, re-made when they do not;
password hashes are kept while they match."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import bcrypt
import pytest

from stackgen import pki

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def ca() -> pki.KeyPair:
    return pki.stack_ca("shop", None, NOW)


def test_the_ca_is_kept_while_valid_and_renewed_near_expiry(ca: pki.KeyPair) -> None:
    assert pki.stack_ca("shop", ca, NOW + dt.timedelta(days=365)) is ca
    renewed = pki.stack_ca("shop", ca, NOW + pki.CA_VALIDITY - dt.timedelta(days=1))
    assert renewed.cert_pem != ca.cert_pem
    assert "stackgen CA for shop" in renewed.certificate.subject.rfc4514_string()


def test_a_server_certificate_is_not_a_ca(ca: pki.KeyPair) -> None:
    server = pki.server_certificate(ca, "prometheus", ["prometheus", "127.0.0.1"], None, NOW)
    assert pki.stack_ca("shop", server, NOW).cert_pem != server.cert_pem


def test_server_certificate_names_and_reuse(ca: pki.KeyPair) -> None:
    first = pki.server_certificate(ca, "prometheus", ["prometheus", "127.0.0.1", "localhost"], None, NOW)
    names = first.certificate.extensions.get_extension_for_class(
        pki.x509.SubjectAlternativeName).value
    assert names.get_values_for_type(pki.x509.DNSName) == ["localhost", "prometheus"]
    assert [str(ip) for ip in names.get_values_for_type(pki.x509.IPAddress)] == ["127.0.0.1"]
    assert pki.signed_by(first, ca)
    # same names in another order: kept; another name, another CA or near expiry: re-issued
    reordered = ["localhost", "127.0.0.1", "prometheus"]
    assert pki.server_certificate(ca, "prometheus", reordered, first, NOW) is first
    assert pki.server_certificate(ca, "prometheus", ["prometheus"], first, NOW) != first
    other_ca = pki.stack_ca("other", None, NOW)
    assert pki.signed_by(pki.server_certificate(other_ca, "p", ["prometheus"], first, NOW), other_ca)
    later = NOW + pki.SERVER_VALIDITY - pki.RENEW_BEFORE + dt.timedelta(hours=1)
    assert pki.server_certificate(ca, "prometheus", ["prometheus", "127.0.0.1", "localhost"], first,
                                  later) != first


def test_a_key_that_does_not_match_is_not_kept(ca: pki.KeyPair) -> None:
    first = pki.server_certificate(ca, "a", ["a"], None, NOW)
    second = pki.server_certificate(ca, "b", ["b"], None, NOW)
    assert not pki.key_matches_certificate(first.cert_pem, second.key_pem)
    mixed = pki.KeyPair(first.cert_pem, second.key_pem)
    assert pki.server_certificate(ca, "a", ["a"], mixed, NOW) != mixed


def test_openssl_verifies_a_server_certificate_against_its_ca_only(tmp_path: Path) -> None:
    now = pki.utc_now()
    ca = pki.stack_ca("shop", None, now)
    server = pki.server_certificate(ca, "relay", ["relay", "127.0.0.1"], None, now)
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "other-ca.pem").write_bytes(pki.stack_ca("other", None, now).cert_pem)
    (tmp_path / "server.pem").write_bytes(server.cert_pem)

    def verify(ca_file: str) -> subprocess.CompletedProcess[str]:
        command = ["openssl", "verify", "-purpose", "sslserver", "-CAfile", str(tmp_path / ca_file)]
        return subprocess.run([*command, str(tmp_path / "server.pem")], capture_output=True, text=True)

    assert verify("ca.pem").returncode == 0, verify("ca.pem").stderr
    assert verify("other-ca.pem").returncode != 0


def test_password_hash_is_stable_while_the_password_matches() -> None:
    first = pki.password_hash("correct horse battery", None)
    assert first.startswith("$2b$10$")
    assert bcrypt.checkpw(b"correct horse battery", first.encode())
    assert pki.password_hash("correct horse battery", first) == first
    changed = pki.password_hash("another password!", first)
    assert changed != first and bcrypt.checkpw(b"another password!", changed.encode())
    assert pki.password_hash("x" * 12, "not a hash").startswith("$2b$")


def test_the_rendered_ca_is_kept_from_the_previous_render() -> None:
    from stackgen.render.ca import CA_CERT_PATH, CA_KEY_PATH, stack_ca_files

    ca, files = stack_ca_files("shop", {}, NOW)
    assert set(files) == {CA_CERT_PATH, CA_KEY_PATH} and all(f.mode == 0o600 for f in files.values())
    again, _ = stack_ca_files("shop", {path: file.content for path, file in files.items()}, NOW)
    assert again == ca
