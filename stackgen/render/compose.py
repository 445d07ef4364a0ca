"""docker-compose.yml: the containers, their mounts, ports, healthchecks and labels.

The same file is what `stackgen apply` converges and what `docker compose` can run by hand. Config is
mounted as read-only DIRECTORIES: a single-file bind mount keeps pointing at the old inode once a file
is replaced by rename, and Prometheus would then reload the old file.
"""

from __future__ import annotations

from typing import Any

from stackgen import __version__
from stackgen.model import HOST_GATEWAY_NAME, Stack
from stackgen.output import RenderedFile
from stackgen.render import addons
from stackgen.render.dump import yaml_bytes
from stackgen.render.prometheus import config_file_name
from stackgen.render.relay import RELAY_CONFIG_DIR
from stackgen.render.topology import (
    ALERTMANAGER_CLUSTER_PORT,
    SECRETS_MOUNT,
    Service,
    by_role,
    public_url,
    services,
)
from stackgen.render.web import (
    grafana_environment,
    mounts_web_secrets,
    published_address,
    python_test,
    web_config_flags,
    wget_test,
)
from stackgen.roles import ROLE_LABEL, facts

BUILD_BASE_LABEL = "io.stackgen.build-base"
RELAY_IMAGE = f"stackgen/relay:{__version__}"
# Prometheus's notifier learns its Alertmanagers from a discovery manager that passes updates on every
# 5 s at most, so the first evaluations of a (re)started Prometheus find none: their alerts are dropped,
# not queued (prometheus#10457), and sent again only after this delay (upstream default 1m). Resending
# more often costs Alertmanager nothing (it deduplicates) and bounds that gap by the 5 s. Prometheus
# marks each sent alert valid for 4 x max(this, evaluation_interval).
ALERT_RESEND_DELAY = "5s"


def compose_services(stack: Stack) -> dict[str, dict[str, Any]]:
    """Each compose service's definition by name (what docker-compose.yml lists, and what the swarm
    renderer converts)."""
    builders = {
        "prometheus": _prometheus,
        "alertmanager": _alertmanager,
        "grafana": _grafana,
        "node-exporter": _node_exporter,
        "cadvisor": _cadvisor,
        "blackbox-exporter": _blackbox,
        "pushgateway": _pushgateway,
        "relay": _relay,
        "jaeger": _jaeger,
        "otel-collector": _otel_collector,
    }
    service_configs: dict[str, dict[str, Any]] = {}
    for service in services(stack):
        config = addons.compose_service(stack, service) or builders[service.role](stack, service)
        config.setdefault("restart", "unless-stopped")
        config["labels"] = {ROLE_LABEL: service.role, **config.get("labels", {})}
        service_configs[service.name] = _ordered(config)
    return service_configs


def named_volumes(service_configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The named volumes the services mount (top-level `volumes:`)."""
    volumes: dict[str, Any] = {}
    for config in service_configs.values():
        for mount in config.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                volumes[source] = {}
    return volumes


def render_compose(stack: Stack) -> dict[str, RenderedFile]:
    """docker-compose.yml and the .env that gives `docker compose` the project name."""
    service_configs = compose_services(stack)
    volumes = named_volumes(service_configs)
    document: dict[str, Any] = {
        "x-stackgen": {"project": stack.name, "generated_by": f"stackgen {__version__}"},
        "services": service_configs,
        "networks": {"default": {}},
    }
    if volumes:
        document["volumes"] = volumes
    return {
        "docker-compose.yml": RenderedFile(yaml_bytes(document)),
        # docker compose reads .env beside the file: `docker compose ps` then finds the stack by name.
        ".env": RenderedFile(f"COMPOSE_PROJECT_NAME={stack.name}\n".encode()),
    }


_KEY_ORDER = (
    "image",
    "command",
    "environment",
    "user",
    "group_add",
    "volumes",
    "ports",
    "extra_hosts",
    "depends_on",
    "healthcheck",
    "restart",
    "labels",
)


def _ordered(config: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: config[key] for key in _KEY_ORDER if key in config}
    ordered.update({key: value for key, value in config.items() if key not in ordered})
    return ordered


def port_binding(stack: Stack, host_port: int, container_port: int, role: str | None = None) -> str:
    """`LISTEN:HOST_PORT:CONTAINER_PORT`; a role that takes a web config may be published beyond the
    stack's listen address (render/web.py decides), one without only on `listen`."""
    address = published_address(stack, role) if role else stack.listen
    listen = f"[{address}]" if ":" in address else address
    return f"{listen}:{host_port}:{container_port}"


def http_healthcheck(
    stack: Stack, port: int, path: str, interval: str = "10s", authenticated: bool = True, web: bool = True
) -> dict[str, Any]:
    """A busybox-wget healthcheck of PATH on the container's own PORT (`web`: through its web config,
    with the internal user's header when `authenticated`)."""
    test = (
        wget_test(stack, port, path, authenticated)
        if web
        else ["CMD", "wget", "-q", "-O", "/dev/null", f"http://localhost:{port}{path}"]
    )
    return {"test": test, "interval": interval, "timeout": "5s", "retries": 5, "start_period": "20s"}


def _healthcheck(
    stack: Stack, service: Service, interval: str = "10s", authenticated: bool = True, web: bool = True
) -> dict[str, Any]:
    """http_healthcheck of the role's health path (its metrics path when it has none)."""
    return http_healthcheck(stack, service.port, _health_path(service), interval, authenticated, web)


def _health_path(service: Service) -> str:
    entry = facts(service.role)
    path = entry.health_path or entry.metrics_path
    if path is None:
        raise ValueError(f"{service.role} has neither a health path nor a metrics path")
    return path


def data_volume(service: Service) -> str:
    """`NAME-data:DIR`: the named volume holding what the service keeps (its registry data dir)."""
    return f"{service.name}-data:{_data_dir(service)}"


def _data_dir(service: Service) -> str:
    data_dir = facts(service.role).data_dir
    if data_dir is None:
        raise ValueError(f"{service.role} keeps no data")
    return data_dir


def _web_secrets(stack: Stack, role: str) -> list[str]:
    """The secrets mount of a role that has none but its web config, certificate and key."""
    return [_secrets_mount(role)] if mounts_web_secrets(stack, role) else []


def _host_gateway(stack: Stack, always: bool = False) -> dict[str, list[str]]:
    """host.docker.internal for containers that reach the host: targets, probes, local webhooks (and, for
    Prometheus, the published ports of discovered containers)."""
    wanted = always or stack.host_access == "auto"
    return {"extra_hosts": [f"{HOST_GATEWAY_NAME}:host-gateway"]} if wanted else {}


def _docker_socket_mount(stack: Stack) -> list[str]:
    """The engine socket for docker discovery, read-only.

    Read-only is the file, not the API: whoever can write to the socket can run any container as
    root. The README says so, and how to put a filtering proxy in front (`discovery.docker.host: tcp://`).
    """
    discovery = stack.docker_discovery
    if discovery is None or discovery.socket is None:
        return []
    return [f"{discovery.socket}:{discovery.socket}:ro"]


def _docker_socket_group(stack: Stack) -> dict[str, Any]:
    """Prometheus runs as nobody: it joins the socket's group (prometheus#8185), nothing more."""
    discovery = stack.docker_discovery
    if discovery is None or discovery.socket is None or discovery.socket_group is None:
        return {}
    return {"group_add": [str(discovery.socket_group)]}


def _secrets_mount(service: str) -> str:
    return f"./secrets/{service}:{SECRETS_MOUNT}:ro"


def _prometheus(stack: Stack, service: Service) -> dict[str, Any]:
    settings = stack.prometheus
    offset = (service.replica or 1) - 1
    # Links in alerts (generatorURL) must open from a browser, not point at the container's hostname.
    external_url = settings.external_url or public_url(stack, settings.port + offset)
    command = [
        f"--config.file=/etc/prometheus/{config_file_name(service)}",
        f"--storage.tsdb.path={_data_dir(service)}",
        f"--storage.tsdb.retention.time={settings.retention}",
        "--web.enable-lifecycle",
        f"--web.listen-address=:{service.port}",
        f"--web.external-url={external_url}",
        *_root_routes(external_url, settings.extra_args),
        *web_config_flags(stack),
    ]
    if not _flag_given(settings.extra_args, "--rules.alert.resend-delay"):
        command.append(f"--rules.alert.resend-delay={ALERT_RESEND_DELAY}")
    if settings.retention_size:
        command.append(f"--storage.tsdb.retention.size={settings.retention_size}")
    if stack.tracing.enabled and not _feature_enabled(settings.extra_args, "exemplar-storage"):
        # The collector's span metrics carry trace ids as exemplars; without the feature Prometheus
        # drops them and Grafana's "view trace" link never shows.
        command.append("--enable-feature=exemplar-storage")
    command += list(settings.extra_args)
    config: dict[str, Any] = {
        "image": stack.images.image_for(service.role),
        "command": command,
        "volumes": [
            "./prometheus:/etc/prometheus:ro",
            _secrets_mount("prometheus"),
            data_volume(service),
            *_docker_socket_mount(stack),
        ],
        "ports": [port_binding(stack, settings.port + offset, service.port)],
        **_host_gateway(stack, always=stack.docker_discovery is not None),
        **_docker_socket_group(stack),
        # An alert sent before Alertmanager listens is dropped and only resent after the resend delay.
        **_healthy_first(by_role(stack, "alertmanager")),
        # ready, not just healthy: Prometheus answers queries (503 before) only once its TSDB is loaded
        "healthcheck": _healthcheck(stack, service),
    }
    return config


def _healthy_first(services: list[Service]) -> dict[str, Any]:
    """depends_on in the long form: start only once these are healthy (as `apply` does for any dependency)."""
    if not services:
        return {}
    return {"depends_on": {service.name: {"condition": "service_healthy"} for service in services}}


def _root_routes(external_url: str | None, extra_args: tuple[str, ...] | list[str]) -> list[str]:
    """Serve at / inside the stack when the external URL has a path (https://example.com/prom).

    Prometheus and Alertmanager otherwise move every route under that path, where the healthcheck,
    the reloads, the stack's own scrapes and Grafana's datasource do not look; the proxy in front
    strips the path (nginx: `location /prom/ { proxy_pass http://127.0.0.1:9090/; }`).
    """
    from urllib.parse import urlsplit

    path = urlsplit(external_url).path if external_url else ""
    if path.strip("/") and not _flag_given(extra_args, "--web.route-prefix"):
        return ["--web.route-prefix=/"]
    return []


def _flag_given(args: tuple[str, ...] | list[str], flag: str) -> bool:
    """True when `args` set `flag` (`--flag=value` or `--flag value`): Prometheus refuses a repeat."""
    return any(arg == flag or arg.startswith(flag + "=") for arg in args)


def _feature_enabled(args: tuple[str, ...] | list[str], feature: str) -> bool:
    """True when `--enable-feature=a,b` flags among `args` already name `feature`."""
    prefix = "--enable-feature="
    return any(feature in arg[len(prefix) :].split(",") for arg in args if arg.startswith(prefix))


def _alertmanager(stack: Stack, service: Service) -> dict[str, Any]:
    settings = stack.alertmanager
    offset = (service.replica or 1) - 1
    command = [
        "--config.file=/etc/alertmanager/alertmanager.yml",
        f"--storage.path={_data_dir(service)}",
        f"--web.listen-address=:{service.port}",
        f"--web.external-url={settings.external_url or public_url(stack, settings.port + offset)}",
        *_root_routes(settings.external_url, ()),
        *web_config_flags(stack),
    ]
    members = by_role(stack, "alertmanager")
    if len(members) == 1:
        # A lone Alertmanager with gossip on waits for peers that never come and delays the first
        # notification; an empty listen address turns clustering off.
        command.append("--cluster.listen-address=")
    else:
        command.append(f"--cluster.listen-address=0.0.0.0:{ALERTMANAGER_CLUSTER_PORT}")
        command += [
            f"--cluster.peer={peer.name}:{ALERTMANAGER_CLUSTER_PORT}" for peer in members if peer != service
        ]
    return {
        "image": stack.images.image_for(service.role),
        "command": command,
        "volumes": [
            "./alertmanager:/etc/alertmanager:ro",
            _secrets_mount("alertmanager"),
            data_volume(service),
        ],
        "ports": [port_binding(stack, settings.port + offset, service.port)],
        **_host_gateway(stack),
        "healthcheck": _healthcheck(stack, service),
    }


def _grafana(stack: Stack, service: Service) -> dict[str, Any]:
    settings = stack.grafana
    environment = {
        "GF_SECURITY_ADMIN_USER": settings.admin_user,
        "GF_SECURITY_ADMIN_PASSWORD__FILE": f"{SECRETS_MOUNT}/admin_password",
        "GF_USERS_ALLOW_SIGN_UP": "false",
        "GF_AUTH_ANONYMOUS_ENABLED": "true" if settings.anonymous else "false",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",
        "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        "GF_NEWS_NEWS_FEED_ENABLED": "false",
    }
    if settings.anonymous:
        environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] = "Viewer"
    if settings.root_url:
        environment["GF_SERVER_ROOT_URL"] = settings.root_url
    environment.update(grafana_environment(stack))
    return {
        "image": stack.images.image_for(service.role),
        "environment": environment,
        "volumes": [
            "./grafana/provisioning:/etc/grafana/provisioning:ro",
            "./grafana/dashboards:/etc/grafana/dashboards:ro",
            _secrets_mount("grafana"),
            data_volume(service),
        ],
        "ports": [port_binding(stack, settings.port, service.port)],
        **_healthy_first([by_role(stack, "prometheus")[0]]),
        "healthcheck": _healthcheck(stack, service, authenticated=False),
    }


def _published(stack: Stack, port: int | None, service: Service) -> dict[str, Any]:
    """The service's port published on `port` (none when the spec publishes it nowhere)."""
    return {"ports": [port_binding(stack, port, service.port, service.role)]} if port else {}


def _node_exporter(stack: Stack, service: Service) -> dict[str, Any]:
    return {
        "image": stack.images.image_for(service.role),
        # The systemd collector needs the host's D-Bus; off here as in upstream's default.
        "command": [
            "--path.rootfs=/host",
            "--no-collector.systemd",
            f"--web.listen-address=:{service.port}",
            *web_config_flags(stack),
        ],
        "volumes": ["/:/host:ro", *_web_secrets(stack, "node-exporter")],
        "pid": "host",
        **_published(stack, stack.exporters.node.port, service),
        "healthcheck": _healthcheck(stack, service, "30s"),
    }


def _cadvisor(stack: Stack, service: Service) -> dict[str, Any]:
    return {
        "image": stack.images.image_for(service.role),
        "command": ["--docker_only=true", "--housekeeping_interval=15s"],
        "volumes": [
            "/:/rootfs:ro",
            "/var/run:/var/run:ro",
            "/sys:/sys:ro",
            "/var/lib/docker:/var/lib/docker:ro",
            "/dev/disk:/dev/disk:ro",
        ],
        "privileged": True,
        "devices": ["/dev/kmsg"],
        **_published(stack, stack.exporters.cadvisor.port, service),
        # cAdvisor has no web config: plain HTTP inside the stack
        "healthcheck": _healthcheck(stack, service, "30s", web=False),
    }


def _blackbox(stack: Stack, service: Service) -> dict[str, Any]:
    config: dict[str, Any] = {
        "image": stack.images.image_for(service.role),
        "command": [
            "--config.file=/etc/blackbox_exporter/blackbox.yml",
            f"--web.listen-address=:{service.port}",
            *web_config_flags(stack),
        ],
        "volumes": ["./blackbox:/etc/blackbox_exporter:ro", _secrets_mount("blackbox-exporter")],
        **_published(stack, stack.exporters.blackbox.port, service),
        **_host_gateway(stack),
        "healthcheck": _healthcheck(stack, service, "30s"),
    }
    return config


def _pushgateway(stack: Stack, service: Service) -> dict[str, Any]:
    return {
        "image": stack.images.image_for(service.role),
        "command": [
            f"--web.listen-address=:{service.port}",
            f"--persistence.file={_data_dir(service)}/pushgateway.data",
            "--persistence.interval=1m",
            *web_config_flags(stack),
        ],
        "volumes": [data_volume(service), *_web_secrets(stack, "pushgateway")],
        **_published(stack, stack.exporters.pushgateway.port, service),
        # alive, not ready: readiness (the registry's health path, what apply waits for) follows the
        # persistence file's load
        "healthcheck": http_healthcheck(stack, service.port, "/-/healthy", "30s"),
    }


def _relay(stack: Stack, service: Service) -> dict[str, Any]:
    return {
        # Built locally from the installed stackgen by `apply`; no image of ours is on any registry.
        "image": RELAY_IMAGE,
        "volumes": [f"./relay:{RELAY_CONFIG_DIR}:ro", _secrets_mount("relay")],
        **_published(stack, stack.relay_port, service),
        **_host_gateway(stack),
        "healthcheck": {
            "test": python_test(stack, service.port, _health_path(service)),
            "interval": "10s",
            "timeout": "5s",
            "retries": 5,
            "start_period": "10s",
        },
        "labels": {BUILD_BASE_LABEL: stack.images.image_for("relay-base")},
    }


def _jaeger(stack: Stack, service: Service) -> dict[str, Any]:
    # No healthcheck: the image has no shell or HTTP client to run one with.
    return {
        "image": stack.images.image_for(service.role),
        "ports": [port_binding(stack, stack.tracing.jaeger_port, service.port, service.role)],
    }


def _otel_collector(stack: Stack, service: Service) -> dict[str, Any]:
    return {
        "image": stack.images.image_for(service.role),
        "command": ["--config=/etc/otelcol/config.yml"],
        "volumes": ["./otel-collector:/etc/otelcol:ro"],
        "ports": [
            port_binding(stack, stack.tracing.otlp_grpc_port, 4317, "otel-collector"),
            port_binding(stack, stack.tracing.otlp_http_port, 4318, "otel-collector"),
        ],
        "depends_on": ["jaeger"],
    }
