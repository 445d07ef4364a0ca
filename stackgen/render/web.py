"""Web configs: HTTPS and basic auth on every endpoint of the stack, in the exporter-toolkit format.

Prometheus, Alertmanager, Pushgateway, blackbox and node-exporter read `--web.config.file` themselves
(and re-read it on every request, so a new password or certificate needs no restart); the relay reads
the same file. Grafana gets its own settings (compose.py). Everything lands in each service's secrets
(0600, mounted at /run/secrets/stackgen): the web config, the server certificate and key, and what the
service needs as a client of the others (the password of the stack's own user, the CA certificate).

The stack's own clients — Prometheus scraping its neighbours, Alertmanager posting to the relay,
Grafana's datasources, healthchecks and stackgen's commands — authenticate as one internal user whose
password is generated once. Its name carries a digest of the password, so a rotated password is a new
user beside the old one (the overlap: add the new user, switch the clients, drop the old one).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stackgen.model import Stack
from stackgen.output import SECRET_DIR, RenderedFile
from stackgen.render.ca import previous_pair, stack_ca_files
from stackgen.render.dump import json_bytes, load_yaml, yaml_bytes
from stackgen.render.secrets import CONTAINER_UIDS, generated_secret
from stackgen.render.topology import SECRETS_MOUNT, by_role, services
from stackgen.roles import EXPORTER_TOOLKIT, REGISTRY

if TYPE_CHECKING:  # imported where used: cryptography costs a render without TLS ~0.13 s
    from stackgen import pki

# Roles that serve through the exporter-toolkit web config (the relay: stackgen's own reader of it),
# and those that call the others as clients (the internal user's password and the CA certificate).
WEB_CONFIG_ROLES = tuple(str(role) for role, entry in REGISTRY.items() if entry.web == EXPORTER_TOOLKIT)
CLIENT_ROLES = tuple(str(role) for role, entry in REGISTRY.items() if entry.web_client)
WEB_CONFIG = "web.yml"
CERTIFICATE = "web.crt"
PRIVATE_KEY = "web.key"
CA_COPY = "web-ca.pem"
AUTHORIZATION = "web-authorization"  # `Basic base64(user:password)` for healthchecks' wget --header
CLIENT_RECORD = f"{SECRET_DIR}/stackgen/client.json"  # read by stackgen's commands; mounted nowhere
CLIENT_CA = f"{SECRET_DIR}/stackgen/ca.pem"  # the CA to trust: `stackgen ca export` prints it
INTERNAL_PASSWORD = f"{SECRET_DIR}/stackgen/internal-password"
# user -> HMAC(hash, password): a password that still matches its kept hash is known without bcrypt's
# ~0.3 s per user on every render. As private as the passwords beside it (0600, mounted nowhere).
HASH_RECORD = f"{SECRET_DIR}/stackgen/web-users.json"
INTERNAL_USER_PREFIX = "stackgen-"


@dataclass(frozen=True)
class WebClient:
    """How the stack's own clients reach a web-configured endpoint: scheme, user and the files they read."""

    scheme: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def password_file(self) -> str:
        """In-container path of the internal user's password (one file per user, for the overlap)."""
        return f"{SECRETS_MOUNT}/{self.username}.password"

    @property
    def ca_file(self) -> str:
        """In-container path of the CA certificate that verifies the stack's endpoints."""
        return f"{SECRETS_MOUNT}/{CA_COPY}"

    def http_config(self) -> dict[str, Any]:
        """Prometheus/Alertmanager `http_config` keys: basic_auth with a password_file, tls_config.ca_file."""
        config: dict[str, Any] = {}
        if self.username:
            config["basic_auth"] = {"username": self.username, "password_file": self.password_file}
        if self.scheme == "https":
            config["tls_config"] = {"ca_file": self.ca_file}
        return config

    def scrape_config(self) -> dict[str, Any]:
        """The keys a scrape job (or an alertmanagers[] entry) needs to reach a web-configured service."""
        return {"scheme": self.scheme, **self.http_config()} if self.scheme == "https" else self.http_config()


def web_client(stack: Stack, existing_secrets: Mapping[str, bytes]) -> WebClient | None:
    """The internal client identity (None: the stack has no web config, plain HTTP as before)."""
    if not stack.web.enabled:
        return None
    if not stack.web.users:
        return WebClient(stack.web.scheme)
    password = generated_secret(existing_secrets, INTERNAL_PASSWORD).strip()
    return WebClient(stack.web.scheme, internal_username(password), password)


def previous_client(stack: Stack, existing_secrets: Mapping[str, bytes]) -> WebClient | None:
    """The internal user the last render's clients used (from its client record), if any."""
    record = existing_secrets.get(CLIENT_RECORD)
    if not record:
        return None
    try:
        data = read_client_record(record)
    except ValueError:
        return None
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    return WebClient(stack.web.scheme, username, password)


@dataclass(frozen=True)
class Overlap:
    """One step of rotating the internal user: the user the clients use, and the other one still accepted."""

    client: WebClient
    also_accepted: WebClient


def rotation_steps(stack: Stack, existing_secrets: Mapping[str, bytes]) -> list[Overlap | None]:
    """How to get from the last render's internal user to the current one without a refused request:
    accept both while the clients keep the old, switch the clients, then drop the old (None: a plain
    render). One plain render when the user did not change."""
    new, old = web_client(stack, existing_secrets), previous_client(stack, existing_secrets)
    if new is None or old is None or not new.username or new.username == old.username:
        return [None]
    return [Overlap(old, new), Overlap(new, old), None]


def internal_username(password: str) -> str:
    """`stackgen-<digest>`: a new password is a new user, so old and new can be accepted side by side."""
    return INTERNAL_USER_PREFIX + hashlib.sha256(password.encode()).hexdigest()[:8]


def render_web(
    stack: Stack,
    client: WebClient | None,
    existing_secrets: Mapping[str, bytes],
    now: dt.datetime,
    overlap: Overlap | None = None,
) -> dict[str, RenderedFile]:
    """Every web config, certificate and client credential file of the stack.

    `client`: the internal user (web_client), whose password is kept in secrets/stackgen/; `overlap`:
    during a rotation, the user the clients use now and the other one, accepted beside it and with its
    password file kept (a client not yet reloaded still reads it)."""
    if client is None:
        return {}
    files: dict[str, RenderedFile] = {}
    if client.password:
        files[INTERNAL_PASSWORD] = RenderedFile(client.password.encode(), 0o600)
    also_accepted = overlap.also_accepted if overlap else None
    client = overlap.client if overlap else client
    users = dict(stack.web.users)
    for user in (client, also_accepted):
        if user is not None and user.username and user.password:
            users[user.username] = user.password
    hashes = _hashes(users, _previous_hashes(existing_secrets), _fingerprints(existing_secrets))
    files[HASH_RECORD] = RenderedFile(
        json_bytes({name: _fingerprint(users[name], hashed) for name, hashed in sorted(hashes.items())}),
        0o600,
    )
    ca_pem = b""
    ca: pki.KeyPair | None = None
    if stack.web.tls and stack.web.cert_file is None:
        ca, ca_files = stack_ca_files(stack.name, existing_secrets, now)
        files.update(ca_files)
        ca_pem = ca.cert_pem
    elif stack.web.tls:
        assert stack.web.cert_file is not None and stack.web.key_file is not None
        ca_pem = stack.read(stack.web.ca_file or stack.web.cert_file)
    roles = sorted({service.role for service in services(stack)})
    for role in roles:
        if role in WEB_CONFIG_ROLES or role == "grafana":
            files.update(_server_files(stack, role, ca, hashes, existing_secrets, now))
        files.update(_client_files(role, client, ca_pem, also_accepted))
    record: dict[str, Any] = {
        "scheme": client.scheme,
        "username": client.username,
        "password": client.password,
    }
    if ca_pem:
        files[CLIENT_CA] = RenderedFile(ca_pem, 0o600)
        record["ca_file"] = CLIENT_CA
    files[CLIENT_RECORD] = RenderedFile(json_bytes(record), 0o600)
    return files


def certificate_names(stack: Stack, role: str) -> list[str]:
    """The names and addresses a role's endpoint is reached at: in the stack, on this host, from outside."""
    names = {
        role,
        *(service.name for service in by_role(stack, role)),
        "localhost",
        "127.0.0.1",
        "::1",
        *stack.web.names,
    }
    if stack.listen not in ("0.0.0.0", "::"):
        names.add(stack.listen)
    for url in (stack.prometheus.external_url, stack.alertmanager.external_url, stack.grafana.root_url):
        host = urlsplit(url).hostname if url else None
        if host:
            names.add(host)
    return sorted(names)


def web_config(stack: Stack, hashes: Mapping[str, str]) -> dict[str, Any]:
    """One exporter-toolkit web config: tls_server_config and basic_auth_users (bcrypt)."""
    config: dict[str, Any] = {}
    if stack.web.tls:
        config["tls_server_config"] = {
            "cert_file": f"{SECRETS_MOUNT}/{CERTIFICATE}",
            "key_file": f"{SECRETS_MOUNT}/{PRIVATE_KEY}",
        }
    if hashes:
        config["basic_auth_users"] = dict(sorted(hashes.items()))
    return config


def _server_files(
    stack: Stack,
    role: str,
    ca: pki.KeyPair | None,
    hashes: Mapping[str, str],
    existing: Mapping[str, bytes],
    now: dt.datetime,
) -> dict[str, RenderedFile]:
    owner = CONTAINER_UIDS.get(role)
    directory = f"{SECRET_DIR}/{role}"
    files: dict[str, RenderedFile] = {}
    if role != "grafana":  # Grafana has its own users and settings; it gets only the certificate
        files[f"{directory}/{WEB_CONFIG}"] = RenderedFile(yaml_bytes(web_config(stack, hashes)), 0o600, owner)
    if not stack.web.tls:
        return files
    if ca is not None:
        previous = previous_pair(existing, f"{directory}/{CERTIFICATE}", f"{directory}/{PRIVATE_KEY}")
        from stackgen import pki  # cryptography: only where a certificate is made

        pair = pki.server_certificate(ca, role, certificate_names(stack, role), previous, now)
        cert_pem, key_pem = pair.cert_pem, pair.key_pem
    else:
        assert stack.web.cert_file is not None and stack.web.key_file is not None
        cert_pem, key_pem = stack.read(stack.web.cert_file), stack.read(stack.web.key_file)
    files[f"{directory}/{CERTIFICATE}"] = RenderedFile(cert_pem, 0o600, owner)
    files[f"{directory}/{PRIVATE_KEY}"] = RenderedFile(key_pem, 0o600, owner)
    return files


def _client_files(
    role: str, client: WebClient, ca_pem: bytes, also_accepted: WebClient | None = None
) -> dict[str, RenderedFile]:
    """Clients get the internal user's password and the CA; web-configured services the Authorization
    header their healthcheck sends (the relay's check also verifies the CA)."""
    owner = CONTAINER_UIDS.get(role)
    directory = f"{SECRET_DIR}/{role}"
    files: dict[str, RenderedFile] = {}
    if ca_pem and (role in CLIENT_ROLES or role == "relay"):
        files[f"{directory}/{CA_COPY}"] = RenderedFile(ca_pem, 0o600, owner)
    if not (client.username and client.password):
        return files
    if role in CLIENT_ROLES:
        for user in (client, also_accepted):
            if user is not None and user.username and user.password:
                password = RenderedFile(user.password.encode(), 0o600, owner)
                files[f"{directory}/{user.username}.password"] = password
    if role in WEB_CONFIG_ROLES:
        token = base64.b64encode(f"{client.username}:{client.password}".encode()).decode()
        files[f"{directory}/{AUTHORIZATION}"] = RenderedFile(f"Basic {token}".encode(), 0o600, owner)
    return files


def _previous_hashes(existing: Mapping[str, bytes]) -> dict[str, str]:
    """bcrypt hashes of the last render's web configs, by user (each is kept while it still matches)."""
    found: dict[str, str] = {}
    for path, content in sorted(existing.items()):
        if not path.endswith(f"/{WEB_CONFIG}"):
            continue
        try:
            data = load_yaml(content) or {}
        except ValueError:
            continue
        users = data.get("basic_auth_users") if isinstance(data, dict) else None
        for name, value in (users or {}).items():
            if isinstance(value, str):
                found.setdefault(str(name), value)
    return found


def _hashes(
    users: Mapping[str, str], previous: Mapping[str, str], fingerprints: Mapping[str, str]
) -> dict[str, str]:
    """A bcrypt hash per user: the previous one while it matches (known from its fingerprint, else
    checked by bcrypt), else a new one."""
    hashes = {}
    for name, password in users.items():
        kept = previous.get(name)
        if kept and hmac.compare_digest(fingerprints.get(name, ""), _fingerprint(password, kept)):
            hashes[name] = kept
        else:
            from stackgen import pki  # bcrypt: only where a password changed

            hashes[name] = pki.password_hash(password, kept)
    return hashes


def _fingerprint(password: str, hashed: str) -> str:
    return hmac.new(hashed.encode(), password.encode(), hashlib.sha256).hexdigest()


def _fingerprints(existing: Mapping[str, bytes]) -> dict[str, str]:
    try:
        data = json.loads(existing.get(HASH_RECORD, b"{}").decode("utf-8"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def read_client_record(content: bytes) -> dict[str, Any]:
    """The client record's data (scheme, username, password, ca_file)."""
    data = json.loads(content.decode("utf-8"))
    return data if isinstance(data, dict) else {}


# --- what docker-compose.yml needs (compose.py calls these, so that it stays unaware of the format) ---


def web_config_flags(stack: Stack) -> list[str]:
    """`--web.config.file=...` for the exporter-toolkit services, when the stack has web configs."""
    return [f"--web.config.file={SECRETS_MOUNT}/{WEB_CONFIG}"] if stack.web.enabled else []


def mounts_web_secrets(stack: Stack, role: str) -> bool:
    """Whether a role that has no secrets of its own needs secrets/<role>/ mounted for its web files."""
    return stack.web.enabled and role in WEB_CONFIG_ROLES


def wget_test(stack: Stack, port: int, path: str, authenticated: bool = True) -> list[str]:
    """A healthcheck command with busybox wget: over HTTPS and with the internal user's Authorization
    header (read from a secret file) when the stack has web configs. No `-T`: Debian busybox 1.35's
    wget segfaults with it on a refused connection."""
    if not stack.web.enabled:
        return ["CMD", "wget", "-q", "-O", "/dev/null", f"http://localhost:{port}{path}"]
    # the container's own endpoint on localhost: busybox wget cannot verify against a CA file anyway
    parts = ["wget", "-q", "-O", "/dev/null"]
    if stack.web.tls:
        parts.append("--no-check-certificate")
    if authenticated and stack.web.users:
        # backticks rather than $(...): Compose would read `$` as the start of a variable
        parts.append(f'--header "Authorization: `cat {SECRETS_MOUNT}/{AUTHORIZATION}`"')
    parts.append(f"{stack.web.scheme}://localhost:{port}{path}")
    return ["CMD-SHELL", " ".join(parts)]


def python_test(stack: Stack, port: int, path: str) -> list[str]:
    """The relay's healthcheck (its image has Python, no wget), verifying the CA when there is TLS."""
    url = f"{stack.web.scheme}://localhost:{port}{path}"
    if not stack.web.enabled:
        return ["CMD", "python3", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"]
    headers = (
        f"{{'Authorization': open('{SECRETS_MOUNT}/{AUTHORIZATION}').read().strip()}}"
        if stack.web.users
        else "{}"
    )
    context = (
        f", context=ssl.create_default_context(cafile='{SECRETS_MOUNT}/{CA_COPY}')" if stack.web.tls else ""
    )
    return [
        "CMD",
        "python3",
        "-c",
        f"import ssl, urllib.request as u; u.urlopen(u.Request('{url}', "
        f"headers={headers}), timeout=4{context})",
    ]


def grafana_environment(stack: Stack) -> dict[str, str]:
    """Grafana's own TLS settings ([server] protocol, cert_file, cert_key) and no anonymous access."""
    if not stack.web.enabled:
        return {}
    environment = {
        "GF_AUTH_ANONYMOUS_ENABLED": "false",
        "GF_AUTH_BASIC_ENABLED": "true",
        "GF_AUTH_DISABLE_LOGIN_FORM": "false",
    }
    if stack.web.tls:
        environment.update(
            {
                "GF_SERVER_PROTOCOL": "https",
                "GF_SERVER_CERT_FILE": f"{SECRETS_MOUNT}/{CERTIFICATE}",
                "GF_SERVER_CERT_KEY": f"{SECRETS_MOUNT}/{PRIVATE_KEY}",
            }
        )
    return environment


# Services with no authentication of their own: on a non-loopback listen they stay on loopback.
UNAUTHENTICATED_ROLES = tuple(str(role) for role, entry in REGISTRY.items() if not entry.asks_password)


def published_address(stack: Stack, role: str) -> str:
    """The host address a role's ports bind to: `listen`, except loopback for services that cannot
    ask for a password when the stack is published beyond this machine."""
    from stackgen.spec.meaning_web import is_loopback

    if role in UNAUTHENTICATED_ROLES and not is_loopback(stack.listen) and not stack.web.insecure:
        return "127.0.0.1"
    return stack.listen
