"""The stack's own certificate authority and the password hashes of web configs.

One CA per stack, made once and kept in secrets/ (read back from the previous render like every
generated secret); server certificates are issued from it for the names and addresses a service is
reached at, and re-issued only when those change, when the CA changed, or when they near expiry, so a
render is deterministic between those events. Passwords are hashed with bcrypt (the exporter-toolkit's
web config format), and a hash is kept while it still matches its password: random salts would rewrite
the web config, and reload every service, on each render.

No I/O here: callers pass what the last render wrote and the time, and get PEM bytes back.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stackgen import clock

CA_VALIDITY = dt.timedelta(days=3650)
SERVER_VALIDITY = dt.timedelta(days=397)  # what browsers accept for a server certificate
RENEW_BEFORE = dt.timedelta(days=30)  # apply re-issues a certificate this long before it expires
BCRYPT_COST = 10  # the exporter-toolkit checks a password per request (it caches); 10 is ~50 ms here


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed certificate."""
        return x509.load_pem_x509_certificate(self.cert_pem)


utc_now = clock.utc_now  # the current time, timezone-aware (what the functions below take as `now`)


def stack_ca(stack_name: str, previous: KeyPair | None, now: dt.datetime) -> KeyPair:
    """The stack's CA: the previous one while it is valid and not near expiry, else a new one."""
    if previous is not None and _usable(previous, now) and _is_ca(previous.certificate):
        return previous
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stackgen"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"stackgen CA for {stack_name}"),
        ]
    )
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def server_certificate(
    ca: KeyPair, common_name: str, names: Iterable[str], previous: KeyPair | None, now: dt.datetime
) -> KeyPair:
    """A server certificate from `ca` for `names` (DNS names and IP addresses, in any order).

    The previous one is kept while it was signed by this CA, names exactly these, and is not near
    expiry; otherwise a new key and certificate are made."""
    wanted = _subject_alternative_names(names)
    if (
        previous is not None
        and _usable(previous, now)
        and signed_by(previous, ca)
        and _names_of(previous.certificate) == set(wanted)
    ):
        return previous
    key = ec.generate_private_key(ec.SECP256R1())
    ca_certificate = ca.certificate
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_public_key = ca_key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_VALIDITY, ca_certificate.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(wanted), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public_key), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def signed_by(pair: KeyPair, ca: KeyPair) -> bool:
    """Whether `pair`'s certificate was issued by `ca` (its signature verifies with the CA's key)."""
    try:
        pair.certificate.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def expires_at(cert_pem: bytes) -> dt.datetime:
    """When a PEM certificate stops being valid (UTC)."""
    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc


def names_in(cert_pem: bytes) -> set[str]:
    """The DNS names and IP addresses a certificate's subjectAltName lists."""
    certificate = x509.load_pem_x509_certificate(cert_pem)
    return {
        str(name.value) if isinstance(name, x509.IPAddress) else name.value
        for name in _names_of(certificate)
        if isinstance(name, (x509.DNSName, x509.IPAddress))
    }


def key_matches_certificate(cert_pem: bytes, key_pem: bytes) -> bool:
    """Whether the private key belongs to the certificate (a user's own cert_file/key_file)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    return bool(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def password_hash(password: str, previous_hash: str | None) -> str:
    """A bcrypt hash of `password`: the previous one while it still matches, else a new one ($2b$)."""
    import bcrypt  # imported here: ~20 ms that only renders with web users pay

    secret = password.encode("utf-8")
    if previous_hash:
        try:
            if bcrypt.checkpw(secret, previous_hash.encode("ascii")):
                return previous_hash
        except ValueError:
            pass  # not a bcrypt hash: make a new one
    return bcrypt.hashpw(secret, bcrypt.gensalt(BCRYPT_COST)).decode("ascii")


def _usable(pair: KeyPair, now: dt.datetime) -> bool:
    try:
        certificate = pair.certificate
        if not key_matches_certificate(pair.cert_pem, pair.key_pem):
            return False
    except ValueError:
        return False
    return certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc - RENEW_BEFORE


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _subject_alternative_names(names: Iterable[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in sorted(set(names)):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def _names_of(certificate: x509.Certificate) -> set[x509.GeneralName]:
    try:
        return set(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
