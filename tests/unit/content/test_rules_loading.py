"""load_pack: parameters, disabled rules, language, and the errors a spec can provoke."""

from __future__ import annotations

import pytest

from stackgen.content.locate import blueprints_dir
from stackgen.content.rules import (
    InvalidParameterValue,
    PackError,
    UnknownPack,
    UnknownParameter,
    available_packs,
    load_pack,
    pack_description,
    pack_params,
)


def rules_by_name(groups: list[dict]) -> dict[str, dict]:
    return {rule.get("alert") or rule["record"]: rule for group in groups for rule in group["rules"]}


def test_blueprints_are_found_in_the_checkout() -> None:
    assert (blueprints_dir() / "rules" / "node.yml").is_file()


def test_pack_params_are_the_defaults() -> None:
    params = pack_params("node")
    assert params["disk_free_percent"] == 10
    assert params["selector"] == 'job!=""'


def test_params_are_filled_into_expressions_and_annotations() -> None:
    groups = load_pack("node", {"disk_free_percent": 20}, language="en")
    rule = rules_by_name(groups)["NodeFilesystemSpaceLow"]
    assert "* 100 < 20 " in rule["expr"]
    assert "< 10" not in rule["expr"]
    assert rule["annotations"]["description"].endswith("below 20%.")


def test_defaults_apply_where_no_value_is_given() -> None:
    rule = rules_by_name(load_pack("node", {"disk_free_percent": 20}))["NodeFilesystemSpaceCritical"]
    assert "< 5 " in rule["expr"]


def test_prometheus_templates_pass_through_untouched() -> None:
    rule = rules_by_name(load_pack("node", language="en"))["NodeMemoryLow"]
    assert rule["annotations"]["summary"] == "Host {{ $labels.instance }} is low on memory"
    assert "{{ $value | humanize }}%" in rule["annotations"]["description"]


def test_selector_params_replace_the_matchers() -> None:
    rule = rules_by_name(load_pack("prometheus-self", {"up_selector": 'job="api"'}))["TargetDown"]
    assert rule["expr"] == 'up{job="api"} == 0'


@pytest.mark.parametrize(("language", "summary"), [
    ("zh", "主机 {{ $labels.instance }} 可用内存不足"),
    ("en", "Host {{ $labels.instance }} is low on memory"),
])
def test_language_picks_the_annotations(language: str, summary: str) -> None:
    rule = rules_by_name(load_pack("node", language=language))["NodeMemoryLow"]
    assert rule["annotations"]["summary"] == summary


def test_chinese_is_the_default_language() -> None:
    assert load_pack("node") == load_pack("node", language="zh")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(PackError, match="unknown language 'fr'"):
        load_pack("node", language="fr")


def test_unknown_parameter_names_the_known_ones() -> None:
    with pytest.raises(UnknownParameter) as caught:
        load_pack("node", {"disk_free_pct": 5})
    assert isinstance(caught.value, ValueError)
    assert caught.value.unknown == ["disk_free_pct"]
    assert "disk_free_percent" in caught.value.known
    assert str(caught.value).startswith("rule pack 'node' has no parameter 'disk_free_pct'; its parameters: ")


def test_a_parameter_that_breaks_promql_is_reported_with_the_rule() -> None:
    with pytest.raises(InvalidParameterValue, match="rule TargetDown is not valid PromQL"):
        load_pack("prometheus-self", {"up_selector": "job=api"})


def test_unknown_pack() -> None:
    with pytest.raises(UnknownPack, match="no rule pack named 'nodes'"):
        load_pack("nodes")


def test_disabled_rules_are_left_out() -> None:
    names = rules_by_name(load_pack("node", disabled=["NodeHighLoad", "NotInThisPack"]))
    assert "NodeHighLoad" not in names
    assert "NodeHighCPU" in names


def test_a_group_with_every_rule_disabled_is_left_out() -> None:
    alerts = list(rules_by_name(load_pack("alertmanager")))
    assert load_pack("alertmanager", disabled=alerts) == []


def test_results_are_independent_copies() -> None:
    first = load_pack("node")
    first[0]["rules"].clear()
    assert load_pack("node")[0]["rules"]


@pytest.mark.parametrize("pack", available_packs())
def test_every_alert_has_for_severity_and_both_languages(pack: str) -> None:
    for language in ("zh", "en"):
        for name, rule in rules_by_name(load_pack(pack, language=language)).items():
            if "alert" not in rule:
                continue
            assert "for" in rule, name
            assert rule["labels"]["severity"] in {"critical", "warning", "info", "none"}, name
            assert set(rule["annotations"]) >= {"summary", "description"}, name
            assert all(isinstance(text, str) and text for text in rule["annotations"].values()), name


@pytest.mark.parametrize("pack", available_packs())
def test_every_pack_describes_itself(pack: str) -> None:
    assert pack_description(pack, "en")
    assert pack_description(pack, "zh") != pack_description(pack, "en")


def test_group_names_are_unique_across_packs() -> None:
    names = [group["name"] for pack in available_packs() for group in load_pack(pack)]
    assert len(names) == len(set(names))


def test_rules_reading_a_disabled_record_go_with_it() -> None:
    names = rules_by_name(load_pack("http-red", disabled=["job:http_request_duration_seconds:p99_5m"]))
    assert "HTTPHighLatency" not in names
    assert "job:http_request_duration_seconds:p99_5m:avg_1w" not in names  # reads it
    assert "HTTPLatencyAboveBaseline" not in names  # reads it and the weekly statistics
    assert "HTTPHighErrorRatio" in names
    assert "job:http_request_duration_seconds:p50_5m" in names  # a neighbour, not a reader


def test_baseline_parameters_reach_the_group_interval_and_for() -> None:
    loaded = load_pack("http-red", {"baseline_interval": "2m", "baseline_for": "30m"})
    groups = {group["name"]: group for group in loaded}
    assert groups["http-red-baseline"]["interval"] == "2m"
    assert rules_by_name([groups["http-red"]])["HTTPTrafficBelowBaseline"]["for"] == "30m"
