"""The scrape job of `discovery.docker`: Prometheus lists the engine's containers, keeps the labelled ones.

Route: each container is scraped at its published port on the Docker host (host.docker.internal,
host-gateway). A compose project's network is isolated from the stack's (Docker drops traffic between
bridge networks), so a container's own address is unreachable; a published port is reachable from every
network, through the engine's port proxy, and stays so when the project is recreated. Joining the
projects' networks instead would need an apply for every new project: the point is that none is needed.

The relabelling below and `runtime/discovered.py` (which says, for `status` and `validate`, what
became of each labelled container) follow the same rules; tests hold them together.
"""

from __future__ import annotations

from typing import Any

from stackgen.model import HOST_GATEWAY_NAME, DockerDiscovery

JOB_NAME = "docker-discovery"
# Container labels, in order of precedence: stackgen's own, then the widespread prometheus.io ones.
SCRAPE_LABELS = ("io.stackgen.scrape", "prometheus.io/scrape")
PORT_LABELS = ("io.stackgen.port", "prometheus.io/port")
PATH_LABELS = ("io.stackgen.path", "prometheus.io/path")
SCHEME_LABELS = ("io.stackgen.scheme", "prometheus.io/scheme")
JOB_LABELS = ("io.stackgen.job",)
# Every service of a stackgen stack carries its role; those are scraped by their stack's own jobs.
STACK_ROLE_LABEL = "io.stackgen.role"
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
LOOPBACK_ONLY = r"127\..*|::1"


def meta(container_label: str) -> str:
    """The meta label docker_sd_configs gives a container label (`prometheus.io/port` ->
    `__meta_docker_container_label_prometheus_io_port`)."""
    sanitized = "".join(c if c.isalnum() or c == "_" else "_" for c in container_label)
    return f"__meta_docker_container_label_{sanitized}"


def docker_scrape_config(discovery: DockerDiscovery) -> dict[str, Any]:
    """The scrape job: docker_sd_configs and the relabelling that picks, reaches and names the targets."""
    return {
        "job_name": JOB_NAME,
        "docker_sd_configs": [{"host": discovery.host, "refresh_interval": discovery.refresh_interval}],
        "relabel_configs": relabel_configs(),
    }


def _last_wins(labels: tuple[str, ...], target: str, regex: str = "(.+)") -> list[dict[str, Any]]:
    """Copy the first of `labels` that is set into `target`: the lowest precedence is written first."""
    return [
        {"source_labels": [meta(label)], "regex": regex, "target_label": target} for label in reversed(labels)
    ]


def relabel_configs() -> list[dict[str, Any]]:
    """One target per container: its wanted port, published on the host; job and labels from compose."""
    return [
        # Labelled containers only, and not a stackgen stack's own services.
        {
            "source_labels": [meta(label) for label in SCRAPE_LABELS],
            "regex": "true;.*|.*;true",
            "action": "keep",
        },
        {"source_labels": [meta(STACK_ROLE_LABEL)], "regex": ".+", "action": "drop"},
        # Host networking: no ports listed; the service listens on the host at its port label.
        *_last_wins(PORT_LABELS, "__tmp_port"),
        {
            "source_labels": ["__meta_docker_container_network_mode", "__tmp_port"],
            "regex": "host;(.+)",
            "target_label": "__meta_docker_port_private",
        },
        {
            "source_labels": ["__meta_docker_container_network_mode", "__tmp_port"],
            "regex": "host;(.+)",
            "target_label": "__meta_docker_port_public",
        },
        # One row per (network, port): keep the port the labels name (any port when none does).
        {"source_labels": ["__meta_docker_port_private"], "target_label": "__tmp_wanted"},
        *_last_wins(PORT_LABELS, "__tmp_wanted"),
        {
            "source_labels": ["__meta_docker_port_private"],
            "target_label": "__tmp_wanted",
            "action": "keepequal",
        },  # Prometheus 2.41 and later
        # Reached through the host: published, and not on loopback only.
        {"source_labels": ["__meta_docker_port_public"], "regex": ".+", "action": "keep"},
        {"source_labels": ["__meta_docker_port_public_ip"], "regex": LOOPBACK_ONLY, "action": "drop"},
        {
            "source_labels": ["__meta_docker_port_public"],
            "target_label": "__address__",
            "replacement": f"{HOST_GATEWAY_NAME}:$1",
        },
        *_last_wins(PATH_LABELS, "__metrics_path__", "(/.*)"),
        *_last_wins(SCHEME_LABELS, "__scheme__", "(https?)"),
        # Names: the container (without Docker's leading slash), its compose project and service.
        {"source_labels": ["__meta_docker_container_name"], "regex": "/?(.+)", "target_label": "container"},
        {
            "source_labels": ["container", "__meta_docker_port_private"],
            "separator": ":",
            "target_label": "instance",
        },
        {"source_labels": [meta(COMPOSE_PROJECT)], "regex": "(.+)", "target_label": "compose_project"},
        {"source_labels": [meta(COMPOSE_SERVICE)], "regex": "(.+)", "target_label": "compose_service"},
        {"source_labels": ["container"], "target_label": "job"},
        *_last_wins((*JOB_LABELS, COMPOSE_SERVICE), "job"),
    ]
