"""blackbox.yml: the built-in probe modules plus the spec's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render.dump import yaml_bytes
from stackgen.render.secrets import SecretFiles, tls_files

BUILTIN_MODULES: dict[str, dict[str, Any]] = {
    "http_2xx": {
        "prober": "http",
        "timeout": "5s",
        "http": {"preferred_ip_protocol": "ip4", "follow_redirects": True},
    },
    "http_post_2xx": {
        "prober": "http",
        "timeout": "5s",
        "http": {"method": "POST", "preferred_ip_protocol": "ip4"},
    },
    "tcp_connect": {"prober": "tcp", "timeout": "5s", "tcp": {"preferred_ip_protocol": "ip4"}},
    "icmp": {"prober": "icmp", "timeout": "5s", "icmp": {"preferred_ip_protocol": "ip4"}},
    "dns": {
        "prober": "dns",
        "timeout": "5s",
        "dns": {"query_name": ".", "query_type": "NS", "preferred_ip_protocol": "ip4"},
    },
}


# The probers whose settings hold an HTTP client or TLS config (blackbox_exporter's config structs).
_CLIENT_PROBERS = ("http", "tcp", "grpc")


def render_blackbox(stack: Stack) -> dict[str, RenderedFile]:
    """blackbox/blackbox.yml; the spec's modules override built-ins of the same name.

    The spec's modules are in blackbox_exporter's words, except that secrets and certificate files are
    stackgen's: a password or token becomes a *_file in secrets/, a tls_config file is copied there."""
    secrets = SecretFiles("blackbox-exporter", stack=stack)
    own = {name: _module(name, module, secrets) for name, module in stack.blackbox_modules.items()}
    modules = {**BUILTIN_MODULES, **own}
    return {"blackbox/blackbox.yml": RenderedFile(yaml_bytes({"modules": modules})), **secrets.files}


def _module(name: str, module: Mapping[str, Any], secrets: SecretFiles) -> dict[str, Any]:
    result = dict(module)
    for prober in _CLIENT_PROBERS:
        settings = module.get(prober)
        if not isinstance(settings, Mapping):
            continue
        settings = dict(settings)
        where = f"module-{name}"
        if isinstance(settings.get("tls_config"), Mapping):
            settings["tls_config"] = tls_files(settings["tls_config"], where, secrets)
        for key, inline, as_file in (
            ("basic_auth", "password", "password_file"),
            ("authorization", "credentials", "credentials_file"),
        ):
            block = settings.get(key)
            if isinstance(block, Mapping) and inline in block:
                kept = {name: value for name, value in block.items() if name != inline}
                settings[key] = {**kept, as_file: secrets.put(f"{where}.{inline}", str(block[inline]))}
        if "bearer_token" in settings:
            settings["bearer_token_file"] = secrets.put(f"{where}.token", str(settings.pop("bearer_token")))
        result[prober] = settings
    return result
