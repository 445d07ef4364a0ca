"""Targets Prometheus or blackbox-exporter would drop or never reach (stackgen/spec/addresses.py)."""

# ruff: noqa: E501  (whole messages are asserted)

from __future__ import annotations

from pathlib import Path

import pytest

from stackgen.spec.addresses import probe_target_problem, scrape_target_problem
from stackgen.spec.validate import check_spec
from tests.unit.core_helpers import base_spec, write_spec


@pytest.mark.parametrize("target", ["api:8080", "10.0.0.1:9100", "my_service:80", "a.b.example.com.:443",
                                    "[2001:db8::1]:9100", "[::1]:9090", "host", "node-exporter:65535"])
def test_addresses_prometheus_can_scrape(target: str) -> None:
    assert scrape_target_problem(target) is None


@pytest.mark.parametrize(("target", "message", "hint"), [
    ("bad host:99", "'bad host:99' has a space in it: no host is called that", "write host:port, e.g. 'api:8080'"),
    ("host:99999", "port 99999 of 'host:99999' is out of range: ports are 1-65535", None),
    ("host:0", "port 0 of 'host:0' is out of range: ports are 1-65535", None),
    ("api:8080/metrics", "a scrape target is host:port, without a path: Prometheus drops 'api:8080/metrics'",
     "write 'api:8080' and `metrics_path: /metrics` on the job"),
    ("http://api:8080", "a scrape target is host:port, not a URL: 'http://api:8080'",
     "put the path in metrics_path and the scheme in scheme; URLs to check go in probes"),
    ("api:http", "port 'http' of 'api:http' is not a number", "write host:port, e.g. 'api:8080'"),
    ("2001:db8::1:9100", "'2001:db8::1:9100': an IPv6 address with a port goes in brackets",
     "write '[ADDRESS]:PORT', e.g. '[2001:db8::1]:9100'"),
    ("[2001:db8::1]9100", "'[2001:db8::1]9100' is not [IPv6]:port", "e.g. '[2001:db8::1]:9100'"),
    ("api!:80", "'api!' is not a host name or an IP address", "host names have letters, digits, '-', '_' and dots"),
    ("-api:80", "'-api' is not a host name or an IP address", "host names have letters, digits, '-', '_' and dots"),
])
def test_addresses_that_never_work(target: str, message: str, hint: str | None) -> None:
    found = scrape_target_problem(target)
    assert found is not None and (found.message, found.hint) == (message, hint)


@pytest.mark.parametrize(("target", "prober", "message"), [
    ("db", "tcp", "'db' has no port"),
    ("https://db:5432", "tcp", "a tcp probe connects to host:port, not to a URL: 'https://db:5432'"),
    ("gateway:80", "icmp", "an icmp probe pings a host; it has no port: 'gateway:80'"),
    ("http://gateway", "icmp", "an icmp probe pings a host, not a URL: 'http://gateway'"),
    ("ftp://files", "http", "an http probe takes http:// or https:// URLs, not ftp://"),
    ("http://a b/", "http", "'http://a b/' has a space in it"),
])
def test_probe_targets_the_prober_cannot_use(target: str, prober: str, message: str) -> None:
    found = probe_target_problem(target, prober)
    assert found is not None and found.message == message


@pytest.mark.parametrize(("target", "prober"), [("db:5432", "tcp"), ("10.0.0.1", "icmp"), ("2001:db8::1", "icmp"),
                                                ("grafana:3000/api/health", "http"), ("https://x/y?z=1", "http"),
                                                ("8.8.8.8", "dns")])
def test_probe_targets_the_prober_can_use(target: str, prober: str) -> None:
    assert probe_target_problem(target, prober) is None


def test_bad_targets_are_errors_at_their_line_with_a_custom_module_s_prober(tmp_path: Path) -> None:
    spec = base_spec(
        targets=[{"job": "api", "targets": ["api:8080", "api:8080/metrics"], "metrics_path": "/m?format=text&x=1"}],
        blackbox={"modules": {"tcp_tls": {"prober": "tcp", "tcp": {"tls": True}}}},
        probes=[{"name": "db", "module": "tcp_tls", "targets": ["db"]}])
    checked = check_spec(write_spec(tmp_path, spec), {}, display_name="s.yaml")
    assert [(p.path, p.message, p.hint) for p in checked.errors] == [
        (("targets", 0, "targets", 1), "a scrape target is host:port, without a path: Prometheus drops 'api:8080/metrics'",
         "write 'api:8080' and `metrics_path: /metrics` on the job"),
        (("targets", 0, "metrics_path"), "Prometheus escapes '?' in metrics_path: the query never reaches the target",
         "write `metrics_path: /m` and `params: {format: [text], x: [1]}`"),
        (("probes", 0, "targets", 0), "'db' has no port", "write 'db:PORT'"),
    ]
