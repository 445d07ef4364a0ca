"""What the runtime knows about each stack role: its HTTP port and how it takes new config.

This is the reload table of ARCHITECTURE.md as data; plan.py decides from it, reload.py acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoleRuntime:
    """How one role is reached and reloaded."""

    http_port: int | None
    reload_paths: tuple[str, ...] = ()  # POSTed in order; empty: the role cannot hot-reload
    # Sub-directories of a mounted config dir that the service watches itself (nothing to do).
    self_watched_dirs: tuple[str, ...] = ()
    health_path: str | None = None
    admin_auth: bool = False  # reload needs basic auth as the admin user
    # Secret files (name patterns) the service reads again by itself: a change needs no reload and,
    # above all, no restart (exporter-toolkit web configs are re-read per request).
    self_read_secrets: tuple[str, ...] = ()
    # Secret files (name patterns) read only at start: a change recreates the container even when
    # the role can reload (Grafana loads its certificate once: grafana/grafana#38095).
    start_only_secrets: tuple[str, ...] = ()

    @property
    def can_reload(self) -> bool:
        """True when a config change is applied by an HTTP reload instead of a recreate."""
        return bool(self.reload_paths)


# The web config, its certificate pair and the healthcheck's header (render/web.py); as clients,
# Prometheus and Alertmanager read password_file and ca_file again on each request too.
WEB_SECRETS = ("web.yml", "web.crt", "web.key", "web-authorization")
CLIENT_SECRETS = ("*.password", "web-ca.pem")

ROLES: dict[str, RoleRuntime] = {
    "prometheus": RoleRuntime(9090, ("/-/reload",), ("targets",), "/-/ready",
                              self_read_secrets=WEB_SECRETS + CLIENT_SECRETS),
    "alertmanager": RoleRuntime(9093, ("/-/reload",), (), "/-/ready",
                                self_read_secrets=WEB_SECRETS + CLIENT_SECRETS),
    "blackbox-exporter": RoleRuntime(9115, ("/-/reload",), (), "/-/healthy", self_read_secrets=WEB_SECRETS),
    "relay": RoleRuntime(9095, ("/-/reload",), (), "/-/healthy", self_read_secrets=WEB_SECRETS),
    "grafana": RoleRuntime(
        3000,
        ("/api/admin/provisioning/datasources/reload", "/api/admin/provisioning/dashboards/reload"),
        (),
        "/api/health",
        admin_auth=True,
        start_only_secrets=("web.crt", "web.key"),
    ),
    "pushgateway": RoleRuntime(9091, health_path="/-/ready", self_read_secrets=WEB_SECRETS),
    "node-exporter": RoleRuntime(9100, self_read_secrets=WEB_SECRETS),
    "cadvisor": RoleRuntime(8080, health_path="/healthz"),
    "jaeger": RoleRuntime(16686),
    "otel-collector": RoleRuntime(13133),
}

UNKNOWN_ROLE = RoleRuntime(None)

# The Grafana admin password secret: a change is pushed into the running Grafana (it reads the
# password from its environment only when its database is first created).
GRAFANA_ADMIN_PASSWORD_FILE = "secrets/grafana/admin_password"


def role_runtime(role: str) -> RoleRuntime:
    """The runtime facts of `role` (an unknown role is recreated on any config change)."""
    return ROLES.get(role, UNKNOWN_ROLE)
