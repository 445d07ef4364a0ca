"""The validated stack: frozen dataclasses built once from a valid spec, with every default applied.

Defaults come from the schema (spec/schema.json), the one source of truth. Renderers read only this
model, never the raw spec.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.spec.schema import default

# Default images (late 2026): pinned tags, keyed by compose service role. `images:` in the spec
# overrides any of them; `images.registry` prefixes the defaults for a mirror.
DEFAULT_IMAGES: dict[str, str] = {
    "prometheus": "prom/prometheus:v3.14.0",
    "alertmanager": "prom/alertmanager:v0.34.0",
    "grafana": "grafana/grafana:13.2.1",
    "node-exporter": "prom/node-exporter:v1.12.1",
    "cadvisor": "ghcr.io/google/cadvisor:0.60.5",
    "blackbox-exporter": "prom/blackbox-exporter:v0.28.0",
    "pushgateway": "prom/pushgateway:v1.11.3",
    "jaeger": "jaegertracing/jaeger:2.20.0",
    "otel-collector": "otel/opentelemetry-collector-contrib:0.159.0",
    "relay-base": "python:3.12-slim",
}

HOST_GATEWAY_NAME = "host.docker.internal"
_LOCAL_HOST = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)?(?P<host>localhost|127\.0\.0\.1|\[::1\])(?P<rest>[:/].*)?$",
                         re.IGNORECASE)


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
            return f"{self.registry.rstrip('/')}/{image.split('/', 1)[1] if image.startswith('ghcr.io/') else image}"
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

    host: str                      # unix:///var/run/docker.sock or tcp://proxy:2375
    refresh_interval: str
    # The group that may read the socket, read from it when the stack is rendered (the one fact of
    # this host the model holds): Prometheus runs as nobody and joins that group only.
    socket_group: int | None

    @property
    def socket(self) -> str | None:
        """The socket's path on the host, when the API is a unix socket."""
        return self.host[len("unix://"):] if self.host.startswith("unix://") else None


def docker_discovery(value: Any) -> DockerDiscovery | None:
    """The model of `discovery.docker` (true, false or its settings)."""
    if not value:
        return None
    settings = value if isinstance(value, Mapping) else {}
    host = settings.get("host", default("discovery", "docker", "host"))
    interval = settings.get("refresh_interval", default("discovery", "docker", "refresh_interval"))
    found = DockerDiscovery(host, interval, None)
    if found.socket is None:
        return found
    try:
        group = os.stat(found.socket).st_gid
    except OSError:
        group = None  # validate says so; Prometheus then cannot read the socket until it exists
    return DockerDiscovery(found.host, found.refresh_interval, group)


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
    docker_discovery: DockerDiscovery | None = None

    @property
    def needs_relay(self) -> bool:
        """True when some receiver has a channel only the relay can deliver."""
        return any(channel.via_relay for receiver in self.receivers for channel in receiver.channels)

    @property
    def uses_host_gateway(self) -> bool:
        """True when a target or probe points at the Docker host."""
        addresses = [t for job in self.jobs for t in job.targets] + [t for p in self.probes for t in p.targets]
        return any(HOST_GATEWAY_NAME in address for address in addresses)


# What a spec that names no packs or dashboards gets: the ones for what runs in the stack.
RULE_PACKS_FOR = {"prometheus-self": "always", "alertmanager": "always", "node": "node", "blackbox": "blackbox",
                  "containers": "cadvisor", "relay": "relay", "watchdog": "always"}
DASHBOARDS_FOR = {"overview": "always", "prometheus": "always", "alertmanager": "always", "node": "node",
                  "blackbox": "blackbox", "containers": "cadvisor", "relay": "relay"}


def _packs_for(exporters: Exporters, grafana: bool, receivers: tuple[Receiver, ...],
               table: Mapping[str, str]) -> tuple[str, ...]:
    running = {"always": True, "node": exporters.node.enabled, "blackbox": exporters.blackbox.enabled,
               "cadvisor": exporters.cadvisor.enabled,
               "relay": any(c.via_relay for r in receivers for c in r.channels)}
    from stackgen.content import catalog

    shipped = set(catalog.rule_packs() if table is RULE_PACKS_FOR else catalog.dashboards())
    return tuple(name for name, needs in table.items() if running[needs] and name in shipped)


# Channel settings that name a host the container must reach (a local webhook, SMTP or chat fake).
LOCAL_ENDPOINT_KEYS = ("url", "smarthost", "api_url")


def _local_endpoints(settings: Mapping[str, Any], local: Any) -> Mapping[str, Any]:
    return {key: local(value) if key in LOCAL_ENDPOINT_KEYS and isinstance(value, str) else value
            for key, value in settings.items()}


def rewrite_local_address(address: str) -> str | None:
    """`localhost:8080` -> `host.docker.internal:8080` (None if the address is not local)."""
    match = _LOCAL_HOST.match(address.strip())
    if not match:
        return None
    return f"{match.group('scheme') or ''}{HOST_GATEWAY_NAME}{match.group('rest') or ''}"


def build_stack(data: Mapping[str, Any], spec_dir: Path) -> Stack:
    """Build the model from spec data that passed validation."""

    def section(name: str) -> Mapping[str, Any]:
        value = data.get(name)
        return value if isinstance(value, Mapping) else {}

    def pick(name: str, key: str) -> Any:
        values = section(name)
        return values[key] if key in values else default(name, key)

    host_access = data.get("host_access", default("host_access"))

    def local(address: str) -> str:
        if host_access == "auto":
            return rewrite_local_address(address) or address
        return address

    images = section("images")
    prometheus = PrometheusSettings(
        port=pick("prometheus", "port"),
        external_url=section("prometheus").get("external_url"),
        scrape_interval=pick("prometheus", "scrape_interval"),
        scrape_timeout=pick("prometheus", "scrape_timeout"),
        evaluation_interval=pick("prometheus", "evaluation_interval"),
        retention=pick("prometheus", "retention"),
        retention_size=section("prometheus").get("retention_size"),
        replicas=pick("prometheus", "replicas"),
        external_labels={k: str(v) for k, v in pick("prometheus", "external_labels").items()},
        remote_write=tuple(pick("prometheus", "remote_write")),
        extra_args=tuple(pick("prometheus", "extra_args")),
    )
    alertmanager = AlertmanagerSettings(
        port=pick("alertmanager", "port"),
        replicas=pick("alertmanager", "replicas"),
        resolve_timeout=pick("alertmanager", "resolve_timeout"),
        external_url=section("alertmanager").get("external_url"),
        templates=tuple(spec_dir / p for p in pick("alertmanager", "templates")),
    )
    grafana = GrafanaSettings(
        enabled=pick("grafana", "enabled"),
        port=pick("grafana", "port"),
        admin_user=pick("grafana", "admin_user"),
        admin_password=section("grafana").get("admin_password"),
        root_url=section("grafana").get("root_url"),
        anonymous=pick("grafana", "anonymous"),
    )

    def exporter(key: str) -> Exporter:
        value = pick("exporters", key)
        if isinstance(value, Mapping):
            return Exporter(bool(value.get("enabled", True)), value.get("port"))
        return Exporter(bool(value), 9091 if key == "pushgateway" else None)

    jobs = tuple(
        Job(
            name=job["job"],
            targets=tuple(local(t) for t in job.get("targets", [])),
            labels={k: str(v) for k, v in job.get("labels", {}).items()},
            metrics_path=job.get("metrics_path", "/metrics"),
            scheme=job.get("scheme", "http"),
            scrape_interval=job.get("scrape_interval"),
            scrape_timeout=job.get("scrape_timeout"),
            params={k: tuple(v) for k, v in job.get("params", {}).items()},
            honor_labels=job.get("honor_labels"),
            sample_limit=job.get("sample_limit"),
            basic_auth=job.get("basic_auth"),
            bearer_token=job.get("bearer_token"),
            tls_config=job.get("tls_config"),
            consul=job.get("consul"),
            dns=job.get("dns"),
            relabel_configs=tuple(job.get("relabel_configs", [])),
            metric_relabel_configs=tuple(job.get("metric_relabel_configs", [])),
        )
        for job in data.get("targets", [])
    )
    probes = tuple(
        Probe(
            name=probe["name"],
            module=probe["module"],
            targets=tuple(local(t) for t in probe["targets"]),
            labels={k: str(v) for k, v in probe.get("labels", {}).items()},
            interval=probe.get("interval"),
            timeout=probe.get("timeout"),
        )
        for probe in data.get("probes", [])
    )
    rules = section("rules")
    exporters = Exporters(exporter("node"), exporter("cadvisor"), exporter("blackbox"), exporter("pushgateway"))
    receivers = tuple(
        Receiver(
            name=receiver["name"],
            channels=tuple(
                Channel(kind, _local_endpoints(settings, local))
                for kind in CHANNEL_KINDS
                if kind in receiver
                for settings in (receiver[kind] if isinstance(receiver[kind], list) else [receiver[kind]])
            ),
        )
        for receiver in data.get("receivers", [])
    )
    tracing = Tracing(
        enabled=pick("tracing", "enabled"),
        jaeger_port=pick("tracing", "jaeger_port"),
        otlp_grpc_port=pick("tracing", "otlp_grpc_port"),
        otlp_http_port=pick("tracing", "otlp_http_port"),
    )
    return Stack(
        name=data["name"],
        listen=data.get("listen", default("listen")),
        language=data.get("language", default("language")),
        host_access=host_access,
        spec_dir=spec_dir,
        images=Images(registry=images.get("registry", ""),
                      overrides={k: v for k, v in images.items() if k != "registry"}),
        prometheus=prometheus,
        alertmanager=alertmanager,
        grafana=grafana,
        exporters=exporters,
        tracing=tracing,
        relay_port=pick("relay", "port"),
        relay_timezone=pick("relay", "timezone"),
        jobs=jobs,
        probes=probes,
        blackbox_modules=dict(section("blackbox").get("modules", {})),
        rule_packs=RulePacks(
            include=tuple(rules["include"] if "include" in rules else
                          _packs_for(exporters, grafana.enabled, receivers, RULE_PACKS_FOR)),
            params=dict(rules.get("params", {})),
            disable=tuple(rules.get("disable", [])),
        ),
        rule_groups=tuple(rules.get("groups", [])),
        rule_files=tuple(spec_dir / p for p in rules.get("files", [])),
        receivers=receivers,
        route=data.get("route"),
        inhibit_rules=tuple(data.get("inhibit_rules", [])),
        time_intervals=tuple(data.get("time_intervals", [])),
        dashboards=tuple(section("dashboards")["include"] if "include" in section("dashboards") else
                         _packs_for(exporters, grafana.enabled, receivers, DASHBOARDS_FOR)
                         if grafana.enabled else ()),
        dashboard_files=tuple(spec_dir / p for p in section("dashboards").get("files", [])),
        docker_discovery=docker_discovery(section("discovery").get("docker")),
    )
