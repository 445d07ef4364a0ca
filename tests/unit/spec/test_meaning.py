"""Checks of meaning the schema cannot express (stackgen/spec/meaning.py and the meaning_*.py beside it)."""

# ruff: noqa: E501  (whole error strings are asserted, as the style guide asks)

from __future__ import annotations

from pathlib import Path

import pytest

from stackgen.spec.meaning_common import duration_seconds
from stackgen.spec.problems import Severity
from stackgen.spec.validate import check_spec
from tests.unit.core_helpers import CONTRACT, base_spec, run_main, write_spec


def check(tmp_path: Path, **sections: object) -> tuple[list[str], list[str]]:
    """(errors, notices) of base_spec(**sections), formatted."""
    path = write_spec(tmp_path, base_spec(**sections))
    checked = check_spec(path, {}, display_name="s.yaml")
    return [p.format() for p in checked.errors], [p.format() for p in checked.notices]


def messages(tmp_path: Path, **sections: object) -> list[str]:
    """Just 'path: message' of each error, without positions (the data is written by a dumper)."""
    errors, _ = check(tmp_path, **sections)
    return [line.split(": ", 1)[1] for line in errors]


def rule_group(*rules: dict[str, object], name: str = "g") -> dict[str, object]:
    return {"include": [], "groups": [{"name": name, "rules": list(rules)}]}


def test_valid_promql_including_a_bare_number(tmp_path: Path) -> None:
    assert messages(tmp_path, rules=rule_group(
        {"alert": "A", "expr": 'sum by (job) (rate(x{a=~"b.*"}[5m])) > 0.5', "for": "5m"},
        {"record": "job:x:rate5m", "expr": "rate(x[5m])"},
        {"alert": "Always", "expr": 1})) == []


@pytest.mark.parametrize(("rule", "expected"), [
    ({"alert": "A", "expr": "rate(x[5m]"}, "rules.groups.0.rules.0.expr: invalid PromQL"),
    ({"alert": "A", "expr": "  "}, "rules.groups.0.rules.0.expr: empty PromQL expression"),
    ({"record": "bad name", "expr": "up"}, "rules.groups.0.rules.0.record: invalid metric name 'bad name'"),
    ({"record": "job:up", "expr": "up", "for": "5m"}, "rules.groups.0.rules.0: `for`, `keep_firing_for` and "
                                                      "`annotations` belong to alerting rules only"),
    ({"expr": "up"}, "rules.groups.0.rules.0: a rule needs exactly one of `alert` or `record`"),
])
def test_rule_problems(tmp_path: Path, rule: dict[str, object], expected: str) -> None:
    [found] = messages(tmp_path, rules=rule_group(rule))
    assert found.startswith(expected)


def test_job_and_probe_names_share_one_namespace(tmp_path: Path) -> None:
    found = messages(tmp_path, targets=[{"job": "web", "targets": ["a:1"]}],
                     probes=[{"name": "web", "module": "http_2xx", "targets": ["http://a/"]}])
    assert found == ["probes.0.name: duplicate job 'web' (first defined on line 8)"]


def test_a_job_takes_one_discovery(tmp_path: Path) -> None:
    [found] = messages(tmp_path, targets=[{"job": "a", "targets": ["a:1"], "dns": {"names": ["a.local"]}}])
    assert found.startswith("targets.0.dns: a job takes one of `targets`, `consul` or `dns`, not targets and dns")


def test_replica_ports_collide_with_the_next_service(tmp_path: Path) -> None:
    """Replicas publish port, port+1, ...: prometheus-2 on 9091 collides with a pushgateway on 9091."""
    found = messages(tmp_path, prometheus={"replicas": 2}, exporters={"pushgateway": True})
    assert found == ["exporters.pushgateway: port 9091 is already published by prometheus.port"]


def test_listen_on_every_address_needs_web_users(tmp_path: Path) -> None:
    errors, notices = check(tmp_path, listen="0.0.0.0")
    assert errors == ["s.yaml:7:9: listen: listen 0.0.0.0 would publish Prometheus, Alertmanager, Pushgateway, the relay and Grafana to the network without a password (anyone could push, delete, silence or post to your chat groups) (add web.tls: {} and web.users (e.g. admin: ${WEB_ADMIN_PASSWORD}), or keep listen: 127.0.0.1; web.insecure: true opts out behind an authenticating proxy)"]
    assert notices == []


def test_default_timeout_follows_a_short_interval(tmp_path: Path) -> None:
    assert messages(tmp_path, prometheus={"scrape_interval": "5s"}) == []


def test_job_timeout_longer_than_job_interval(tmp_path: Path) -> None:
    found = messages(tmp_path, targets=[{"job": "a", "targets": ["a:1"], "scrape_interval": "5s",
                                         "scrape_timeout": "6s"}])
    assert found == ["targets.0.scrape_timeout: scrape_timeout is longer than scrape_interval"]


def test_route_receivers(tmp_path: Path) -> None:
    receivers = [{"name": "a"}, {"name": "b"}]
    assert messages(tmp_path, receivers=receivers, route={"receiver": "null"}) == []
    found = messages(tmp_path, receivers=receivers, route={"receiver": "a", "routes": [
        {"receivers": ["a", "c"], "routes": [{"receiver": "b"}]},
        {"receiver": "a", "receivers": ["b"]}]})
    assert found == [
        "route.routes.0.receivers: a route with several `receivers` cannot have child `routes` (it becomes one "
        "sibling route per receiver; nest the children under a route of their own)",
        "route.routes.0.receivers.1: unknown receiver 'c' (define it under receivers)",
        "route.routes.1.receivers: give either `receiver` or `receivers`, not both",
    ]


def test_root_route_needs_a_receiver(tmp_path: Path) -> None:
    assert messages(tmp_path, receivers=[{"name": "a"}], route={"group_by": ["job"]}) == [
        "route: the root route needs a `receiver`"]


@pytest.mark.parametrize("matcher", ['a="b"', "a=b", "a!=b", 'a=~"b|c"', 'a!~"x.*"', '{a="b"}', '"quoted name"="v"',
                                     "a=", "a = b"])
def test_valid_matchers(tmp_path: Path, matcher: str) -> None:
    assert messages(tmp_path, receivers=[{"name": "a"}], route={"receiver": "a", "matchers": [matcher]}) == []


@pytest.mark.parametrize("matcher", ["a", "a b", "=b", "1a=b", 'a=~"("'])
def test_invalid_matchers(tmp_path: Path, matcher: str) -> None:
    [found] = messages(tmp_path, receivers=[{"name": "a"}], route={"receiver": "a", "matchers": [matcher]})
    assert found.startswith("route.matchers.0: invalid")


def test_unknown_pack_parameter_has_a_hint(tmp_path: Path) -> None:
    from stackgen.content import catalog

    pack = "node"
    known = catalog.pack_params(pack)
    if not known:
        pytest.skip("the node pack has no parameters")
    misspelt = next(iter(known)) + "x"
    [found] = messages(tmp_path, rules={"include": [pack], "params": {pack: {misspelt: 1}}})
    assert found.startswith(f"rules.params.{pack}.{misspelt}: pack '{pack}' has no parameter '{misspelt}'")


def test_rule_file_problems_are_reported_at_their_own_file(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "mine.yml").write_text(
        "groups:\n  - name: mine\n    rules:\n      - alert: Bad\n        expr: rate(x[5m]\n", encoding="utf-8")
    path = write_spec(tmp_path, base_spec(rules={"include": [], "files": ["rules/mine.yml"]}))
    [problem] = check_spec(path, {}, display_name="s.yaml").errors
    assert problem.format().startswith("rules/mine.yml:5:15: groups.0.rules.0.expr: invalid PromQL")


def test_missing_template_of_a_relay_channel(tmp_path: Path) -> None:
    [found] = messages(tmp_path, receivers=[{"name": "d", "dingtalk": {"url": "https://x", "template": "t.j2"}}])
    assert found.startswith("receivers.0.dingtalk.template: no such file: t.j2")


def test_notices_are_not_errors(tmp_path: Path) -> None:
    path = write_spec(tmp_path, base_spec(targets=[{"job": "a", "targets": ["localhost:1"]}]))
    checked = check_spec(path, {})
    assert checked.errors == []
    assert [problem.severity for problem in checked.problems] == [Severity.NOTICE]


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("30s", 30), ("1h30m", 5400), ("100ms", 0.1),
                                               ("1y2w3d", 31536000 + 2 * 604800 + 3 * 86400), ("5", None),
                                               ("1.5h", None), ("m", None)])
def test_duration_seconds(text: str, seconds: float | None) -> None:
    assert duration_seconds(text) == seconds


def test_unknown_relay_timezone_suggests_the_closest(tmp_path: Path) -> None:
    errors, _ = check(tmp_path, relay={"timezone": "Asia/Shanghia"})
    [line] = errors
    assert line.endswith("relay.timezone: unknown time zone 'Asia/Shanghia' (an IANA name such as Asia/Shanghai) "
                         "(did you mean 'Asia/Shanghai'?)"), line
    assert messages(tmp_path, relay={"timezone": "Europe/Berlin"}) == []


def test_a_disabled_rule_must_exist_where_it_would_take_effect(tmp_path: Path) -> None:
    errors, notices = check(tmp_path, rules={"include": ["node"], "disable": [
        "NodeFilesystemSpaceLow", "NodeFilesystemSpaceLw", "Watchdog"],
        "groups": [{"name": "mine", "rules": [{"alert": "Mine", "expr": "up == 0"}]}]})
    assert [line.split(": ", 1)[1] for line in errors] == [
        "rules.disable.1: no rule 'NodeFilesystemSpaceLw' in the included packs "
        "(did you mean 'NodeFilesystemSpaceLow'?)"]
    assert [line.split(": ", 2)[2] for line in notices] == [
        "rules.disable.2: rule 'Watchdog' is in pack 'watchdog', which is not included "
        "(nothing to disable: remove it, or include the pack)"]
    # packs chosen from the exporters (no include): any pack's rule is fine; the spec's own are not packs'
    assert messages(tmp_path, rules={"disable": ["Watchdog", "Mine", "Nope"], "groups": [
        {"name": "mine", "rules": [{"alert": "Mine", "expr": "up == 0"}]}]}) == [
        "rules.disable.1: 'Mine' is a rule of your own (rules.groups) "
        "(disable turns off pack rules; remove yours from its group instead)",
        "rules.disable.2: no rule 'Nope' in any rule pack"]


def warnings(tmp_path: Path, **sections: object) -> list[str]:
    path = write_spec(tmp_path, base_spec(**sections))
    checked = check_spec(path, {}, display_name="s.yaml")
    return [f"{p.path}: {p.message}" for p in checked.problems if p.severity is Severity.WARNING]


def test_a_receiver_without_integration_names_the_routes_that_lead_there(tmp_path: Path) -> None:
    receivers = [{"name": "ops"}, {"name": "mail", "email": {"to": "a@example.com", "from": "b@example.com",
                                                             "smarthost": "smtp.example.com:587"}},
                 {"name": "unused"}, {"name": "null"}]
    route = {"receiver": "ops", "routes": [
        {"matchers": ['team="db"'], "receiver": "mail"},
        {"matchers": ['team="web"'], "receivers": ["mail", "ops"]},
        {"matchers": ['alertname="Watchdog"'], "receiver": "null"}]}
    assert warnings(tmp_path, receivers=receivers, route=route) == [
        "('receivers', 0, 'name'): receiver 'ops' has no integration: alerts routed to it (route, route.routes.1) are dropped"]
    assert messages(tmp_path, receivers=receivers, route=route) == []  # a warning: the spec stays valid


def test_the_default_blueprint_warns_and_init_says_how_to_add_a_channel(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["init", str(tmp_path / "demo")], capsys)
    assert code == 0, err
    assert "to do: receiver 'ops' has no integration: alerts routed to it (route) are dropped" in err
    assert 'e.g. `dingtalk: {url: "${DINGTALK_URL}", secret: "${DINGTALK_SECRET}"}`' in err
    assert "stackgen notify test ops" in err


@pytest.mark.parametrize(("expr", "expected"), [
    ("rate(x[15s]) > 0", ["rate() over [15s] is always empty: samples come every 15s at best, and it needs two"]),
    ("sum by (job) (increase(x[10s])) / on() group_left deriv(y[1m])",
     ["increase() over [10s] is always empty: samples come every 15s at best, and it needs two"]),
    ("max_over_time(irate(x[5s])[5m:1m])", ["irate() over [5s] is always empty: samples come every 15s at best, and it needs two"]),
    ("rate(x[1m]) > 0 and changes(y[15s]) > 0", []),  # changes() works on one sample
])
def test_a_rate_window_that_holds_one_sample_at_most_is_a_warning(tmp_path: Path, expr: str,
                                                                   expected: list[str]) -> None:
    found = warnings(tmp_path, rules=rule_group({"alert": "A", "expr": expr}))
    assert [line.split(": ", 1)[1] for line in found] == expected


def test_the_shortest_interval_of_the_stack_decides_the_window(tmp_path: Path) -> None:
    rules = rule_group({"alert": "A", "expr": "rate(x[15s]) > 0"})
    assert warnings(tmp_path, rules=rules, prometheus={"scrape_interval": "5s", "evaluation_interval": "5s"}) == []
    assert warnings(tmp_path, rules=rules, prometheus={"scrape_interval": "1m", "evaluation_interval": "1m"},
                    targets=[{"job": "fast", "targets": ["a:1"], "scrape_interval": "10s"}]) == []


def test_the_fleet_contract_s_discovery_key_validates_as_it_stands() -> None:
    fleet = CONTRACT.parent / "fleet.example.yaml"
    if not fleet.is_file():
        pytest.skip(f"no contract at {fleet}")
    checked = check_spec(fleet, {"WEB_ADMIN_PASSWORD": "x", "FLEET_SCRAPE_PASSWORD": "y"})
    assert [p.format() for p in checked.problems if p.path[:1] == ("discovery",)] == []


def test_docker_discovery_without_a_socket_is_a_warning_and_its_job_name_is_taken(tmp_path: Path) -> None:
    missing = tmp_path / "no.sock"
    found = warnings(tmp_path, discovery={"docker": {"host": f"unix://{missing}"}})
    assert found == [f"('discovery', 'docker', 'host'): no Docker socket at {missing} on this machine: Prometheus "
                     "discovers nothing until it exists (render reads its group from it)"]
    assert warnings(tmp_path, discovery={"docker": {"host": "tcp://proxy:2375"}}) == []
    assert messages(tmp_path, targets=[{"job": "docker-discovery", "targets": ["a:1"]}]) == [
        "targets.0.job: job name 'docker-discovery' is taken by the stack's own scrape job (pick another name)"]


def test_an_add_on_role_s_published_port_is_checked_from_its_registry_entry(tmp_path: Path) -> None:
    """The collision check knows victoria_metrics.port only through roles.py (Addon.published_ports)."""
    assert messages(tmp_path, victoria_metrics={"enabled": True, "port": 3000}) == [
        "victoria_metrics.port: port 3000 is already published by grafana.port"]
    assert messages(tmp_path, victoria_metrics={"enabled": False, "port": 3000}) == []
