"""Grafana provisioning: datasources, the dashboard provider, and the dashboards themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render import addons
from stackgen.render.dump import json_bytes, yaml_bytes
from stackgen.render.secrets import SecretFiles, generated_secret
from stackgen.render.topology import by_role, slug
from stackgen.roles import GRAFANA_ADMIN_PASSWORD_FILE

if TYPE_CHECKING:
    from stackgen.render.web import WebClient

DASHBOARDS_MOUNT = "/etc/grafana/dashboards"
ADMIN_PASSWORD_FILE = GRAFANA_ADMIN_PASSWORD_FILE


def render_grafana(
    stack: Stack, existing_secrets: dict[str, bytes], client: WebClient | None = None
) -> dict[str, RenderedFile]:
    """Everything under grafana/ and Grafana's admin password (generated once, then kept)."""
    secrets = SecretFiles("grafana")
    password = stack.grafana.admin_password or generated_secret(existing_secrets, ADMIN_PASSWORD_FILE)
    secrets.put("admin_password", password)
    files = {
        "grafana/provisioning/datasources/stackgen.yml": RenderedFile(yaml_bytes(datasources(stack, client))),
        "grafana/provisioning/dashboards/stackgen.yml": RenderedFile(yaml_bytes(dashboard_provider())),
    }
    for name, dashboard in dashboards(stack).items():
        files[f"grafana/dashboards/{name}.json"] = RenderedFile(json_bytes(dashboard))
    files.update(secrets.files)
    return files


def datasources(stack: Stack, client: WebClient | None = None) -> dict[str, Any]:
    prometheus = by_role(stack, "prometheus")[0]
    alertmanager = by_role(stack, "alertmanager")[0]
    scheme = client.scheme if client else "http"
    prometheus_json: dict[str, Any] = {"httpMethod": "POST", "timeInterval": stack.prometheus.scrape_interval}
    sources: list[dict[str, Any]] = [
        {
            "name": "Prometheus",
            "type": "prometheus",
            "uid": "prometheus",
            "access": "proxy",
            "url": f"{scheme}://{prometheus.address}",
            "isDefault": True,
            "editable": False,
            "jsonData": prometheus_json,
        },
        {
            "name": "Alertmanager",
            "type": "alertmanager",
            "uid": "alertmanager",
            "access": "proxy",
            "url": f"{scheme}://{alertmanager.address}",
            "editable": False,
            "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
        },
    ]
    if client:
        for source in sources:
            _with_credentials(source, client)
    sources += addons.grafana_datasources(stack)  # e.g. the built-in long-term storage
    if stack.tracing.enabled:
        # Exemplars carry trace ids: link them from Prometheus panels to the trace in Jaeger.
        prometheus_json["exemplarTraceIdDestinations"] = [{"name": "trace_id", "datasourceUid": "jaeger"}]
        sources.append(
            {
                "name": "Jaeger",
                "type": "jaeger",
                "uid": "jaeger",
                "access": "proxy",
                "url": f"http://{by_role(stack, 'jaeger')[0].address}",
                "editable": False,
                "jsonData": {},
            }
        )
    return {"apiVersion": 1, "datasources": sources}


def _with_credentials(source: dict[str, Any], client: WebClient) -> None:
    """A datasource to a web-configured endpoint: the internal user and the CA, read from files by
    Grafana's provisioning ($__file{}), never written into this file."""
    secure: dict[str, str] = {}
    if client.username:
        source["basicAuth"] = True
        source["basicAuthUser"] = client.username
        secure["basicAuthPassword"] = f"$__file{{{client.password_file}}}"
    if client.scheme == "https":
        source["jsonData"]["tlsAuthWithCACert"] = True
        source["jsonData"]["serverName"] = source["url"].split("://", 1)[1].rsplit(":", 1)[0]
        secure["tlsCACert"] = f"$__file{{{client.ca_file}}}"
    source["secureJsonData"] = secure


def dashboard_provider() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "stackgen",
                "orgId": 1,
                "folder": "stackgen",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_MOUNT},
            }
        ],
    }


def dashboards(stack: Stack) -> dict[str, dict[str, Any]]:
    """Shipped dashboards by name, then the spec's own dashboard files (read as JSON, kept as they are)."""
    found: dict[str, dict[str, Any]] = {}
    if stack.dashboards:
        from stackgen.content.dashboards import build

        found.update((name, build(name)) for name in stack.dashboards)
    for path in stack.dashboard_files:
        found[f"user-{slug(Path(path).stem)}"] = json.loads(stack.read(path).decode("utf-8"))
    return found
