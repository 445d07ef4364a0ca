"""Dashboards: expand the compact YAML under blueprints/dashboards/ into Grafana dashboard JSON.

A dashboard file gives a title, the metric its `job` and `instance` variables list, and rows of
panels (title, type, unit, PromQL targets). Everything Grafana needs besides that (ids, layout,
datasource references, field config) is filled in here, the same way every time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from stackgen.content.locate import blueprints_dir

SCHEMA_VERSION = 39
GRID_WIDTH = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = ("timeseries", "stat", "gauge", "bargauge", "table")
DEFAULT_HEIGHT = {"timeseries": 8, "table": 8, "bargauge": 8, "stat": 4, "gauge": 6}
# What Grafana substitutes into queries, and values Prometheus accepts in their place (for checks).
GRAFANA_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
    "datasource": "prometheus",
}


class DashboardError(ValueError):
    """A dashboard file that cannot be built."""


def _dashboards_dir() -> Path:
    return blueprints_dir() / "dashboards"


def available_dashboards() -> list[str]:
    """Names of the shipped dashboards, sorted."""
    return sorted(path.stem for path in _dashboards_dir().glob("*.yml"))


@cache
def _read(name: str) -> dict[str, Any]:
    if name not in available_dashboards():
        raise DashboardError(f"no dashboard named '{name}'; dashboards: {', '.join(available_dashboards())}")
    from stackgen.spec.load import read_yaml_data

    data = read_yaml_data((_dashboards_dir() / f"{name}.yml").read_text(encoding="utf-8"), f"{name}.yml")
    if not isinstance(data, dict) or not data.get("title") or not isinstance(data.get("rows"), list):
        raise DashboardError(f"dashboard '{name}' is malformed: it needs a title and a list of rows")
    return data


def uid(name: str) -> str:
    """The dashboard's stable uid (Grafana allows 40 characters)."""
    return f"stackgen-{name}"[:40]


def build(name: str) -> dict[str, Any]:
    """The Grafana dashboard JSON of a shipped dashboard."""
    spec = _read(name)
    return {
        "annotations": {"list": [_builtin_annotations()]},
        "description": spec.get("description", ""),
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,  # a shared crosshair: time lines up across panels
        "id": None,
        "links": [
            {
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["stackgen"],
                "targetBlank": False,
                "title": "stackgen",
                "type": "dashboards",
            }
        ],
        "panels": list(_panels(name, spec)),
        "refresh": spec.get("refresh", "30s"),
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["stackgen", *spec.get("tags", [])],
        "templating": {"list": _variables(spec)},
        "time": {"from": spec.get("time_from", "now-1h"), "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": spec["title"],
        "uid": uid(name),
        "version": 1,
    }


def queries(name: str) -> list[dict[str, Any]]:
    """Every query of a dashboard: {'panel', 'expr', 'instant', 'needs'} (needs: when data can be empty).

    `needs` is written on a panel, or on one of its targets when only that query depends on it.
    """
    found = []
    for row in _read(name)["rows"]:
        for panel in row.get("panels") or []:
            for target in panel.get("targets") or []:
                found.append(
                    {
                        "panel": panel["title"],
                        "expr": target["expr"],
                        "instant": panel.get("type", "timeseries") in ("stat", "gauge", "bargauge", "table"),
                        "needs": target.get("needs", panel.get("needs")),
                    }
                )
    return found


def concrete_query(expr: str, variables: Mapping[str, str] | None = None) -> str:
    """A panel query with Grafana's variables replaced, as Prometheus would receive it.

    Dashboard variables (job, instance, ...) default to '.+', which every regex matcher accepts.
    """
    values = {**GRAFANA_VARIABLES, **(variables or {})}

    def value(match: re.Match[str]) -> str:
        return values.get(match.group(1) or match.group(2), ".+")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)


# -- variables -------------------------------------------------------------------------------------


def _variables(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    source = spec.get("variables_from", "up")
    variables = [
        {
            "current": {},
            "hide": 0,
            "includeAll": False,
            "label": "Data source",
            "multi": False,
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
            "type": "datasource",
        }
    ]
    variables.append(_query_variable("job", "Job", f"label_values({source}, job)"))
    if spec.get("group_variable"):
        # Fleet hosts carry a `group` label (stackgen fleet); hosts without one stay listed under All
        # ('.*' matches the empty label), and All instances are the ones of the chosen groups.
        group = _query_variable("group", "Group", f'label_values({source}{{job=~"$job"}}, group)')
        group["allValue"] = ".*"
        variables.append(group)
        instance = _query_variable(
            "instance", "Instance", f'label_values({source}{{job=~"$job", group=~"$group"}}, instance)'
        )
        del instance["allValue"]
        variables.append(instance)
    else:
        instances = f'label_values({source}{{job=~"$job"}}, instance)'
        variables.append(_query_variable("instance", "Instance", instances))
    for extra in spec.get("variables") or []:
        variables.append(_query_variable(extra["name"], extra.get("label", extra["name"]), extra["query"]))
    return variables


def _query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        # '.+' rather than a list of every value: targets that appear later are included too.
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": dict(DATASOURCE),
        "definition": query,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": {"query": query, "refId": "StandardVariableQuery"},
        "refresh": 2,  # on time range change: a target that went away leaves the list
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def _builtin_annotations() -> dict[str, Any]:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


# -- layout ----------------------------------------------------------------------------------------


def _panels(name: str, spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows one under the other; in a row, panels left to right, wrapping at the grid's width."""
    panel_id = 0
    y = 0
    for row in spec["rows"]:
        panel_id += 1
        yield {
            "collapsed": False,
            "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
            "id": panel_id,
            "panels": [],
            "title": row["title"],
            "type": "row",
        }
        y += 1
        panels = row.get("panels") or []
        default_width = max(GRID_WIDTH // max(len(panels), 1), 4)
        x = 0
        line_height = 0
        for panel in panels:
            kind = panel.get("type", "timeseries")
            if kind not in PANEL_TYPES:
                title = panel.get("title")
                raise DashboardError(f"dashboard '{name}', panel '{title}': unknown type '{kind}'")
            width = int(panel.get("width", default_width))
            height = int(panel.get("height", DEFAULT_HEIGHT[kind]))
            if x + width > GRID_WIDTH:
                x, y, line_height = 0, y + line_height, 0
            panel_id += 1
            yield _panel(panel, kind, panel_id, {"h": height, "w": width, "x": x, "y": y})
            x += width
            line_height = max(line_height, height)
        y += line_height


# -- panels ----------------------------------------------------------------------------------------


def _panel(panel: Mapping[str, Any], kind: str, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    instant = kind in ("stat", "gauge", "bargauge", "table")
    defaults: dict[str, Any] = {
        "color": {"mode": "thresholds" if instant else "palette-classic"},
        "mappings": list(panel.get("mappings") or []),
        "thresholds": {"mode": "absolute", "steps": _thresholds(panel.get("thresholds"))},
        "unit": panel.get("unit", "short"),
    }
    for key in ("min", "max", "decimals"):
        if key in panel:
            defaults[key] = panel[key]
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "fillOpacity": 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if panel.get("stack") else "none"},
        }
    return {
        "datasource": dict(DATASOURCE),
        "description": panel.get("description", ""),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": grid,
        "id": panel_id,
        "options": _options(kind),
        "targets": [_target(target, index, instant, kind) for index, target in enumerate(panel["targets"])],
        "title": panel["title"],
        "transformations": _transformations(kind),
        "type": kind,
    }


def _thresholds(steps: Any) -> list[dict[str, Any]]:
    if not steps:
        return [{"color": "green", "value": None}]
    # Written as [[value, colour], ...] with the first value null: Grafana's base step.
    return [{"color": color, "value": value} for value, color in steps]


def _options(kind: str) -> dict[str, Any]:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "timeseries":
        return {
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if kind == "stat":
        return {
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": reduce,
            "textMode": "auto",
        }
    if kind == "gauge":
        return {
            "orientation": "auto",
            "reduceOptions": reduce,
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
        }
    if kind == "bargauge":
        return {
            "displayMode": "gradient",
            "orientation": "horizontal",
            "reduceOptions": reduce,
            "showUnfilled": True,
        }
    return {"cellHeight": "sm", "footer": {"show": False}, "showHeader": True}


def _transformations(kind: str) -> list[dict[str, Any]]:
    if kind != "table":
        return []
    # An instant query as a table: one row per series, its labels as columns, no time column.
    return [{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True}}}]


def _target(target: Mapping[str, Any], index: int, instant: bool, kind: str) -> dict[str, Any]:
    return {
        "datasource": dict(DATASOURCE),
        "editorMode": "code",
        "expr": target["expr"],
        "format": "table" if kind == "table" else "time_series",
        "instant": instant,
        "legendFormat": target.get("legend", "__auto"),
        "range": not instant,
        "refId": chr(ord("A") + index),
    }
