"""Spec data that passed validation -> the model (stackgen/model.py): one small builder per section,
every default from the schema, `localhost` rewritten to the Docker host where host_access says so,
and the packs and dashboards for what runs when the spec names none."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stackgen.fleet.model import Fleet, build_fleet
from stackgen.model import (
    CHANNEL_KINDS,
    HOST_GATEWAY_NAME,
    AlertmanagerSettings,
    Channel,
    Deploy,
    DockerDiscovery,
    Exporter,
    Exporters,
    GrafanaSettings,
    Images,
    Job,
    Probe,
    PrometheusSettings,
    Receiver,
    RulePacks,
    Stack,
    Tracing,
    WebSettings,
)
from stackgen.roles import REGISTRY, Role, addon_roles
from stackgen.spec.files import read_spec_files
from stackgen.spec.schema import default, node_at, property_names

_LOCAL_HOST = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*://)?(?P<host>localhost|127\.0\.0\.1|\[::1\])(?P<rest>[:/].*)?$",
    re.IGNORECASE,
)


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

    exporters = _exporters(spec)
    receivers = _receivers(data, local)
    web = _web(spec, spec_dir)
    grafana = _grafana(spec, web)
    fleet = build_fleet(data["fleet"], spec_dir) if isinstance(data.get("fleet"), Mapping) else None
    deploy = _deploy(spec)
    rules = spec.section("rules")
    dashboards = spec.section("dashboards")

    def packs_for(table: Mapping[str, str]) -> tuple[str, ...]:
        return _packs_for(exporters, receivers, table, deploy, fleet)

    return Stack(
        name=data["name"],
        listen=data.get("listen", default("listen")),
        language=data.get("language", default("language")),
        host_access=host_access,
        spec_dir=spec_dir,
        images=_images(spec),
        prometheus=_prometheus(spec),
        alertmanager=_alertmanager(spec, spec_dir),
        grafana=grafana,
        exporters=exporters,
        tracing=_tracing(spec),
        relay_port=spec.pick("relay", "port"),
        relay_timezone=spec.pick("relay", "timezone"),
        jobs=tuple(_job(job, local) for job in data.get("targets", [])),
        probes=tuple(_probe(probe, local) for probe in data.get("probes", [])),
        blackbox_modules=dict(spec.section("blackbox").get("modules", {})),
        rule_packs=_rule_packs(rules, packs_for),
        rule_groups=tuple(rules.get("groups", [])),
        rule_files=tuple(spec_dir / p for p in rules.get("files", [])),
        receivers=receivers,
        route=data.get("route"),
        inhibit_rules=tuple(data.get("inhibit_rules", [])),
        time_intervals=tuple(data.get("time_intervals", [])),
        dashboards=_dashboards(dashboards, grafana, packs_for),
        dashboard_files=tuple(spec_dir / p for p in dashboards.get("files", [])),
        spec_files=read_spec_files(data, spec_dir),
        fleet=fleet,
        web=web,
        deploy=deploy,
        docker_discovery=docker_discovery(spec.section("discovery").get("docker")),
        addons={str(role): spec.with_defaults(addon.settings) for role, addon in addon_roles().items()},
    )


def _images(spec: _Sections) -> Images:
    images = spec.section("images")
    return Images(
        registry=images.get("registry", ""),
        overrides={k: v for k, v in images.items() if k != "registry"},
    )


def _tracing(spec: _Sections) -> Tracing:
    return Tracing(
        enabled=spec.pick("tracing", "enabled"),
        jaeger_port=spec.pick("tracing", "jaeger_port"),
        otlp_grpc_port=spec.pick("tracing", "otlp_grpc_port"),
        otlp_http_port=spec.pick("tracing", "otlp_http_port"),
    )


def _rule_packs(
    rules: Mapping[str, Any], packs_for: Callable[[Mapping[str, str]], tuple[str, ...]]
) -> RulePacks:
    """rules.include, else the packs for what runs in the stack."""
    return RulePacks(
        include=tuple(rules["include"] if "include" in rules else packs_for(RULE_PACKS_FOR)),
        params=dict(rules.get("params", {})),
        disable=tuple(rules.get("disable", [])),
    )


def _dashboards(
    dashboards: Mapping[str, Any],
    grafana: GrafanaSettings,
    packs_for: Callable[[Mapping[str, str]], tuple[str, ...]],
) -> tuple[str, ...]:
    """dashboards.include, else those for what runs in the stack (none without Grafana)."""
    if "include" in dashboards:
        return tuple(dashboards["include"])
    return packs_for(DASHBOARDS_FOR) if grafana.enabled else ()


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
