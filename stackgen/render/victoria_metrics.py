"""The built-in VictoriaMetrics single-node server: an add-on role (long-term storage).

`victoria_metrics: {enabled, port, retention}` runs it; every Prometheus replica remote-writes every
sample to it, Grafana gets it as a second datasource, and Prometheus scrapes it like any role with a
metrics path (roles.py). It asks for no password, so its port stays on loopback when the stack is
published beyond this machine; inside the stack it is plain HTTP on the stack network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackgen.model import Stack
from stackgen.render.addons import AddonRenderer
from stackgen.render.compose import data_volume, http_healthcheck, port_binding
from stackgen.render.topology import Service
from stackgen.roles import REGISTRY, Role

_FACTS = REGISTRY[Role.VICTORIA_METRICS]


def _compose_service(stack: Stack, service: Service, settings: Mapping[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "image": stack.images.image_for(service.role),
        "command": [
            f"-storageDataPath={_FACTS.data_dir}",
            f"-retentionPeriod={settings['retention']}",
            f"-httpListenAddr=:{service.port}",
        ],
        "volumes": [data_volume(service)],
        # it asks for no password (roles.py: web None): published on loopback whatever `listen` says
        "ports": [port_binding(stack, settings["port"], service.port, service.role)],
        "healthcheck": http_healthcheck(stack, service.port, str(_FACTS.health_path), "30s", web=False),
    }
    return config


def _remote_write(stack: Stack, service: Service, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"url": f"http://{service.address}/api/v1/write"}]


def _datasources(stack: Stack, service: Service, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    # the same series as Prometheus', kept for longer
    return [
        {
            "name": "VictoriaMetrics",
            "type": "prometheus",
            "uid": service.name,
            "access": "proxy",
            "url": f"http://{service.address}",
            "editable": False,
            "jsonData": {"httpMethod": "POST", "timeInterval": stack.prometheus.scrape_interval},
        }
    ]


RENDERER = AddonRenderer(_compose_service, _remote_write, _datasources)
