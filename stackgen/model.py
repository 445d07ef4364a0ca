"""The validated stack: frozen dataclasses built once from a valid spec, with every default applied.

spec/build.py builds them, with the defaults of the schema (spec/schema.json), the one source of
truth. Renderers read only this model, never the raw spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.fleet.model import Fleet
from stackgen.roles import default_images

# Default images (late 2026): pinned tags from the role registry, keyed by compose service role.
# `images:` in the spec overrides any of them; `images.registry` prefixes the defaults for a mirror.
DEFAULT_IMAGES: dict[str, str] = default_images()

HOST_GATEWAY_NAME = "host.docker.internal"


@dataclass(frozen=True)
class Images:
    """Which image each service runs."""

    registry: str = ""
    overrides: Mapping[str, str] = field(default_factory=dict)

    def image_for(self, role: str) -> str:
        """The image of a role: the spec's override, else the default (behind the mirror prefix)."""
        if role in self.overrides:
            return self.overrides[role]
        image = DEFAULT_IMAGES[role]
        if self.registry:
            path = image.split("/", 1)[1] if image.startswith("ghcr.io/") else image
            return f"{self.registry.rstrip('/')}/{path}"
        return image


@dataclass(frozen=True)
class PrometheusSettings:
    """The Prometheus server(s)."""

    port: int
    external_url: str | None
    scrape_interval: str
    scrape_timeout: str
    evaluation_interval: str
    retention: str
    retention_size: str | None
    replicas: int
    external_labels: Mapping[str, str]
    remote_write: tuple[Mapping[str, Any], ...]
    extra_args: tuple[str, ...]


@dataclass(frozen=True)
class AlertmanagerSettings:
    """The Alertmanager(s)."""

    port: int
    replicas: int
    resolve_timeout: str
    external_url: str | None
    templates: tuple[Path, ...]


@dataclass(frozen=True)
class GrafanaSettings:
    """Grafana."""

    enabled: bool
    port: int
    admin_user: str
    admin_password: str | None
    root_url: str | None
    anonymous: bool


@dataclass(frozen=True)
class WebSettings:
    """How the stack's endpoints answer: HTTPS (the stack CA's certificates or the user's own), basic auth."""

    users: Mapping[str, str] = field(default_factory=dict)  # name -> password
    tls: bool = False
    cert_file: Path | None = None  # the user's own certificate (None: issued by the stack CA)
    key_file: Path | None = None
    ca_file: Path | None = None
    names: tuple[str, ...] = ()  # further certificate names: how other machines reach the stack
    insecure: bool = False

    @property
    def enabled(self) -> bool:
        """True when the endpoints get a web config (TLS or basic auth)."""
        return self.tls or bool(self.users)

    @property
    def scheme(self) -> str:
        """http or https: how every client in and out of the stack reaches the endpoints."""
        return "https" if self.tls else "http"


@dataclass(frozen=True)
class Exporter:
    """An exporter run in the stack, and the host port it is published on (if any)."""

    enabled: bool
    port: int | None = None


@dataclass(frozen=True)
class Exporters:
    """The exporters run in the stack."""

    node: Exporter
    cadvisor: Exporter
    blackbox: Exporter
    pushgateway: Exporter


@dataclass(frozen=True)
class Tracing:
    """Jaeger + OpenTelemetry Collector."""

    enabled: bool
    jaeger_port: int
    otlp_grpc_port: int
    otlp_http_port: int


@dataclass(frozen=True)
class Deploy:
    """Where the stack runs: one Docker host (compose) or a Docker Swarm, and placement there."""

    engine: str  # compose | swarm
    placement: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # role -> constraints
    max_replicas_per_node: int = 1
    shared_output: bool = False
    docker_gid: int | None = None


@dataclass(frozen=True)
class Job:
    """A scrape job of the user's: static targets (file_sd), Consul or DNS discovery."""

    name: str
    targets: tuple[str, ...]
    labels: Mapping[str, str]
    metrics_path: str
    scheme: str
    scrape_interval: str | None = None
    scrape_timeout: str | None = None
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    honor_labels: bool | None = None
    sample_limit: int | None = None
    basic_auth: Mapping[str, str] | None = None
    bearer_token: str | None = None
    tls_config: Mapping[str, Any] | None = None
    consul: Mapping[str, Any] | None = None
    dns: Mapping[str, Any] | None = None
    relabel_configs: tuple[Mapping[str, Any], ...] = ()
    metric_relabel_configs: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Probe:
    """A blackbox probe job."""

    name: str
    module: str
    targets: tuple[str, ...]
    labels: Mapping[str, str]
    interval: str | None = None
    timeout: str | None = None


@dataclass(frozen=True)
class DockerDiscovery:
    """Prometheus lists this engine's labelled containers (docker_sd_configs) and scrapes them."""

    host: str  # unix:///var/run/docker.sock or tcp://proxy:2375
    refresh_interval: str
    # The group that may read the socket, read from it when the stack is rendered (the one fact of
    # this host the model holds): Prometheus runs as nobody and joins that group only.
    socket_group: int | None

    @property
    def socket(self) -> str | None:
        """The socket's path on the host, when the API is a unix socket."""
        return self.host[len("unix://") :] if self.host.startswith("unix://") else None


@dataclass(frozen=True)
class RulePacks:
    """Which shipped rule packs to include and how."""

    include: tuple[str, ...]
    params: Mapping[str, Mapping[str, Any]]
    disable: tuple[str, ...]


@dataclass(frozen=True)
class Channel:
    """One delivery channel of a receiver: email, webhook, dingtalk, wecom_robot, wecom or feishu."""

    kind: str
    settings: Mapping[str, Any]

    @property
    def via_relay(self) -> bool:
        """Alertmanager cannot deliver these itself: stackgen's relay does."""
        return self.kind in RELAY_CHANNELS


RELAY_CHANNELS = ("dingtalk", "wecom_robot", "wecom", "feishu")
CHANNEL_KINDS = ("email", "webhook", *RELAY_CHANNELS)


@dataclass(frozen=True)
class Receiver:
    """A named receiver and its channels (none: a null receiver that drops notifications)."""

    name: str
    channels: tuple[Channel, ...]


@dataclass(frozen=True)
class Stack:
    """The whole validated stack."""

    name: str
    listen: str
    language: str
    host_access: str
    spec_dir: Path
    images: Images
    prometheus: PrometheusSettings
    alertmanager: AlertmanagerSettings
    grafana: GrafanaSettings
    exporters: Exporters
    tracing: Tracing
    relay_port: int | None
    relay_timezone: str
    jobs: tuple[Job, ...]
    probes: tuple[Probe, ...]
    blackbox_modules: Mapping[str, Mapping[str, Any]]
    rule_packs: RulePacks
    rule_groups: tuple[Mapping[str, Any], ...]
    rule_files: tuple[Path, ...]
    receivers: tuple[Receiver, ...]
    route: Mapping[str, Any] | None
    inhibit_rules: tuple[Mapping[str, Any], ...]
    time_intervals: tuple[Mapping[str, Any], ...]
    dashboards: tuple[str, ...]
    dashboard_files: tuple[Path, ...]
    fleet: Fleet | None = None
    # The bytes of every file the spec names (rule files, templates, dashboards, TLS files), read once
    # when the model is built, so that renderers never touch the disk.
    spec_files: Mapping[str, bytes] = field(default_factory=dict)

    def read(self, path: str | Path) -> bytes:
        """The content of a file the spec names: as written (relative to the spec) or as the model
        holds it (already joined to spec_dir)."""
        joined = str(self.spec_dir / path)
        return self.spec_files[joined] if joined in self.spec_files else self.spec_files[str(path)]

    web: WebSettings = field(default_factory=WebSettings)
    deploy: Deploy = field(default_factory=lambda: Deploy("compose"))
    docker_discovery: DockerDiscovery | None = None
    # The settings of each add-on role (roles.py: `settings`), as stack.yaml gives them with the
    # schema's defaults filled in; read by the role's own renderer only.
    addons: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def addon_settings(self, role: str) -> Mapping[str, Any]:
        """An add-on role's settings (empty when the role is no add-on)."""
        return self.addons.get(role, {})

    @property
    def needs_relay(self) -> bool:
        """True when some receiver has a channel only the relay can deliver."""
        return any(channel.via_relay for receiver in self.receivers for channel in receiver.channels)

    @property
    def uses_host_gateway(self) -> bool:
        """True when a target or probe points at the Docker host."""
        addresses = [t for job in self.jobs for t in job.targets] + [
            t for p in self.probes for t in p.targets
        ]
        return any(HOST_GATEWAY_NAME in address for address in addresses)
