"""blackbox.yml: the built-in probe modules plus the spec's own."""

from __future__ import annotations

from typing import Any

from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render.dump import yaml_bytes

BUILTIN_MODULES: dict[str, dict[str, Any]] = {
    "http_2xx": {"prober": "http", "timeout": "5s",
                 "http": {"preferred_ip_protocol": "ip4", "follow_redirects": True}},
    "http_post_2xx": {"prober": "http", "timeout": "5s", "http": {"method": "POST", "preferred_ip_protocol": "ip4"}},
    "tcp_connect": {"prober": "tcp", "timeout": "5s", "tcp": {"preferred_ip_protocol": "ip4"}},
    "icmp": {"prober": "icmp", "timeout": "5s", "icmp": {"preferred_ip_protocol": "ip4"}},
    "dns": {"prober": "dns", "timeout": "5s",
            "dns": {"query_name": ".", "query_type": "NS", "preferred_ip_protocol": "ip4"}},
}


def render_blackbox(stack: Stack) -> dict[str, RenderedFile]:
    """blackbox/blackbox.yml; the spec's modules override built-ins of the same name."""
    modules = {**BUILTIN_MODULES, **{name: dict(module) for name, module in stack.blackbox_modules.items()}}
    return {"blackbox/blackbox.yml": RenderedFile(yaml_bytes({"modules": modules}))}
