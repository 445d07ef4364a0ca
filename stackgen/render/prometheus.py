"""prometheus.yml (one per replica), rule group files and file_sd target files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stackgen.model import Job, Probe, Stack
from stackgen.output import RenderedFile
from stackgen.render import addons
from stackgen.render.docker_discovery import docker_scrape_config
from stackgen.render.dump import json_bytes, yaml_bytes
from stackgen.render.engines import PER_NODE_ROLES, engine_renderer
from stackgen.render.rules import RULE_DIRS
from stackgen.render.secrets import SecretFiles, tls_files
from stackgen.render.topology import Service, by_role, services, slug
from stackgen.render.tracing import SPANMETRICS_PORT
from stackgen.roles import REGISTRY, Role

if TYPE_CHECKING:
    from stackgen.render.web import WebClient

TARGETS_DIR = "targets"
# Roles whose own metrics the stack scrapes, with the path they serve them on.
SELF_SCRAPED = {str(role): entry.metrics_path for role, entry in REGISTRY.items() if entry.metrics_path}

# probes go through the one blackbox exporter
_BLACKBOX = Service(str(Role.BLACKBOX_EXPORTER), str(Role.BLACKBOX_EXPORTER))


def render_prometheus(
    stack: Stack, web: WebClient | None = None, extra_jobs: tuple[Mapping[str, Any], ...] = ()
) -> dict[str, RenderedFile]:
    """prometheus.yml and file_sd target files (paths relative to the output dir), plus secrets.

    `web`: how Prometheus reaches the stack's web-configured endpoints (None: plain HTTP);
    `extra_jobs`: scrape configs an adapter adds (the fleet's job), after the user's jobs."""
    secrets = SecretFiles("prometheus", stack=stack)
    scrape_configs = self_scrape_configs(stack, web) + [job_config(job, secrets) for job in stack.jobs]
    scrape_configs += [dict(job) for job in extra_jobs]
    scrape_configs += [probe_config(probe, web) for probe in stack.probes]
    if stack.docker_discovery is not None:
        scrape_configs.append(docker_scrape_config(stack.docker_discovery))
    files: dict[str, RenderedFile] = {}
    replicas = by_role(stack, "prometheus")
    for replica in replicas:
        config = {
            "global": global_config(stack, replica),
            "rule_files": [f"{directory}/*.yml" for directory in RULE_DIRS.values()],
            "alerting": alerting_config(stack, web),
            "scrape_configs": scrape_configs,
        }
        remote_write = [
            remote_write_config(index, entry, secrets)
            for index, entry in enumerate(stack.prometheus.remote_write)
        ]
        remote_write += addons.remote_write(stack)  # e.g. the built-in long-term storage
        if remote_write:
            config["remote_write"] = remote_write
        files[f"prometheus/{config_file_name(replica)}"] = RenderedFile(yaml_bytes(config))
    for job in stack.jobs:
        if job.consul is None and job.dns is None:
            files[f"prometheus/{TARGETS_DIR}/{slug(job.name)}.json"] = RenderedFile(
                json_bytes([{"targets": list(job.targets), "labels": dict(job.labels)}])
            )
    for probe in stack.probes:
        files[f"prometheus/{TARGETS_DIR}/{probe_file_stem(probe)}.json"] = RenderedFile(
            json_bytes([{"targets": list(probe.targets), "labels": dict(probe.labels)}])
        )
    files.update(secrets.files)
    return files


def config_file_name(replica: Service) -> str:
    """prometheus.yml, or prometheus-N.yml for the replicas of an HA set."""
    return "prometheus.yml" if replica.replica is None else f"{replica.name}.yml"


def probe_file_stem(probe: Probe) -> str:
    """Probes have a folder of their own: a job called `probes` or `probe-x` cannot take their file."""
    return f"probes/{slug(probe.name)}"


def global_config(stack: Stack, replica: Service) -> dict[str, Any]:
    settings = stack.prometheus
    labels = dict(settings.external_labels)
    if replica.replica is not None:
        labels["replica"] = replica.name
    config: dict[str, Any] = {
        "scrape_interval": settings.scrape_interval,
        "scrape_timeout": _timeout_within(settings.scrape_timeout, settings.scrape_interval),
        "evaluation_interval": settings.evaluation_interval,
    }
    if labels:
        config["external_labels"] = labels
    return config


def _timeout_within(timeout: str, interval: str) -> str:
    from stackgen.spec.meaning_common import duration_seconds

    t, i = duration_seconds(timeout), duration_seconds(interval)
    return interval if t is not None and i is not None and t > i else timeout


def alerting_config(stack: Stack, web: WebClient | None = None) -> dict[str, Any]:
    alertmanagers: dict[str, Any] = {
        **(web.scrape_config() if web else {}),
        "static_configs": [{"targets": [s.address for s in by_role(stack, "alertmanager")]}],
    }
    config: dict[str, Any] = {"alertmanagers": [alertmanagers]}
    if stack.prometheus.replicas > 1:
        # Both replicas fire the same alert; without their replica label the alerts are identical and
        # Alertmanager deduplicates them into one notification.
        config["alert_relabel_configs"] = [{"action": "labeldrop", "regex": "replica"}]
    return config


def self_scrape_configs(stack: Stack, web: WebClient | None = None) -> list[dict[str, Any]]:
    """The stack watches itself: one job per role that serves metrics (with the web client's
    credentials where the role has a web config)."""
    from stackgen.render.web import WEB_CONFIG_ROLES

    grouped: dict[str, list[Service]] = {}
    for service in services(stack):
        if service.role in SELF_SCRAPED:
            grouped.setdefault(service.role, []).append(service)
    configs = []
    for role, members in grouped.items():
        config: dict[str, Any] = {"job_name": role}
        if role == "pushgateway":
            config["honor_labels"] = True  # keep the job/instance labels that batch jobs pushed
        if SELF_SCRAPED[role] != "/metrics":
            config["metrics_path"] = SELF_SCRAPED[role]
        if web and role in WEB_CONFIG_ROLES:
            config.update(web.scrape_config())
        elif web and role == "grafana" and web.scheme == "https":
            config.update({"scheme": "https", "tls_config": {"ca_file": web.ca_file}})
        if role in PER_NODE_ROLES:
            config.update(engine_renderer(stack).per_node_targets(stack, role, members[0].port))
            configs.append(config)
            continue
        addresses = [member.address for member in members]
        if role == "otel-collector":
            addresses.append(f"{members[0].name}:{SPANMETRICS_PORT}")  # span metrics from traces
        config["static_configs"] = [{"targets": addresses}]
        configs.append(config)
    return configs


def job_config(job: Job, secrets: SecretFiles) -> dict[str, Any]:
    """A user's scrape job; static targets go to a file_sd file so that editing them needs no reload."""
    config: dict[str, Any] = {"job_name": job.name}
    for key in ("scrape_interval", "scrape_timeout", "honor_labels", "sample_limit"):
        value = getattr(job, key)
        if value is not None:
            config[key] = value
    if job.metrics_path != "/metrics":
        config["metrics_path"] = job.metrics_path
    if job.scheme != "http":
        config["scheme"] = job.scheme
    if job.params:
        config["params"] = {key: list(values) for key, values in job.params.items()}
    _http_client(config, job.basic_auth, job.bearer_token, job.tls_config, f"job-{job.name}", secrets)
    if job.consul is not None:
        consul: dict[str, Any] = {"server": job.consul["server"]}
        for key in ("services", "tags", "datacenter", "scheme"):
            if key in job.consul:
                consul[key] = job.consul[key]
        if "token" in job.consul:
            consul["authorization"] = {
                "credentials_file": secrets.put(f"consul-{job.name}.token", job.consul["token"])
            }
        config["consul_sd_configs"] = [consul]
        if job.labels:
            config["relabel_configs"] = _static_labels(job.labels)
    elif job.dns is not None:
        dns: dict[str, Any] = {"names": list(job.dns["names"]), "type": job.dns.get("type", "SRV")}
        for key in ("port", "refresh_interval"):
            if key in job.dns:
                dns[key] = job.dns[key]
        config["dns_sd_configs"] = [dns]
        if job.labels:
            config["relabel_configs"] = _static_labels(job.labels)
    else:
        config["file_sd_configs"] = [{"files": [f"{TARGETS_DIR}/{slug(job.name)}.json"]}]
    if job.relabel_configs:
        config["relabel_configs"] = [*config.get("relabel_configs", []), *job.relabel_configs]
    if job.metric_relabel_configs:
        config["metric_relabel_configs"] = list(job.metric_relabel_configs)
    return config


def _static_labels(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"target_label": name, "replacement": value} for name, value in labels.items()]


def _http_client(
    config: dict[str, Any],
    basic_auth: Mapping[str, str] | None,
    bearer_token: str | None,
    tls_config: Mapping[str, Any] | None,
    name: str,
    secrets: SecretFiles,
) -> None:
    if basic_auth:
        config["basic_auth"] = {
            "username": basic_auth["username"],
            "password_file": secrets.put(f"{name}.password", basic_auth["password"]),
        }
    if bearer_token:
        config["authorization"] = {"credentials_file": secrets.put(f"{name}.token", bearer_token)}
    if tls_config:
        config["tls_config"] = tls_files(tls_config, name, secrets)


def probe_config(probe: Probe, web: WebClient | None = None) -> dict[str, Any]:
    """A blackbox probe job: the target becomes the `target` parameter and the instance label."""
    config: dict[str, Any] = {
        "job_name": probe.name,
        "metrics_path": "/probe",
        "params": {"module": [probe.module]},
    }
    if web:
        config.update(web.scrape_config())
    if probe.interval:
        config["scrape_interval"] = probe.interval
    if probe.timeout:
        config["scrape_timeout"] = probe.timeout
    config["file_sd_configs"] = [{"files": [f"{TARGETS_DIR}/{probe_file_stem(probe)}.json"]}]
    config["relabel_configs"] = [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": _BLACKBOX.address},
    ]
    return config


def remote_write_config(index: int, entry: Mapping[str, Any], secrets: SecretFiles) -> dict[str, Any]:
    config: dict[str, Any] = {"url": entry["url"]}
    if "name" in entry:
        config["name"] = entry["name"]
    _http_client(
        config,
        entry.get("basic_auth"),
        entry.get("bearer_token"),
        entry.get("tls_config"),
        f"remote-write-{entry.get('name', index)}",
        secrets,
    )
    for key in ("headers", "write_relabel_configs", "queue_config"):
        if key in entry:
            config[key] = entry[key]
    return config
