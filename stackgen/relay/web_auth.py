"""The relay's side of the exporter-toolkit web config: HTTPS and basic auth (bcrypt), as Prometheus does.

The file is looked at again on every connection and request (a stat; parsed only when it changed), so
a new certificate or password takes effect without a restart, as with the exporter-toolkit. A file
that cannot be used keeps the last good one in force and is logged. Checked passwords are remembered
by a digest of (user, hash, password): bcrypt costs ~50 ms, a scrape every 15 s should not pay it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.errors import RelayConfigError
from stackgen.relay.config import parse_document

log = logging.getLogger(__name__)

_TOP_KEYS = {"tls_server_config", "basic_auth_users", "http_server_config"}
_TLS_KEYS = {
    "cert_file",
    "key_file",
    "min_version",
    "max_version",
    "cipher_suites",
    "curve_preferences",
    "prefer_server_cipher_suites",
    "client_auth_type",
    "client_ca_file",
}


@dataclass(frozen=True)
class WebConfig:
    """What the relay uses of a web config: its certificate pair and its users' bcrypt hashes."""

    cert_file: Path | None = None
    key_file: Path | None = None
    users: Mapping[str, str] = field(default_factory=dict)

    @property
    def tls(self) -> bool:
        """True when connections must be HTTPS."""
        return self.cert_file is not None


def parse_web_config(data: Any, base_dir: Path) -> WebConfig:
    """Check a parsed web config; paths are relative to its directory as in the exporter-toolkit."""
    if data is None:
        return WebConfig()
    if not isinstance(data, dict):
        raise RelayConfigError("web config: must be a mapping")
    unknown = sorted(str(key) for key in data if key not in _TOP_KEYS)
    if unknown:
        raise RelayConfigError(f"web config: unknown key {unknown[0]!r}")
    tls = data.get("tls_server_config") or {}
    if not isinstance(tls, dict) or any(key not in _TLS_KEYS for key in tls):
        raise RelayConfigError("web config: tls_server_config must be a mapping of exporter-toolkit keys")
    if tls.get("client_auth_type") not in (None, "NoClientCert"):
        raise RelayConfigError("web config: the relay does not check client certificates")
    if bool(tls.get("cert_file")) != bool(tls.get("key_file")):
        raise RelayConfigError("web config: tls_server_config needs both cert_file and key_file")
    users = data.get("basic_auth_users") or {}
    if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
        raise RelayConfigError("web config: basic_auth_users must map user names to bcrypt hashes")
    cert = base_dir / str(tls["cert_file"]) if tls.get("cert_file") else None
    key = base_dir / str(tls["key_file"]) if tls.get("key_file") else None
    return WebConfig(cert, key, {str(name): value for name, value in users.items()})


class WebGuard:
    """The relay's web config as it is now on disk, with the TLS context and password checks it implies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._config = WebConfig()
        self._context: ssl.SSLContext | None = None
        self._verified: set[bytes] = set()
        self.refresh(strict=True)

    def refresh(self, strict: bool = False) -> WebConfig:
        """Re-read the file (and the certificate pair) when any of them changed; `strict`: raise on error."""
        with self._lock:
            try:
                if self._stamp == self._stamps(self._config):
                    return self._config
                text = self.path.read_text(encoding="utf-8")
                config = parse_web_config(parse_document(text, str(self.path)), self.path.parent)
                stamp = self._stamps(config)
                context = _server_context(config) if config.tls else None
            except (OSError, ssl.SSLError, RelayConfigError) as error:
                if strict:
                    raise RelayConfigError(f"web config {self.path}: {error}") from error
                log.error("web config %s not used, keeping the previous one: %s", self.path, error)
                return self._config
            if self._stamp is not None:
                log.info("web config %s reloaded", self.path)
            self._stamp, self._config, self._context, self._verified = stamp, config, context, set()
            return config

    def _stamps(self, config: WebConfig) -> tuple[Any, ...]:
        """What says a file changed (inode, size, mtime) for the config and the pair it names."""
        return tuple(_file_stamp(path) for path in (self.path, config.cert_file, config.key_file))

    def server_context(self) -> ssl.SSLContext | None:
        """The TLS context for a new connection (None: plain HTTP)."""
        self.refresh()
        return self._context

    @property
    def scheme(self) -> str:
        return "https" if self._config.tls else "http"

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header names a user of the web config with the right password
        (always true when the config has no users)."""
        config = self.refresh()
        if not config.users:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            user, _, password = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        hashed = config.users.get(user)
        if hashed is None:
            return False
        key = hashlib.sha256(b"\0".join((user.encode(), hashed.encode(), password.encode()))).digest()
        if any(hmac.compare_digest(key, known) for known in self._verified):
            return True
        ok = bcrypt_matches(password, hashed)
        if ok:
            self._verified.add(key)
        return ok


def _file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def bcrypt_matches(password: str, hashed: str) -> bool:
    """Whether `password` matches a bcrypt hash: with the bcrypt package, else with the C library's
    crypt(3) (libxcrypt knows $2b$) for minimal images where bcrypt's extension cannot load (it needs
    libgcc_s)."""
    try:
        import bcrypt
    except ImportError:
        return _crypt_matches(password, hashed)
    try:
        return bool(bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii")))
    except ValueError:
        return False


def _crypt_matches(password: str, hashed: str) -> bool:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError as error:
            raise RelayConfigError(
                "cannot check bcrypt passwords: neither bcrypt nor crypt(3) is available "
                "(use a relay-base image with libgcc_s, e.g. python:3.12-slim)"
            ) from error
    result = crypt.crypt(password, hashed)
    return result is not None and hmac.compare_digest(result, hashed)


def _server_context(config: WebConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # the exporter-toolkit's default minimum
    assert config.cert_file is not None and config.key_file is not None
    context.load_cert_chain(str(config.cert_file), str(config.key_file))
    return context
