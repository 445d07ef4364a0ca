"""Checks of `web:` and `listen:` that a schema cannot express: beyond loopback every endpoint needs a
password sent over TLS; passwords long enough; the user's own certificate usable (that it names the
services the stack reaches is checked on the model: meaning_model.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stackgen.spec.load import LoadedSpec
from stackgen.spec.meaning_common import one_line, section
from stackgen.spec.problems import Problem, Severity

MIN_PASSWORD_LENGTH = 12
_WEB_EXAMPLE = "web.tls: {} and web.users (e.g. admin: ${WEB_ADMIN_PASSWORD})"


def is_loopback(listen: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1)."""
    import ipaddress

    try:
        return ipaddress.ip_address(listen).is_loopback
    except ValueError:
        return False


def _is_address(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def web_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Beyond loopback every endpoint needs a password sent over TLS; a user's certificate must be usable."""
    web = section(data, "web")
    users = section(web, "users")
    listen = data.get("listen", "127.0.0.1")
    exposed = isinstance(listen, str) and _is_address(listen) and not is_loopback(listen)
    if exposed and not users:
        if web.get("insecure") is True:
            yield spec.problem(
                ("web", "insecure"),
                f"listen {listen} publishes every endpoint to the network without a password",
                "only behind a proxy that authenticates; remove insecure and add web.users",
                severity=Severity.NOTICE,
            )
        else:
            yield spec.problem(
                ("listen",),
                f"listen {listen} would publish Prometheus, Alertmanager, Pushgateway, "
                "the relay and Grafana to the network without a password (anyone could push, "
                "delete, silence or post to your chat groups)",
                f"add {_WEB_EXAMPLE}, or keep listen: 127.0.0.1; web.insecure: true opts out "
                "behind an authenticating proxy",
            )
    if exposed and users and not isinstance(web.get("tls"), Mapping):
        yield spec.problem(
            ("web", "users"),
            f"basic auth on {listen} without TLS sends the passwords in clear over the network",
            "add `tls: {}` under web: HTTPS from the stack's own CA",
            at_key=True,
        )
    for name, password in users.items():
        if str(name).startswith("stackgen-"):
            yield spec.problem(
                ("web", "users", name),
                f"user name '{name}': names starting with stackgen- are the stack's internal users",
                "pick another name",
                at_key=True,
            )
        if isinstance(password, str) and len(password) < MIN_PASSWORD_LENGTH:
            yield spec.problem(
                ("web", "users", name),
                f"the password of web user '{name}' has {len(password)} "
                f"characters; at least {MIN_PASSWORD_LENGTH} are needed",
                "e.g. `openssl rand -base64 18` into the variable it comes from",
            )
    if users and section(data, "grafana").get("anonymous") is True:
        yield spec.problem(
            ("grafana", "anonymous"),
            "anonymous Grafana access contradicts web.users",
            "remove grafana.anonymous",
        )
    tls = web.get("tls")
    if isinstance(tls, Mapping):
        yield from _web_certificate(spec, tls)


def _web_certificate(spec: LoadedSpec, tls: Mapping[str, Any]) -> Iterator[Problem]:
    from stackgen import pki

    base = spec.path.parent
    if ("cert_file" in tls) != ("key_file" in tls):
        present, missing = ("cert_file", "key_file") if "cert_file" in tls else ("key_file", "cert_file")
        yield spec.problem(
            ("web", "tls", present),
            f"{present} needs {missing}: a server certificate is a pair",
            "or tls: {} for certificates from the stack's own CA",
        )
        return
    contents: dict[str, bytes] = {}
    for key in ("cert_file", "key_file", "ca_file"):
        name = tls.get(key)
        if not isinstance(name, str) or not name:
            continue
        file = base / name
        if not file.is_file():
            yield spec.problem(("web", "tls", key), f"no such file: {name}", f"paths are relative to {base}")
        elif b"-----BEGIN " not in (content := file.read_bytes()):
            yield spec.problem(("web", "tls", key), f"{name} is not a PEM file (no -----BEGIN line)")
        else:
            contents[key] = content
    if "cert_file" not in contents or "key_file" not in contents:
        return
    try:
        matches = pki.key_matches_certificate(contents["cert_file"], contents["key_file"])
    except (ValueError, TypeError) as error:
        yield spec.problem(
            ("web", "tls", "key_file"),
            f"cannot read the certificate or key: {one_line(error)}",
            "an unencrypted PEM private key",
        )
        return
    if not matches:
        yield spec.problem(
            ("web", "tls", "key_file"),
            f"{tls['key_file']} is not the private key of {tls['cert_file']}",
            "give the key the certificate was issued for",
        )
    expiry = pki.expires_at(contents["cert_file"])
    if expiry <= pki.utc_now():
        yield spec.problem(
            ("web", "tls", "cert_file"),
            f"{tls['cert_file']} expired on {expiry:%Y-%m-%d %H:%M} UTC",
            "renew it, or tls: {} for the stack CA's certificates",
        )
