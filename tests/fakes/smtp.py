"""A local SMTP server (aiosmtpd) that requires AUTH and keeps every message it accepts.

Alertmanager 0.25 authenticates with the first mechanism the server offers that it knows. Go's PLAIN
refuses to send a password over an unencrypted connection to anything but localhost, and a container
reaches this host at the bridge address, so the server offers LOGIN only (Alertmanager's own LOGIN
implementation has no such check). `auth_require_tls=False` lets aiosmtpd accept AUTH without
STARTTLS; the spec then sets `require_tls: false` (Alertmanager's default demands STARTTLS). The LOGIN
prompts are the usual "Username:" and "Password:", which Alertmanager expects.

Given a certificate, the server offers STARTTLS and requires it before AUTH and mail, as a production
relay does: Alertmanager then keeps its default `require_tls: true` and must trust the certificate
(the spec's `tls_config.ca_file`). Each Mail records whether it came over TLS.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.fakes.https_server import Certificate


@dataclass
class Mail:
    """One accepted message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str
    tls: bool = False
    time: float = field(default_factory=time.monotonic)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        """Every text part, decoded (Alertmanager sends HTML and plain text alternatives)."""
        parts = [self.message] if not self.message.is_multipart() else list(self.message.walk())
        texts = []
        for part in parts:
            if part.get_content_maintype() == "text":
                texts.append(str(part.get_content()))
        return "\n".join(texts)


class _Handler:
    def __init__(self, server: FakeSMTP) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        with self.server.lock:
            self.server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, login,
                                          tls=session.ssl is not None))
        return "250 OK"


class _ChallengingSMTP(SMTP):
    # aiosmtpd prompts LOGIN with "User Name\0"; Alertmanager's LOGIN answers only the prompts real
    # servers (Postfix, Exchange) send and aborts on anything else.
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _ChallengingSMTP(self.handler, **self.SMTP_kwargs)


class FakeSMTP:
    """SMTP with AUTH LOGIN (user/password checked), STARTTLS if given a certificate; records mail and AUTH.

    AUTH is offered, not required (aiosmtpd warns on every connection when it must be required
    without TLS): each Mail records the login it came with, and tests assert it.
    """

    def __init__(self, username: str, password: str, host: str = "127.0.0.1", port: int = 0,
                 certificate: Certificate | None = None) -> None:
        self.username = username
        self.password = password
        self.mails: list[Mail] = []
        self.auth_attempts: list[tuple[str, bool]] = []     # (mechanism, accepted)
        self.lock = threading.Lock()
        if port == 0:
            import socket

            with socket.socket() as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
        self.host, self.port = host, port
        tls: dict[str, Any] = {"auth_require_tls": False}
        if certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certificate.cert_file, certificate.key_file)
            tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        self.controller = _Controller(
            _Handler(self), hostname=host, port=port, authenticator=self._authenticate,
            auth_exclude_mechanism=["PLAIN"], **tls)

    def start(self) -> FakeSMTP:
        self.controller.start()
        return self

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.username and auth_data.password.decode() == self.password)
        with self.lock:
            self.auth_attempts.append((mechanism, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def stop(self) -> None:
        self.controller.stop()

    def received(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)
