"""Shipped dashboards: valid Grafana dashboard JSON as far as it can be checked without Grafana."""

from __future__ import annotations

import json
import re

import promql_parser
import pytest

from stackgen.content.dashboards import (
    DashboardError,
    available_dashboards,
    build,
    concrete_query,
    queries,
    uid,
)

DASHBOARDS = available_dashboards()
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
PANEL_KEYS = {"datasource", "fieldConfig", "gridPos", "id", "options", "targets", "title", "type"}


def panels(name: str) -> list[dict]:
    return [panel for panel in build(name)["panels"] if panel["type"] != "row"]


def test_the_promised_dashboards_ship() -> None:
    promised = {"overview", "node", "prometheus", "alertmanager", "blackbox", "http-red", "go-runtime",
                "containers", "relay"}
    assert promised <= set(DASHBOARDS)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_has_grafanas_required_keys(name: str) -> None:
    dashboard = build(name)
    assert {"title", "uid", "panels", "schemaVersion", "templating", "time", "tags"} <= set(dashboard)
    assert dashboard["uid"] == uid(name) and len(dashboard["uid"]) <= 40
    assert re.fullmatch(r"[A-Za-z0-9_-]+", dashboard["uid"])
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["id"] is None  # provisioning assigns it
    assert "stackgen" in dashboard["tags"]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_output_is_deterministic_json(name: str) -> None:
    assert json.dumps(build(name), sort_keys=True) == json.dumps(build(name), sort_keys=True)
    json.loads(json.dumps(build(name), allow_nan=False))


def test_uids_are_unique() -> None:
    assert len({build(name)["uid"] for name in DASHBOARDS}) == len(DASHBOARDS)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_variables_are_datasource_job_and_instance(name: str) -> None:
    variables = {v["name"]: v for v in build(name)["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for var in ("job", "instance"):
        assert variables[var]["type"] == "query"
        assert variables[var]["datasource"] == DATASOURCE_REF
        query = variables[var]["query"]["query"]
        assert query.startswith("label_values(") and query.endswith(f", {var})")
    assert "$job" in variables["instance"]["query"]["query"]  # instances of the chosen jobs only


@pytest.mark.parametrize("name", DASHBOARDS)
def test_panel_ids_are_unique_and_panels_complete(name: str) -> None:
    all_panels = build(name)["panels"]
    ids = [panel["id"] for panel in all_panels]
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, int) and i > 0 for i in ids)
    for panel in panels(name):
        assert set(panel) >= PANEL_KEYS, panel["title"]
        assert panel["datasource"] == DATASOURCE_REF
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE_REF
            assert target["expr"].strip()


@pytest.mark.parametrize("name", DASHBOARDS)
def test_grid_positions_fit_and_do_not_overlap(name: str) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in build(name)["panels"]:
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"}
        assert all(isinstance(value, int) for value in grid.values())
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                 for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_query_parses(name: str) -> None:
    for query in queries(name):
        expr = concrete_query(query["expr"])
        assert "$" not in expr, expr
        try:
            promql_parser.parse(expr)
        except ValueError as error:
            pytest.fail(f"{name} / {query['panel']}: {error}: {expr}")


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_variable_query_parses(name: str) -> None:
    for variable in build(name)["templating"]["list"]:
        if variable["type"] != "query":
            continue
        inner = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"])
        assert inner, variable["query"]["query"]
        promql_parser.parse(concrete_query(inner.group(1)))


def test_queries_are_what_the_panels_hold() -> None:
    built = [target["expr"] for panel in panels("node") for target in panel["targets"]]
    assert [query["expr"] for query in queries("node")] == built


def test_a_targets_needs_overrides_its_panels(monkeypatch: pytest.MonkeyPatch) -> None:
    import stackgen.content.dashboards as dashboards

    spec = {"title": "t", "rows": [{"title": "r", "panels": [
        {"title": "p", "needs": "a panel situation",
         "targets": [{"expr": "a"}, {"expr": "b", "needs": "a target situation"}]},
        {"title": "q", "targets": [{"expr": "c"}, {"expr": "d", "needs": "a week of history"}]},
    ]}]}
    monkeypatch.setattr(dashboards, "_read", lambda name: spec)
    assert [(q["expr"], q["needs"]) for q in queries("t")] == [
        ("a", "a panel situation"), ("b", "a target situation"), ("c", None), ("d", "a week of history"),
    ]


def test_concrete_query_replaces_grafana_variables() -> None:
    assert concrete_query('rate(x{job=~"$job"}[$__rate_interval])') == 'rate(x{job=~".+"}[1m])'
    assert concrete_query('x{instance=~"${instance}"}', {"instance": "a:1"}) == 'x{instance=~"a:1"}'
    assert concrete_query('x{device=~"sd.$"}') == 'x{device=~"sd.$"}'  # a regex anchor, not a variable


def test_unknown_dashboard() -> None:
    with pytest.raises(DashboardError, match="no dashboard named 'nodes'"):
        build("nodes")
