"""The validated stack: frozen dataclasses built once from a valid spec, with every default applied.

Defaults come from the schema (spec/schema.json), the one source of truth. Renderers read only this
model, never the raw spec.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.fleet.model import Fleet, build_fleet
from stackgen.roles import REGISTRY, Role, addon_roles, default_images
from stackgen.spec.schema import default, node_at, property_names

# Default images (late 2026): pinned tags from the role registry, keyed by compose service role.
# `images:` in the spec overrides any of them; `images.registry` prefixes the defaults for a mirror.
DEFAULT_IMAGES: dict[str, str] = default_images()

HOST_GATEWAY_NAME = "host.docker.internal"
_LOCAL_HOST = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*://)?(?P<host>localhost|127\.0\.0\.1|\[::1\])(?P<rest>[:/].*)?$",
    re.IGNORECASE,
)


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


# What a spec that names no packs or dashboards gets: the ones for what runs in the stack.
RULE_PACKS_FOR = {
    "prometheus-self": "always",
    "alertmanager": "always",
    "node": "node",
    "blackbox": "blackbox",
    "containers": "cadvisor",
    "relay": "relay",
    "watchdog": "always",
    "swarm": "swarm",
}
DASHBOARDS_FOR = {
    "overview": "always",
    "prometheus": "always",
    "alertmanager": "always",
    "node": "node",
    "blackbox": "blackbox",
    "containers": "cadvisor",
    "relay": "relay",
}


def _packs_for(
    exporters: Exporters,
    grafana: bool,
    receivers: tuple[Receiver, ...],
    table: Mapping[str, str],
    deploy: Deploy,
    fleet: Fleet | None = None,
) -> tuple[str, ...]:
    running = {
        "always": True,
        "node": exporters.node.enabled or bool(fleet and fleet.hosts),
        "blackbox": exporters.blackbox.enabled,
        "cadvisor": exporters.cadvisor.enabled,
        "relay": any(c.via_relay for r in receivers for c in r.channels),
        "swarm": deploy.engine == "swarm" and exporters.node.enabled,
    }
    from stackgen.content import catalog

    shipped = set(catalog.rule_packs() if table is RULE_PACKS_FOR else catalog.dashboards())
    return tuple(name for name, needs in table.items() if running[needs] and name in shipped)


# Channel settings that name a host the container must reach (a local webhook, SMTP or chat fake).
LOCAL_ENDPOINT_KEYS = ("url", "smarthost", "api_url")


def _local_endpoints(settings: Mapping[str, Any], local: Any) -> Mapping[str, Any]:
    return {
        key: local(value) if key in LOCAL_ENDPOINT_KEYS and isinstance(value, str) else value
        for key, value in settings.items()
    }


def rewrite_local_address(address: str) -> str | None:
    """`localhost:8080` -> `host.docker.internal:8080` (None if the address is not local)."""
    match = _LOCAL_HOST.match(address.strip())
    if not match:
        return None
    return f"{match.group('scheme') or ''}{HOST_GATEWAY_NAME}{match.group('rest') or ''}"


class _Sections:
    """Reading spec data with the schema's defaults."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.data.get(name)
        return value if isinstance(value, Mapping) else {}

    def pick(self, name: str, key: str) -> Any:
        values = self.section(name)
        return values[key] if key in values else default(name, key)

    def with_defaults(self, name: str) -> dict[str, Any]:
        """A section's values, with the schema's default for every key it leaves out that has one."""
        values = dict(self.section(name))
        for key in property_names(node_at(name)):
            if key not in values and "default" in node_at(name, key):
                values[key] = default(name, key)
        return values


def build_stack(data: Mapping[str, Any], spec_dir: Path) -> Stack:
    """Build the model from spec data that passed validation."""
    spec = _Sections(data)
    host_access = data.get("host_access", default("host_access"))

    def local(address: str) -> str:
        if host_access == "auto":
            return rewrite_local_address(address) or address
        return address

    images = spec.section("images")
    exporters = _exporters(spec)
    receivers = _receivers(data, local)
    web = _web(spec, spec_dir)
    grafana = _grafana(spec, web)
    fleet = build_fleet(data["fleet"], spec_dir) if isinstance(data.get("fleet"), Mapping) else None
    deploy = _deploy(spec)
    rules = spec.section("rules")
    dashboards = spec.section("dashboards")
    return Stack(
        name=data["name"],
        listen=data.get("listen", default("listen")),
        language=data.get("language", default("language")),
        host_access=host_access,
        spec_dir=spec_dir,
        images=Images(
            registry=images.get("registry", ""),
            overrides={k: v for k, v in images.items() if k != "registry"},
        ),
        prometheus=_prometheus(spec),
        alertmanager=_alertmanager(spec, spec_dir),
        grafana=grafana,
        exporters=exporters,
        tracing=Tracing(
            enabled=spec.pick("tracing", "enabled"),
            jaeger_port=spec.pick("tracing", "jaeger_port"),
            otlp_grpc_port=spec.pick("tracing", "otlp_grpc_port"),
            otlp_http_port=spec.pick("tracing", "otlp_http_port"),
        ),
        relay_port=spec.pick("relay", "port"),
        relay_timezone=spec.pick("relay", "timezone"),
        jobs=tuple(_job(job, local) for job in data.get("targets", [])),
        probes=tuple(_probe(probe, local) for probe in data.get("probes", [])),
        blackbox_modules=dict(spec.section("blackbox").get("modules", {})),
        rule_packs=RulePacks(
            include=tuple(
                rules["include"]
                if "include" in rules
                else _packs_for(exporters, grafana.enabled, receivers, RULE_PACKS_FOR, deploy, fleet)
            ),
            params=dict(rules.get("params", {})),
            disable=tuple(rules.get("disable", [])),
        ),
        rule_groups=tuple(rules.get("groups", [])),
        rule_files=tuple(spec_dir / p for p in rules.get("files", [])),
        receivers=receivers,
        route=data.get("route"),
        inhibit_rules=tuple(data.get("inhibit_rules", [])),
        time_intervals=tuple(data.get("time_intervals", [])),
        dashboards=tuple(
            dashboards["include"]
            if "include" in dashboards
            else _packs_for(exporters, grafana.enabled, receivers, DASHBOARDS_FOR, deploy, fleet)
            if grafana.enabled
            else ()
        ),
        dashboard_files=tuple(spec_dir / p for p in dashboards.get("files", [])),
        spec_files=read_spec_files(data, spec_dir),
        fleet=fleet,
        web=web,
        deploy=deploy,
        docker_discovery=docker_discovery(spec.section("discovery").get("docker")),
        addons={str(role): spec.with_defaults(addon.settings) for role, addon in addon_roles().items()},
    )


def _prometheus(spec: _Sections) -> PrometheusSettings:
    return PrometheusSettings(
        port=spec.pick("prometheus", "port"),
        external_url=spec.section("prometheus").get("external_url"),
        scrape_interval=spec.pick("prometheus", "scrape_interval"),
        scrape_timeout=spec.pick("prometheus", "scrape_timeout"),
        evaluation_interval=spec.pick("prometheus", "evaluation_interval"),
        retention=spec.pick("prometheus", "retention"),
        retention_size=spec.section("prometheus").get("retention_size"),
        replicas=spec.pick("prometheus", "replicas"),
        external_labels={k: str(v) for k, v in spec.pick("prometheus", "external_labels").items()},
        remote_write=tuple(spec.pick("prometheus", "remote_write")),
        extra_args=tuple(spec.pick("prometheus", "extra_args")),
    )


def _alertmanager(spec: _Sections, spec_dir: Path) -> AlertmanagerSettings:
    return AlertmanagerSettings(
        port=spec.pick("alertmanager", "port"),
        replicas=spec.pick("alertmanager", "replicas"),
        resolve_timeout=spec.pick("alertmanager", "resolve_timeout"),
        external_url=spec.section("alertmanager").get("external_url"),
        templates=tuple(spec_dir / p for p in spec.pick("alertmanager", "templates")),
    )


def _exporters(spec: _Sections) -> Exporters:
    def exporter(key: str) -> Exporter:
        value = spec.pick("exporters", key)
        if isinstance(value, Mapping):
            return Exporter(bool(value.get("enabled", True)), value.get("port"))
        # `pushgateway: true` publishes it on its own port (batch jobs push to the host)
        return Exporter(bool(value), REGISTRY[Role.PUSHGATEWAY].port if key == "pushgateway" else None)

    return Exporters(exporter("node"), exporter("cadvisor"), exporter("blackbox"), exporter("pushgateway"))


def _job(job: Mapping[str, Any], local: Callable[[str], str]) -> Job:
    return Job(
        name=job["job"],
        targets=tuple(local(t) for t in job.get("targets", [])),
        labels={k: str(v) for k, v in job.get("labels", {}).items()},
        metrics_path=job.get("metrics_path", default("targets", "[]", "metrics_path")),
        scheme=job.get("scheme", default("targets", "[]", "scheme")),
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


def _probe(probe: Mapping[str, Any], local: Callable[[str], str]) -> Probe:
    return Probe(
        name=probe["name"],
        module=probe["module"],
        targets=tuple(local(t) for t in probe["targets"]),
        labels={k: str(v) for k, v in probe.get("labels", {}).items()},
        interval=probe.get("interval"),
        timeout=probe.get("timeout"),
    )


def _receivers(data: Mapping[str, Any], local: Callable[[str], str]) -> tuple[Receiver, ...]:
    return tuple(
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


def _web(spec: _Sections, spec_dir: Path) -> WebSettings:
    web_data = spec.section("web")
    tls = web_data.get("tls")
    tls = tls if isinstance(tls, Mapping) else None
    return WebSettings(
        users={str(name): str(password) for name, password in (web_data.get("users") or {}).items()},
        tls=tls is not None,
        cert_file=spec_dir / tls["cert_file"] if tls and "cert_file" in tls else None,
        key_file=spec_dir / tls["key_file"] if tls and "key_file" in tls else None,
        ca_file=spec_dir / tls["ca_file"] if tls and "ca_file" in tls else None,
        names=tuple(tls.get("names", ())) if tls else (),
        insecure=bool(web_data.get("insecure", default("web", "insecure"))),
    )


def _grafana(spec: _Sections, web: WebSettings) -> GrafanaSettings:
    admin_user = spec.pick("grafana", "admin_user")
    admin_password = spec.section("grafana").get("admin_password")
    if admin_password is None and web.users:
        # Grafana's admin is a web user: the one named like grafana.admin_user, else the first.
        if admin_user not in web.users and "admin_user" not in spec.section("grafana"):
            admin_user = next(iter(web.users))
        admin_password = web.users.get(admin_user)
    return GrafanaSettings(
        enabled=spec.pick("grafana", "enabled"),
        port=spec.pick("grafana", "port"),
        admin_user=admin_user,
        admin_password=admin_password,
        root_url=spec.section("grafana").get("root_url"),
        anonymous=spec.pick("grafana", "anonymous") and not web.users,
    )


def _deploy(spec: _Sections) -> Deploy:
    return Deploy(
        engine=spec.pick("deploy", "engine"),
        placement={
            role: tuple(constraints) for role, constraints in spec.pick("deploy", "placement").items()
        },
        max_replicas_per_node=spec.pick("deploy", "max_replicas_per_node"),
        shared_output=spec.pick("deploy", "shared_output"),
        docker_gid=spec.section("deploy").get("docker_gid"),
    )


def referenced_files(data: Any, key: str = "") -> list[str]:
    """Every file path the spec data names: `*_file` settings (TLS files, ...), rules.files,
    alertmanager.templates, dashboards.files and relay receivers' `template`."""
    found: list[str] = []
    if isinstance(data, Mapping):
        for name, value in data.items():
            name = str(name)
            if isinstance(value, str) and (name.endswith("_file") or name == "template"):
                found.append(value)
            elif name in ("files", "templates") and isinstance(value, list) and key in _FILE_LISTS:
                found += [item for item in value if isinstance(item, str)]
            else:
                found += referenced_files(value, name)
    elif isinstance(data, list):
        for item in data:
            found += referenced_files(item, key)
    return found


_FILE_LISTS = ("rules", "alertmanager", "dashboards")


def read_spec_files(data: Mapping[str, Any], spec_dir: Path) -> dict[str, bytes]:
    """The files the spec names, by `str(spec_dir / path)` (validation made sure they exist)."""
    from stackgen.errors import InvalidInput

    found: dict[str, bytes] = {}
    for path in referenced_files(data):
        key = str(spec_dir / path)
        if key in found:
            continue
        try:
            found[key] = (spec_dir / path).read_bytes()
        except OSError as error:
            raise InvalidInput(f"{path}: cannot read ({error.strerror or error})") from error
    return found
