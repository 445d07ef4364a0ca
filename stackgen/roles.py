"""The role registry: every kind of service a stack can run, and one record of its facts.

Model, renderers, validation and the runtime read a role's default image, port, user, config
directory, reload method and health endpoint from here, so adding an exporter means adding its entry
(and its renderer and data), not editing ten tables. README's image table is checked against it.

An ADD-ON role is known to nothing but its entry here, its renderer module (Addon.renderer; the
contract is stackgen/render/addons.py) and its stack.yaml section in spec/schema.json (Addon.settings):
the model keeps that section's values with the schema's defaults, validation checks the ports it names
for collisions, and compose, Prometheus and Grafana ask its renderer for their parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# The label that tells stackgen (and people) which role a container plays.
ROLE_LABEL = "io.stackgen.role"
# Where every service finds its secrets/<role>/ files.
SECRETS_MOUNT = "/run/secrets/stackgen"
# The Grafana admin password (generated once, kept): apply pushes a change into the running Grafana,
# which reads the password from its environment only when its database is first created.
GRAFANA_ADMIN_PASSWORD_FILE = "secrets/grafana/admin_password"


class Role(str, Enum):
    """A kind of service; its value is the compose service name (and the `images:` key)."""

    PROMETHEUS = "prometheus"
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    NODE_EXPORTER = "node-exporter"
    CADVISOR = "cadvisor"
    BLACKBOX_EXPORTER = "blackbox-exporter"
    PUSHGATEWAY = "pushgateway"
    RELAY = "relay"
    JAEGER = "jaeger"
    OTEL_COLLECTOR = "otel-collector"
    VICTORIA_METRICS = "victoria-metrics"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Addon:
    """What makes a role an add-on: known to nothing but its registry entry, renderer and schema."""

    settings: str  # its stack.yaml section: an object with `enabled` (spec/schema.json)
    renderer: str  # the module that renders it (defines RENDERER: render/addons.py)
    published_ports: tuple[str, ...] = ()  # keys of its section that are host ports it publishes


@dataclass(frozen=True)
class RoleFacts:
    """What stackgen knows about one role."""

    role: Role | None  # None only for UNKNOWN_ROLE
    default_image: str | None  # None: built locally (the relay; its base image is `relay-base`)
    port: int  # the HTTP port it listens on inside the stack network
    uid: int | None = None  # the container's user: its secrets are owned by it
    config_dir: str | None = None  # its directory in generated/, mounted read-only
    reload_paths: tuple[str, ...] = ()  # POSTed in order on a config change; empty: recreate instead
    self_watched_dirs: tuple[str, ...] = ()  # parts of config_dir it re-reads by itself (nothing to do)
    health_path: str | None = None  # what apply and status ask for readiness
    admin_auth: bool = False  # reloads need the admin user's basic auth
    mounts_secrets: bool = False  # gets secrets/<role>/ at SECRETS_MOUNT
    data_dir: str | None = None  # the path inside the container that lives in a named volume
    metrics_path: str | None = "/metrics"  # where Prometheus scrapes it; None: not scraped
    # The model attribute (dotted, on Stack) that turns a single-container role on; None: the role is
    # placed by its own rule (Prometheus and Alertmanager replicas) or is an add-on (its settings say).
    enabled_by: str | None = None
    # Secret files (name patterns) the service reads again by itself: a change needs no reload and,
    # above all, no restart (exporter-toolkit web configs are re-read per request).
    self_read_secrets: tuple[str, ...] = ()
    # Secret files (name patterns) read only at start: a change recreates the container even when
    # the role can reload (Grafana loads its certificate once: grafana/grafana#38095).
    start_only_secrets: tuple[str, ...] = ()
    addon: Addon | None = None  # an add-on role's settings section and renderer
    # How it asks for a password (web.users): EXPORTER_TOOLKIT (an exporter-toolkit web config, the relay's
    # reader of one included), OWN_AUTH (Grafana's own users and TLS settings) or None: it cannot, and
    # stays on loopback when the stack is published beyond this machine.
    web: str | None = None
    web_client: bool = False  # calls the others: gets the internal user's password and the CA

    @property
    def asks_password(self) -> bool:
        """True when the role can be published beyond loopback behind web.users."""
        return self.web is not None

    @property
    def can_reload(self) -> bool:
        """True when a config change is applied by an HTTP reload instead of a recreate."""
        return bool(self.reload_paths)


_NOBODY = 65534
EXPORTER_TOOLKIT = "web-config"
OWN_AUTH = "own"
# The web config, its certificate pair and the healthcheck's header (render/web.py); as clients,
# Prometheus and Alertmanager read password_file and ca_file again on each request too.
WEB_SECRETS = ("web.yml", "web.crt", "web.key", "web-authorization")
CLIENT_SECRETS = ("*.password", "web-ca.pem")

_ENTRIES = (
    RoleFacts(
        Role.PROMETHEUS,
        "prom/prometheus:v3.14.0",
        9090,
        _NOBODY,
        "prometheus",
        ("/-/reload",),
        ("targets",),
        "/-/ready",
        mounts_secrets=True,
        data_dir="/prometheus",
        self_read_secrets=WEB_SECRETS + CLIENT_SECRETS,
        web=EXPORTER_TOOLKIT,
        web_client=True,
    ),
    RoleFacts(
        Role.ALERTMANAGER,
        "prom/alertmanager:v0.34.0",
        9093,
        _NOBODY,
        "alertmanager",
        ("/-/reload",),
        health_path="/-/ready",
        mounts_secrets=True,
        data_dir="/alertmanager",
        self_read_secrets=WEB_SECRETS + CLIENT_SECRETS,
        web=EXPORTER_TOOLKIT,
        web_client=True,
    ),
    RoleFacts(
        Role.GRAFANA,
        "grafana/grafana:13.2.1",
        3000,
        472,
        "grafana",
        ("/api/admin/provisioning/datasources/reload", "/api/admin/provisioning/dashboards/reload"),
        health_path="/api/health",
        admin_auth=True,
        mounts_secrets=True,
        data_dir="/var/lib/grafana",
        start_only_secrets=("web.crt", "web.key"),
        enabled_by="grafana.enabled",
        web=OWN_AUTH,
        web_client=True,
    ),
    # node-exporter and Pushgateway mount secrets/ only for a web config (render/web.py)
    RoleFacts(
        Role.NODE_EXPORTER,
        "prom/node-exporter:v1.12.1",
        9100,
        _NOBODY,
        self_read_secrets=WEB_SECRETS,
        enabled_by="exporters.node.enabled",
        web=EXPORTER_TOOLKIT,
    ),
    RoleFacts(
        Role.CADVISOR,
        "ghcr.io/google/cadvisor:0.60.5",
        8080,
        health_path="/healthz",
        enabled_by="exporters.cadvisor.enabled",
    ),
    RoleFacts(
        Role.BLACKBOX_EXPORTER,
        "prom/blackbox-exporter:v0.28.0",
        9115,
        _NOBODY,
        "blackbox",
        ("/-/reload",),
        health_path="/-/healthy",
        mounts_secrets=True,
        self_read_secrets=WEB_SECRETS,
        enabled_by="exporters.blackbox.enabled",
        web=EXPORTER_TOOLKIT,
    ),
    RoleFacts(
        Role.PUSHGATEWAY,
        "prom/pushgateway:v1.11.3",
        9091,
        _NOBODY,
        health_path="/-/ready",
        data_dir="/data",
        self_read_secrets=WEB_SECRETS,
        enabled_by="exporters.pushgateway.enabled",
        web=EXPORTER_TOOLKIT,
    ),
    RoleFacts(
        Role.RELAY,
        None,
        9095,
        _NOBODY,
        "relay",
        ("/-/reload",),
        health_path="/-/healthy",
        mounts_secrets=True,
        self_read_secrets=WEB_SECRETS,
        enabled_by="needs_relay",
        web=EXPORTER_TOOLKIT,
    ),
    RoleFacts(
        Role.JAEGER, "jaegertracing/jaeger:2.20.0", 16686, metrics_path=None, enabled_by="tracing.enabled"
    ),
    # 8888: the collector's own metrics; 13133 its health extension
    RoleFacts(
        Role.OTEL_COLLECTOR,
        "otel/opentelemetry-collector-contrib:0.159.0",
        8888,
        config_dir="otel-collector",
        enabled_by="tracing.enabled",
    ),
    RoleFacts(
        Role.VICTORIA_METRICS,
        "victoriametrics/victoria-metrics:v1.145.0",
        8428,
        health_path="/health",
        data_dir="/victoria-metrics-data",
        addon=Addon("victoria_metrics", "stackgen.render.victoria_metrics", published_ports=("port",)),
    ),
)
REGISTRY: dict[Role, RoleFacts] = {Role(str(entry.role)): entry for entry in _ENTRIES}

# What a container whose role label names no role gets: no reload (recreated on change), no health path.
UNKNOWN_ROLE = RoleFacts(None, None, 0)

# Images that belong to no role of their own: the base the relay image is built on.
EXTRA_IMAGES = {"relay-base": "python:3.12-slim"}


def facts(role: str) -> RoleFacts:
    """The registry entry of a role name (UNKNOWN_ROLE for a name that is no role)."""
    try:
        return REGISTRY[Role(role)]
    except ValueError:
        return UNKNOWN_ROLE


def default_images() -> dict[str, str]:
    """Every image key of `images:` with its pinned default, in registry order."""
    found = {str(entry.role): entry.default_image for entry in REGISTRY.values() if entry.default_image}
    return {**found, **EXTRA_IMAGES}


def secret_owners() -> dict[str, int]:
    """role -> the uid that must own its secret files."""
    return {str(entry.role): entry.uid for entry in REGISTRY.values() if entry.uid}


def addon_roles() -> dict[Role, Addon]:
    """The add-on roles and what makes each one."""
    return {role: entry.addon for role, entry in REGISTRY.items() if entry.addon is not None}
