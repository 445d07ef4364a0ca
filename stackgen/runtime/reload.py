"""Hot-reload a running service's config over HTTP (the reload table of ARCHITECTURE.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackgen.errors import ReloadRefused, RuntimeFailure
from stackgen.runtime import http
from stackgen.runtime.roles import role_runtime

if TYPE_CHECKING:
    from stackgen.runtime.web_access import WebAccess


def reload_service(
    service: str,
    role: str,
    base_url: str,
    auth: tuple[str, str] | None = None,
    access: WebAccess | None = None,
) -> None:
    """POST the role's reload endpoint(s); a refusal raises ReloadRefused with the upstream message.

    `access`: TLS and the internal user for a stack with web configs (`auth` overrides the user);
    the certificate is verified against the service's name."""
    for path in role_runtime(role).reload_paths:
        answer = http.request(
            "POST", base_url + path, timeout=60.0, auth=auth, access=access, server_name=service
        )
        if answer.status == 0:
            raise RuntimeFailure(f"{service}: cannot reach {base_url}{path} to reload: {answer.body}")
        if not answer.ok:
            message = " ".join(answer.body.split()) or f"HTTP {answer.status}"
            raise ReloadRefused(f"{service} refused the new config: {message}")


def reload_confirmed(role: str, metrics_text: str) -> bool | None:
    """Whether the role's own metric says the last reload succeeded (None: it has no such metric)."""
    metric = {
        "prometheus": "prometheus_config_last_reload_successful",
        "alertmanager": "alertmanager_config_last_reload_successful",
    }.get(role)
    if metric is None:
        return None
    for line in metrics_text.splitlines():
        name, _, value = line.partition(" ")
        if name == metric:
            return value.strip() in ("1", "1.0", "1e+00")
    return False
