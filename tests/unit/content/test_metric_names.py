"""Rules and dashboards name only metrics that the real exporters serve.

The lists under exporter_metrics/ were taken from the /metrics of the Debian builds of Prometheus
2.42, Alertmanager 0.25, node_exporter 1.5 and blackbox_exporter 0.23 run on loopback; cAdvisor's
comes from its documentation; the relay's from its own registry. Those under exporter_metrics/current/
come from today's upstream (Prometheus 3.5, Alertmanager 0.33, node_exporter 1.11): a name must be
served by both versions, since the packs and dashboards are for both. A misspelt metric name would
otherwise give an alert that never fires or a panel that says "No data", and nothing else fails.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import promql_parser
import pytest

from stackgen.content.dashboards import available_dashboards, concrete_query, queries
from stackgen.content.rules import available_packs, load_pack

LISTS = Path(__file__).parent / "exporter_metrics"

# Which exporters each pack and each dashboard may draw on.
SOURCES = {
    "prometheus-self": ["prometheus", "conventions"],
    "prometheus": ["prometheus", "conventions"],
    "alertmanager": ["alertmanager"],
    "node": ["node-exporter"],
    "blackbox": ["blackbox-exporter"],
    "go-runtime": ["prometheus"],  # any Go service: Prometheus is one
    "containers": ["cadvisor"],
    "relay": ["relay"],
    "http-red": ["conventions"],
    "watchdog": [],
    "swarm": ["conventions"],  # `up` of the per-node exporters
    "overview": ["prometheus", "alertmanager", "conventions"],
}


@cache
def exporter_names(source: str) -> frozenset[str]:
    if source == "relay":
        return relay_names()
    names = _names_in(LISTS / f"{source}.txt")
    current = LISTS / "current" / f"{source}.txt"
    return names & _names_in(current) if current.is_file() else names


def _names_in(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def relay_names() -> frozenset[str]:
    from stackgen.relay.metrics import RelayMetrics

    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"],
                "summary": ["", "_sum", "_count"]}
    return frozenset(
        family.name + suffix
        for family in RelayMetrics().registry.collect()
        for suffix in suffixes[family.type]
    )


@cache
def recorded_names() -> frozenset[str]:
    return frozenset(rule["record"] for pack in available_packs() for group in load_pack(pack)
                     for rule in group["rules"] if "record" in rule)


def selector_names(node: object) -> set[str]:
    """Metric names of every vector selector in a parsed PromQL expression."""
    names = set()
    if type(node).__name__ == "VectorSelector" and getattr(node, "name", None):
        names.add(node.name)  # type: ignore[attr-defined]
    for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None:
            names |= selector_names(child)
    for child in getattr(node, "args", None) or []:
        names |= selector_names(child)
    return names


def allowed(name: str) -> frozenset[str]:
    return frozenset().union(*(exporter_names(source) for source in SOURCES[name])) | recorded_names()


def test_every_pack_and_dashboard_has_its_sources() -> None:
    assert set(available_packs()) | set(available_dashboards()) <= set(SOURCES)


def test_the_walker_finds_names() -> None:
    expr = promql_parser.parse(
        "sum(rate(a_total[5m])) / on (job) group_left b or histogram_quantile(0.9, c) - -d"
    )
    assert selector_names(expr) == {"a_total", "b", "c", "d"}


@pytest.mark.parametrize("pack", available_packs())
def test_pack_rules_name_real_metrics(pack: str) -> None:
    unknown = {
        (rule.get("alert") or rule["record"], name)
        for group in load_pack(pack) for rule in group["rules"]
        for name in selector_names(promql_parser.parse(rule["expr"]))
        if name not in allowed(pack)
    }
    assert unknown == set()


@pytest.mark.parametrize("dashboard", available_dashboards())
def test_dashboard_queries_name_real_metrics(dashboard: str) -> None:
    unknown = {
        (query["panel"], name)
        for query in queries(dashboard)
        for name in selector_names(promql_parser.parse(concrete_query(query["expr"])))
        if name not in allowed(dashboard)
    }
    assert unknown == set()
