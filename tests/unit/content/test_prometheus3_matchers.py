"""Packs and dashboards select classic-histogram buckets and summary quantiles so that Prometheus 3 matches.

Prometheus 3 stores the `le` label of classic histograms and the `quantile` label of summaries as
floats: a target's `le="1"` is stored as `le="1.0"`, so the matcher `le="1"` (or `quantile="1"`) that
worked on Prometheus 2 silently selects nothing. An equality matcher on an integer-looking value is
therefore refused here; `quantile=~"1|1.0"` matches on both versions.
"""

from __future__ import annotations

import re

import pytest

from stackgen.content.dashboards import available_dashboards, queries
from stackgen.content.rules import available_packs, load_pack

# le="1", quantile = "0", le!="10": an equality (or inequality) matcher on an integer value
INTEGER_MATCHER = re.compile(r"\b(le|quantile)\s*!?=\s*\"[+-]?\d+\"")


def test_the_check_sees_the_prometheus_2_only_forms() -> None:
    assert INTEGER_MATCHER.search('go_gc_duration_seconds{quantile="1"}')
    assert INTEGER_MATCHER.search('sum(rate(x_bucket{le = "10"}[5m]))')
    assert not INTEGER_MATCHER.search('x{quantile="0.99"} + y{le="+Inf"} + z{le="1.0"}')
    assert not INTEGER_MATCHER.search('go_gc_duration_seconds{quantile=~"1|1.0"}')


@pytest.mark.parametrize("pack", available_packs())
def test_pack_matchers_work_on_prometheus_3(pack: str) -> None:
    found = [rule.get("alert") or rule["record"] for group in load_pack(pack) for rule in group["rules"]
             if INTEGER_MATCHER.search(rule["expr"])]
    assert found == []


@pytest.mark.parametrize("dashboard", available_dashboards())
def test_dashboard_matchers_work_on_prometheus_3(dashboard: str) -> None:
    found = [query["panel"] for query in queries(dashboard) if INTEGER_MATCHER.search(query["expr"])]
    assert found == []
