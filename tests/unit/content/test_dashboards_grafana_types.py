"""Shipped dashboards checked against Grafana's own types: the models of grafana-foundation-sdk.

Grafana cannot run where the tests run, so its generated models are the validator. Each dashboard is
decoded with `Dashboard.from_json` (panel options, field config and queries through the SDK's variant
registry: the panel plugin's types for timeseries, stat, gauge, bargauge and table, the Prometheus
query type for targets) and then
  - every key we emit must be a key of the model that decoded it, holding a value of the type the
    model declares (an enum's values, a literal's, int/float/str/bool, the nested models), and
  - every value we emit must come back unchanged, same JSON type, from `to_json()`.
Defaults the SDK adds on output are not compared. `from_json` itself never checks a key or a type
(it ignores what it does not know and copies values as they are), hence the walk over the declared
types. Problems are reported by JSON path (`$.panels[3].targets[0].legendFormat`).

The SDK has no model of a datasource instance or of provisioning files (its `DataSourceJsonData`
holds five generic fields, none of Prometheus' `httpMethod`, `timeInterval` or
`exemplarTraceIdDestinations`), so the datasource and dashboard-provider provisioning are checked by
tests/unit/render/test_tracing_static.py (the Jaeger datasource and exemplar link) and the golden files.
"""

from __future__ import annotations

import enum
import json
import sys
import types
import typing
import warnings
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from stackgen.content.dashboards import PANEL_TYPES, available_dashboards, build
from stackgen.render.dump import json_bytes

if sys.version_info < (3, 11):  # the SDK needs 3.11 (typing.Self, enum.StrEnum); CI runs 3.11
    pytest.skip("grafana-foundation-sdk needs Python 3.11", allow_module_level=True)

from grafana_foundation_sdk.cog import plugins, runtime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder

with warnings.catch_warnings():  # the v1 Dashboard class warns at import: "prefer dashboardv2"
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.models.dashboard import Dashboard

# Without this, from_json keeps options as plain dicts and targets as UnknownDataquery: nothing checked.
plugins.register_default_plugins()

DASHBOARDS = available_dashboards()


# -- the checker -----------------------------------------------------------------------------------

def grafana_type_problems(ours: dict[str, Any]) -> list[str]:
    """Where a dashboard's JSON is not what Grafana's Dashboard model declares, by JSON path."""
    try:
        decoded = Dashboard.from_json(ours)
    except (KeyError, TypeError, AttributeError) as error:  # e.g. a value mapping of an unknown type
        return [f"$: Grafana's Dashboard.from_json fails: {type(error).__name__}: {error}"]
    problems = list(_model_problems(ours, decoded, "$"))
    problems += _round_trip_problems(ours, json.loads(json.dumps(decoded, cls=JSONEncoder)), "$")
    return problems


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and callable(getattr(kind, "from_json", None)) and hasattr(kind, "to_json")


@cache
def _json_keys(model: type) -> dict[str, tuple[str, Any]]:
    """JSON key -> (attribute, declared type) of an SDK model, found by asking its own to_json()."""
    keys: dict[str, tuple[str, Any]] = {}
    for attribute, declared in typing.get_type_hints(model).items():
        instance = model()
        marker = object()
        setattr(instance, attribute, marker)
        emitted = [key for key, value in instance.to_json().items() if value is marker]
        assert len(emitted) == 1, f"{model.__name__}.{attribute}: not found in to_json() ({emitted})"
        keys[emitted[0]] = (attribute, declared)
    return keys


def _type_name(declared: Any) -> str:
    return getattr(declared, "__name__", None) or str(declared).replace("typing.", "")


def _model_problems(ours: Any, decoded: Any, path: str) -> Iterator[str]:
    model = type(decoded)
    if not isinstance(ours, dict):
        yield f"{path}: {ours!r:.60} is not an object (Grafana's {model.__name__})"
        return
    keys = _json_keys(model)
    model_name = f"{model.__module__.rsplit('.', 1)[-1]}.{model.__name__}"  # dashboard.Panel, stat.Options
    for key, value in ours.items():
        if key not in keys:
            yield f"{path}.{key}: not a key of Grafana's {model_name}"
            continue
        attribute, declared = keys[key]
        yield from _value_problems(value, getattr(decoded, attribute), declared, f"{path}.{key}")


def _value_problems(ours: Any, decoded: Any, declared: Any, path: str) -> Iterator[str]:
    """`ours` is our JSON, `decoded` what the SDK's from_json made of it, `declared` its type hint."""
    origin, members = typing.get_origin(declared), typing.get_args(declared)
    if origin in (typing.Union, types.UnionType):
        if ours is None:
            if type(None) not in members:
                yield f"{path}: null where Grafana's model wants {_type_name(declared)}"
            return
        members = tuple(member for member in members if member is not type(None))
        if len(members) == 1:
            yield from _value_problems(ours, decoded, members[0], path)
            return
        # A union of models was decided by from_json (panels: row or panel): follow its choice.
        chosen = [member for member in members if _is_model(member) and isinstance(decoded, member)]
        if chosen:
            yield from _model_problems(ours, decoded, path)
        elif not any(not list(_value_problems(ours, decoded, member, path)) for member in members):
            yield f"{path}: {ours!r:.60} is none of {', '.join(map(_type_name, members))}"
        return
    if ours is None:
        if declared not in (Any, object):
            yield f"{path}: null where Grafana's model wants {_type_name(declared)}"
        return
    if origin is typing.Literal:
        if ours not in members or isinstance(ours, bool) != any(isinstance(m, bool) for m in members):
            yield f"{path}: {ours!r} is not one of {list(members)}"
    elif origin is list:
        if not isinstance(ours, list):
            yield f"{path}: {ours!r:.60} is not a list"
            return
        items = decoded if isinstance(decoded, list) and len(decoded) == len(ours) else ours
        for index, (item, decoded_item) in enumerate(zip(ours, items, strict=True)):
            yield from _value_problems(item, decoded_item, members[0], f"{path}[{index}]")
    elif origin is dict:
        if not isinstance(ours, dict):
            yield f"{path}: {ours!r:.60} is not an object"
            return
        values = decoded if isinstance(decoded, dict) else ours
        for key, value in ours.items():
            yield from _value_problems(value, values.get(key, value), members[1], f"{path}.{key}")
    elif declared in (Any, object):
        # Typed by a registered plugin (panel options, fieldConfig custom): check against its model.
        if _is_model(type(decoded)):
            yield from _model_problems(ours, decoded, path)
    elif isinstance(declared, type) and issubclass(declared, cogvariants.Dataquery):
        if isinstance(decoded, runtime.UnknownDataquery) or not _is_model(type(decoded)):
            yield f"{path}: no Grafana query type for datasource {ours.get('datasource')!r}"
        else:
            yield from _model_problems(ours, decoded, path)
    elif isinstance(declared, type) and issubclass(declared, enum.Enum):
        allowed = [member.value for member in declared]
        if type(ours) is not type(allowed[0]) or ours not in allowed:
            yield f"{path}: {ours!r} is not one of Grafana's {declared.__name__} {allowed}"
    elif _is_model(declared):
        if not isinstance(decoded, declared):  # kept as raw JSON by from_json (transformations, links)
            if not isinstance(ours, dict):
                yield f"{path}: {ours!r:.60} is not an object (Grafana's {declared.__name__})"
                return
            decoded = declared.from_json(ours)
            yield from _round_trip_problems(ours, json.loads(json.dumps(decoded, cls=JSONEncoder)), path)
        yield from _model_problems(ours, decoded, path)
    elif declared is float:
        if isinstance(ours, bool) or not isinstance(ours, (int, float)):
            yield f"{path}: {ours!r:.60} is not a number"
    elif declared in (int, str, bool):
        if type(ours) is not declared:
            yield f"{path}: {ours!r:.60} is not {declared.__name__}"
    else:
        yield f"{path}: the check does not know Grafana's type {declared!r}"


def _round_trip_problems(ours: Any, theirs: Any, path: str) -> list[str]:
    """What we emit that to_json() does not give back the same (what it adds is the SDK's defaults)."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [f"{path}: comes back as {theirs!r:.60}"]
        problems = []
        for key, value in ours.items():
            if key in theirs:
                problems += _round_trip_problems(value, theirs[key], f"{path}.{key}")
            elif value is not None:  # to_json leaves out unset optional fields; nulls are typed above
                problems.append(f"{path}.{key}: dropped by Grafana's model")
        return problems
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(theirs) != len(ours):
            return [f"{path}: comes back as {theirs!r:.60}"]
        return [problem for index, (a, b) in enumerate(zip(ours, theirs, strict=True))
                for problem in _round_trip_problems(a, b, f"{path}[{index}]")]
    if type(ours) is not type(theirs) or ours != theirs:
        return [f"{path}: {ours!r:.60} comes back as {theirs!r:.60}"]
    return []


def dashboard_json(name: str) -> dict[str, Any]:
    """The dashboard as render writes it to grafana/dashboards/<name>.json."""
    return json.loads(json_bytes(build(name)))


# -- the shipped dashboards ------------------------------------------------------------------------

@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_is_what_grafanas_types_declare(name: str) -> None:
    problems = grafana_type_problems(dashboard_json(name))
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_panels_and_targets_are_decoded_to_typed_models(name: str) -> None:
    """Otherwise options, field config and queries would pass unchecked as plain dicts."""
    ours = dashboard_json(name)
    decoded = Dashboard.from_json(ours)
    for panel, decoded_panel in zip(ours["panels"], decoded.panels or [], strict=True):
        if panel["type"] == "row":
            continue
        assert _is_model(type(decoded_panel.options)), (panel["title"], decoded_panel.options)
        if "custom" in panel["fieldConfig"]["defaults"]:  # stat, gauge, bargauge have no custom field config
            custom = decoded_panel.field_config.defaults.custom
            assert _is_model(type(custom)), (panel["title"], custom)
        for target in decoded_panel.targets or []:
            assert type(target).__module__.endswith(".prometheus"), (panel["title"], target)


@pytest.mark.parametrize("kind", PANEL_TYPES)
def test_every_panel_type_we_build_has_grafanas_plugin_types(kind: str) -> None:
    config = runtime.panelcfg_config(kind)
    assert config is not None and config.options_from_json_hook is not None


# -- the checker finds what it should --------------------------------------------------------------

def _at(dashboard: dict[str, Any], kind: str, *keys: str | int) -> Any:
    """The first panel of a kind ('' for the dashboard itself), then down the keys."""
    found: Any = dashboard if not kind else next(p for p in dashboard["panels"] if p["type"] == kind)
    for key in keys:
        found = found[key]
    return found


@pytest.mark.parametrize(("kind", "where", "key", "value", "expected"), [
    ("", (), "graphTooltip", "1",
     "$.graphTooltip: '1' is not one of Grafana's DashboardCursorSync [0, 1, 2]"),
    ("", (), "refreshInterval", "30s", "$.refreshInterval: not a key of Grafana's dashboard.Dashboard"),
    ("", ("time",), "to", 0, "$.time.to: 0 is not str"),
    ("", ("templating", "list", 1), "refresh", "2", "$.templating.list[1].refresh: '2' is not one of"),
    ("timeseries", ("options", "legend"), "showLegend", "yes",
     ".options.legend.showLegend: 'yes' is not bool"),
    ("timeseries", ("options", "tooltip"), "mode", "shared",
     ".options.tooltip.mode: 'shared' is not one of Grafana's TooltipDisplayMode"),
    ("stat", ("options",), "colourMode", "value", ".options.colourMode: not a key of Grafana's stat.Options"),
    ("stat", ("options", "reduceOptions"), "calcs", "lastNotNull",
     ".options.reduceOptions.calcs: 'lastNotNull' is not a list"),
    ("timeseries", ("fieldConfig", "defaults", "custom"), "fillOpacity", "10",
     ".fieldConfig.defaults.custom.fillOpacity: '10' is not a number"),
    ("timeseries", ("fieldConfig", "defaults"), "unit", 1, ".fieldConfig.defaults.unit: 1 is not str"),
    ("timeseries", ("fieldConfig", "defaults", "thresholds", "steps", 0), "value", "0",
     ".fieldConfig.defaults.thresholds.steps[0].value: '0' is not a number"),
    ("timeseries", ("targets", 0), "legendFormat", 5, ".targets[0].legendFormat: 5 is not str"),
    ("timeseries", ("targets", 0), "refId", 0, ".targets[0].refId: 0 is not str"),
    ("timeseries", ("targets", 0), "instant", "false", ".targets[0].instant: 'false' is not bool"),
    ("timeseries", ("targets", 0), "legend", "{{job}}",
     ".targets[0].legend: not a key of Grafana's prometheus.Dataquery"),
    ("timeseries", ("targets", 0, "datasource"), "name", "Prometheus",
     ".targets[0].datasource.name: not a key of Grafana's common.DataSourceRef"),
    ("timeseries", ("targets", 0), "expr", None, ".targets[0].expr: null where Grafana's model wants str"),
    ("table", ("transformations", 0), "id", 5, ".transformations[0].id: 5 is not str"),
    ("table", ("transformations", 0), "disabled", "no", ".transformations[0].disabled: 'no' is not bool"),
    ("table", ("options", "footer"), "show", 0, ".options.footer.show: 0 is not bool"),
    ("table", ("fieldConfig", "defaults", "mappings", 0, "options", "0"), "index", "0",
     ".fieldConfig.defaults.mappings[0].options.0.index: '0' is not int"),
    ("table", ("fieldConfig", "defaults", "mappings", 0), "type", "values",
     "$: Grafana's Dashboard.from_json fails: KeyError: 'values'"),
])
def test_the_check_names_a_wrong_key_or_type(
    kind: str, where: tuple[str | int, ...], key: str, value: Any, expected: str,
) -> None:
    dashboard = dashboard_json("overview")
    assert grafana_type_problems(dashboard) == []
    _at(dashboard, kind, *where)[key] = value
    problems = grafana_type_problems(dashboard)
    assert any(expected in problem for problem in problems), problems


def test_a_target_of_an_unknown_datasource_type_is_a_problem() -> None:
    dashboard = dashboard_json("overview")
    panel = _at(dashboard, "timeseries")
    panel["datasource"] = panel["targets"][0]["datasource"] = {"type": "promql", "uid": "x"}
    assert "no Grafana query type for datasource {'type': 'promql', 'uid': 'x'}" in "\n".join(
        grafana_type_problems(dashboard))
