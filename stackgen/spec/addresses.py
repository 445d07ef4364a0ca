"""Scrape and probe targets that Prometheus or blackbox-exporter accept in a file but can never reach.

Prometheus takes any string as `__address__`: one with a path is dropped at relabelling ("is not a
valid hostname"), one with a space or port 99999 is kept and fails every scrape. Each is an error here,
with what to write instead.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?$")  # IPv4 addresses too
# The common case, checked in one match (validate reads 10k targets in a few milliseconds).
_NAME_AND_PORT = re.compile(rf"^(?=.{{1,253}}:){_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?:(?P<port>[0-9]{{1,5}})$")
# Blackbox probers of the built-in modules (custom ones name theirs under blackbox.modules).
BUILTIN_PROBERS = {
    "http_2xx": "http",
    "http_post_2xx": "http",
    "http_any": "http",
    "tcp_connect": "tcp",
    "icmp": "icmp",
    "dns": "dns",
}


@dataclass(frozen=True)
class AddressProblem:
    """Why an address cannot work, and what to write instead."""

    message: str
    hint: str | None = None


def scrape_target_problem(target: str) -> AddressProblem | None:
    """What is wrong with a static scrape target (host:port), or None."""
    if "://" in target:
        return AddressProblem(
            f"a scrape target is host:port, not a URL: {target!r}",
            "put the path in metrics_path and the scheme in scheme; URLs to check go in probes",
        )
    address, slash, path = target.partition("/")
    if slash:
        return AddressProblem(
            f"a scrape target is host:port, without a path: Prometheus drops {target!r}",
            f"write {address!r} and `metrics_path: /{path}` on the job",
        )
    return host_port_problem(target, port_required=False)


def host_port_problem(target: str, port_required: bool) -> AddressProblem | None:
    """host:port, [IPv6]:port, or (unless `port_required`) a bare host."""
    quick = _NAME_AND_PORT.match(target)
    if quick and 1 <= int(quick.group("port")) <= 65535:
        return None
    if not target.strip():
        return AddressProblem("an empty address")
    if any(character.isspace() for character in target):
        return AddressProblem(
            f"{target!r} has a space in it: no host is called that", "write host:port, e.g. 'api:8080'"
        )
    if target.startswith("["):
        host, bracket, rest = target[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return AddressProblem(f"{target!r} is not [IPv6]:port", "e.g. '[2001:db8::1]:9100'")
        port = rest[1:] if rest else None
        if not _is_ip(host, version=6):
            return AddressProblem(f"{host!r} is not an IPv6 address")
    elif target.count(":") > 1:
        return AddressProblem(
            f"{target!r}: an IPv6 address with a port goes in brackets",
            "write '[ADDRESS]:PORT', e.g. '[2001:db8::1]:9100'",
        )
    else:
        host, colon, port_text = target.partition(":")
        port = port_text if colon else None
        if not _HOST_NAME.match(host):
            return AddressProblem(
                f"{host!r} is not a host name or an IP address",
                "host names have letters, digits, '-', '_' and dots",
            )
    if port is None:
        if port_required:
            return AddressProblem(f"{target!r} has no port", f"write '{target}:PORT'")
        return None
    if not port.isdigit():
        return AddressProblem(
            f"port {port!r} of {target!r} is not a number", "write host:port, e.g. 'api:8080'"
        )
    if not 1 <= int(port) <= 65535:
        return AddressProblem(f"port {port} of {target!r} is out of range: ports are 1-65535")
    return None


def probe_target_problem(target: str, prober: str) -> AddressProblem | None:
    """What blackbox-exporter's `prober` cannot do with `target`, or None (http, dns: URLs and hosts)."""
    if prober == "tcp":
        if "://" in target:
            return AddressProblem(
                f"a tcp probe connects to host:port, not to a URL: {target!r}",
                "write host:port, or use an http module for URLs",
            )
        return host_port_problem(target, port_required=True)
    if prober == "icmp":
        if "://" in target or "/" in target:
            return AddressProblem(
                f"an icmp probe pings a host, not a URL: {target!r}", "write the host alone"
            )
        bare = target[1:-1] if target.startswith("[") and target.endswith("]") else target
        if _is_ip(bare, version=6):
            return None
        if ":" in target:
            return AddressProblem(
                f"an icmp probe pings a host; it has no port: {target!r}",
                f"write {target.rsplit(':', 1)[0]!r}",
            )
        return host_port_problem(target, port_required=False)
    if prober == "http" and "://" in target and not target.lower().startswith(("http://", "https://")):
        return AddressProblem(
            f"an http probe takes http:// or https:// URLs, not {target.split('://')[0]}://"
        )
    if any(character.isspace() for character in target):
        return AddressProblem(f"{target!r} has a space in it", "percent-encode it (%20) in a URL")
    return None


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False
