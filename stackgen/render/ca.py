"""The stack's certificate authority as rendered files: made once, kept in secrets/ca/ across renders.

secrets/ca/ is mounted into no container: the CA key signs server certificates (web TLS, fleet hosts)
on this machine only. Services that verify a peer get a copy of the CA certificate in their own
secrets (`ca_certificate_copy`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from stackgen.output import SECRET_DIR, RenderedFile

if TYPE_CHECKING:  # imported where used: cryptography costs a render without TLS ~0.13 s
    from stackgen import pki

CA_CERT_PATH = f"{SECRET_DIR}/ca/ca.pem"
CA_KEY_PATH = f"{SECRET_DIR}/ca/ca.key"


def stack_ca_files(
    stack_name: str, existing_secrets: Mapping[str, bytes], now: dt.datetime
) -> tuple[pki.KeyPair, dict[str, RenderedFile]]:
    """The stack CA (the previous render's while it is usable) and its two 0600 files."""
    previous = previous_pair(existing_secrets, CA_CERT_PATH, CA_KEY_PATH)
    from stackgen import pki

    ca = pki.stack_ca(stack_name, previous, now)
    return ca, {CA_CERT_PATH: RenderedFile(ca.cert_pem, 0o600), CA_KEY_PATH: RenderedFile(ca.key_pem, 0o600)}


def previous_pair(existing_secrets: Mapping[str, bytes], cert_path: str, key_path: str) -> pki.KeyPair | None:
    """A certificate and key the previous render wrote at these secret paths, if both are there."""
    cert, key = existing_secrets.get(cert_path), existing_secrets.get(key_path)
    from stackgen import pki

    return pki.KeyPair(cert, key) if cert and key else None
