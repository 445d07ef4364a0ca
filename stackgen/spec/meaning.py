"""Checks of meaning that a schema cannot express: names that must be unique or defined, PromQL that
must parse, matchers, durations that must agree, files that must exist.

Every check reads the raw spec data defensively (the schema may have failed elsewhere), so that one
run reports every problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackgen.model import (
    CHANNEL_KINDS,
    DEFAULT_IMAGES,
    LOCAL_ENDPOINT_KEYS,
    RELAY_CHANNELS,
    rewrite_local_address,
)
from stackgen.roles import REGISTRY, Role, addon_roles
from stackgen.spec.addresses import BUILTIN_PROBERS, probe_target_problem, scrape_target_problem
from stackgen.spec.load import LoadedSpec
from stackgen.spec.problems import Problem, Severity
from stackgen.spec.schema import default
from stackgen.spec.schema_errors import closest

if TYPE_CHECKING:
    from stackgen.spec.templates import GoTemplateCheck

# Jobs stackgen adds itself to scrape the stack; a user job of the same name would collide.
INTERNAL_JOBS = (*(str(role) for role in REGISTRY), "docker-discovery")
BUILTIN_PROBE_MODULES = ("http_2xx", "http_post_2xx", "http_any", "tcp_connect", "icmp", "dns")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_MATCHER = re.compile(
    r'^\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*|"[^"]*")\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$'
)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def meaning_problems(spec: LoadedSpec) -> list[Problem]:
    """Every problem of meaning in the spec."""
    from stackgen.spec.meaning_web import web_problems
    from stackgen.spec.templates import relay_template_problems

    data = spec.data if isinstance(spec.data, dict) else {}
    rule_files = _load_rule_files(spec, data)
    templates = _start_template_check(spec, data, rule_files)  # runs while the other checks do
    checks = (
        _jobs_and_probes,
        _rules,
        _receivers_and_routes,
        _images,
        _durations,
        _ports,
        _files,
        _local_targets,
        _content,
        _timezone,
        relay_template_problems,
        _docker_socket,
        web_problems,
        _deploy,
    )
    problems: list[Problem] = list(_rule_files(rule_files))
    for check in checks:
        problems.extend(check(spec, data))
    from stackgen.spec.meaning_fleet import fleet_problems

    problems.extend(fleet_problems(spec, data))
    problems.extend(templates.problems())
    return problems


def _start_template_check(
    spec: LoadedSpec, data: Mapping[str, Any], rule_files: list[LoadedSpec]
) -> GoTemplateCheck:
    from stackgen.spec.templates import GoTemplateCheck, alertmanager_templates, rule_templates

    rules = rule_templates(spec, _section(data, "rules").get("groups"), ("rules", "groups"))
    for loaded in rule_files:
        if isinstance(loaded.data, dict):
            rules += rule_templates(loaded, loaded.data.get("groups"), ("groups",))
    files: list[tuple[LoadedSpec, tuple[str | int, ...], Path]] = [
        (spec, ("alertmanager", "templates", index), spec.path.parent / name)
        for index, name in enumerate(_section(data, "alertmanager").get("templates") or [])
        if isinstance(name, str) and (spec.path.parent / name).is_file()
    ]
    return GoTemplateCheck(rules, alertmanager_templates(spec, data), files)


def _items(data: Mapping[str, Any], key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    value = data.get(key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _duplicates(spec: LoadedSpec, entries: list[tuple[tuple[Any, ...], str]], what: str) -> Iterator[Problem]:
    first: dict[str, tuple[Any, ...]] = {}
    for path, name in entries:
        if name in first:
            line, _ = spec.positions.of_value(first[name])
            yield spec.problem(path, f"duplicate {what} '{name}' (first defined on line {line})")
        else:
            first[name] = path


def _jobs_and_probes(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    names: list[tuple[tuple[Any, ...], str]] = []
    for index, job in _items(data, "targets"):
        name = job.get("job")
        if isinstance(name, str):
            names.append((("targets", index, "job"), name))
        sources = [key for key in ("targets", "consul", "dns") if key in job]
        if not sources:
            yield spec.problem(("targets", index), "a job needs `targets`, `consul` or `dns`")
        elif len(sources) > 1:
            yield spec.problem(
                ("targets", index, sources[1]),
                f"a job takes one of `targets`, `consul` or `dns`, not {' and '.join(sources)}",
                "split it into two jobs",
            )
        targets = job.get("targets")
        for t_index, target in enumerate(targets if isinstance(targets, list) else []):
            wrong = scrape_target_problem(target) if isinstance(target, str) else None
            if wrong:
                yield spec.problem(("targets", index, "targets", t_index), wrong.message, wrong.hint)
        metrics_path = job.get("metrics_path")
        if isinstance(metrics_path, str) and "?" in metrics_path:
            from urllib.parse import parse_qs

            bare_path, _, query = metrics_path.partition("?")
            params = ", ".join(f"{key}: [{', '.join(values)}]" for key, values in parse_qs(query).items())
            yield spec.problem(
                ("targets", index, "metrics_path"),
                "Prometheus escapes '?' in metrics_path: the query never reaches the target",
                f"write `metrics_path: {bare_path}` and `params: {{{params}}}`",
            )
    custom_modules = _section(_section(data, "blackbox"), "modules")
    modules = set(BUILTIN_PROBE_MODULES) | set(custom_modules)
    for index, probe in _items(data, "probes"):
        name = probe.get("name")
        if isinstance(name, str):
            names.append((("probes", index, "name"), name))
        module = probe.get("module")
        if isinstance(module, str) and module not in modules:
            yield spec.problem(
                ("probes", index, "module"),
                f"unknown blackbox module '{module}'",
                closest(module, modules) or "define it under blackbox.modules",
            )
        custom = custom_modules.get(module) if isinstance(module, str) else None
        prober = custom.get("prober") if isinstance(custom, Mapping) else BUILTIN_PROBERS.get(str(module))
        targets = probe.get("targets")
        for t_index, target in enumerate(targets if isinstance(targets, list) else []):
            wrong = probe_target_problem(target, str(prober)) if isinstance(target, str) else None
            if wrong:
                yield spec.problem(("probes", index, "targets", t_index), wrong.message, wrong.hint)
    if list(_items(data, "probes")):
        blackbox = _section(data, "exporters").get("blackbox", True)
        if blackbox is False or (isinstance(blackbox, Mapping) and blackbox.get("enabled") is False):
            yield spec.problem(
                ("exporters", "blackbox"), "probes need the blackbox exporter, which is disabled"
            )
    for path, name in names:
        if name in INTERNAL_JOBS:
            yield spec.problem(
                path, f"job name '{name}' is taken by the stack's own scrape job", "pick another name"
            )
    yield from _duplicates(spec, names, "job")


def _load_rule_files(spec: LoadedSpec, data: Mapping[str, Any]) -> list[LoadedSpec]:
    """The rule files the spec includes (those that exist: _files reports the others)."""
    from stackgen.spec.load import load_spec_file

    loaded = []
    for name in _section(data, "rules").get("files") or []:
        path = spec.path.parent / name if isinstance(name, str) else None
        if path is not None and path.is_file():
            loaded.append(load_spec_file(path, None, display_name=name))
    return loaded


def _rule_files(rule_files: list[LoadedSpec]) -> Iterator[Problem]:
    """Rule files included as they are get the same checks as groups in the spec, reported against
    their own file, line and column."""
    from stackgen.spec.load import LoadedSpec, Positions
    from stackgen.spec.schema_errors import schema_problems

    for loaded in rule_files:
        name = loaded.file
        path = loaded.path
        yield from loaded.problems
        if not isinstance(loaded.data, dict):
            continue
        for key in loaded.data:
            if key != "groups":
                yield loaded.problem(
                    (key,),
                    f"unknown key '{key}' in a rule file",
                    "a rule file has `groups:` only",
                    at_key=True,
                )
        # Check the file as if its groups were the spec's rules.groups, then report paths as in the file.
        shifted = Positions(
            {("rules", *p): v for p, v in loaded.positions.values.items()},
            {("rules", *p): v for p, v in loaded.positions.keys.items()},
        )
        wrapped = LoadedSpec(
            name,
            path,
            {"version": 1, "name": "x", "rules": {"groups": loaded.data.get("groups") or []}},
            shifted,
            [],
        )
        for problem in [*schema_problems(wrapped), *_rules(wrapped, wrapped.data)]:
            yield Problem(
                problem.file, problem.line, problem.column, problem.path[1:], problem.message, problem.hint
            )


def _rules(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    import promql_parser

    rules = _section(data, "rules")
    groups = rules.get("groups")
    shortest = _shortest_interval(data)
    group_names: list[tuple[tuple[Any, ...], str]] = []
    for g_index, group in enumerate(groups if isinstance(groups, list) else []):
        if not isinstance(group, Mapping):
            continue
        if isinstance(group.get("name"), str):
            group_names.append((("rules", "groups", g_index, "name"), group["name"]))
        for r_index, rule in enumerate(group.get("rules") or []):
            if not isinstance(rule, Mapping):
                continue
            path = ("rules", "groups", g_index, "rules", r_index)
            has_alert, has_record = "alert" in rule, "record" in rule
            if has_alert == has_record:
                yield spec.problem(path, "a rule needs exactly one of `alert` or `record`")
            if has_record and isinstance(rule.get("record"), str) and not _METRIC_NAME.match(rule["record"]):
                yield spec.problem((*path, "record"), f"invalid metric name {rule['record']!r}")
            if has_record and ("for" in rule or "annotations" in rule or "keep_firing_for" in rule):
                yield spec.problem(
                    path, "`for`, `keep_firing_for` and `annotations` belong to alerting rules only"
                )
            expr = rule.get("expr")
            if isinstance(expr, (int, float)) and not isinstance(expr, bool):
                expr = str(expr)
            if isinstance(expr, str):
                if not expr.strip():
                    yield spec.problem((*path, "expr"), "empty PromQL expression")
                    continue
                try:
                    parsed = promql_parser.parse(expr)
                except Exception as error:  # the parser raises ValueError/RuntimeError variants
                    yield spec.problem((*path, "expr"), f"invalid PromQL: {_one_line(error)}")
                    continue
                yield from _empty_windows(spec, (*path, "expr"), parsed, shortest)
    yield from _duplicates(spec, group_names, "rule group")


# Functions that need two samples of a series in their window to return anything.
_TWO_SAMPLE_FUNCTIONS = ("rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear")


def _shortest_interval(data: Mapping[str, Any]) -> float:
    """The shortest interval at which the stack takes samples: a window no longer holds one sample at most."""
    prometheus = _section(data, "prometheus")
    intervals = [prometheus.get("scrape_interval", "15s"), prometheus.get("evaluation_interval", "15s")]
    intervals += [job.get("scrape_interval") for _, job in _items(data, "targets")]
    intervals += [probe.get("interval") for _, probe in _items(data, "probes")]
    intervals += [group.get("interval") for _, group in _items(_section(data, "rules"), "groups")]
    seconds = [duration_seconds(value) for value in intervals if isinstance(value, str)]
    return min([value for value in seconds if value], default=15.0)


def _empty_windows(spec: LoadedSpec, path: tuple[Any, ...], node: Any, shortest: float) -> Iterator[Problem]:
    """rate(x[15s]) when samples come every 15 s or less often: never two samples, always empty."""
    if type(node).__name__ == "Call" and node.func.name in _TWO_SAMPLE_FUNCTIONS and node.args:
        window = node.args[0]
        if type(window).__name__ == "MatrixSelector" and window.range.total_seconds() <= shortest:
            seconds = window.range.total_seconds()
            yield spec.problem(
                path,
                f"{node.func.name}() over [{_seconds_text(seconds)}] is always empty: "
                f"samples come every {_seconds_text(shortest)} at best, and it needs two",
                f"use a window of at least 4 x the scrape interval, e.g. [{_seconds_text(shortest * 4)}]",
                severity=Severity.WARNING,
            )
    for attribute in ("lhs", "rhs", "expr", "param"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _empty_windows(spec, path, child, shortest)
    for child in getattr(node, "args", None) or []:
        yield from _empty_windows(spec, path, child, shortest)


def _seconds_text(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g}s"


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _receivers_and_routes(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    names: list[tuple[tuple[Any, ...], str]] = []
    for index, receiver in _items(data, "receivers"):
        if isinstance(receiver.get("name"), str):
            names.append((("receivers", index, "name"), receiver["name"]))
    yield from _duplicates(spec, names, "receiver")
    known = {name for _, name in names} | {"null"}
    intervals = {item.get("name") for _, item in _items(data, "time_intervals")}
    route = data.get("route")
    if isinstance(route, Mapping):
        if "receiver" not in route and "receivers" not in route:
            yield spec.problem(("route",), "the root route needs a `receiver`", at_key=True)
        yield from _route(spec, route, ("route",), known, intervals)
        yield from _receivers_without_integration(spec, data, route)
    for index, rule in _items(data, "inhibit_rules"):
        for key in ("source_matchers", "target_matchers"):
            for m_index, matcher in enumerate(rule.get(key) or []):
                yield from _matcher(spec, ("inhibit_rules", index, key, m_index), matcher)


def _route(
    spec: LoadedSpec, route: Mapping[str, Any], path: tuple[Any, ...], known: set[Any], intervals: set[Any]
) -> Iterator[Problem]:
    if "receiver" in route and "receivers" in route:
        yield spec.problem((*path, "receivers"), "give either `receiver` or `receivers`, not both")
    if "receivers" in route and path == ("route",) and len(route.get("receivers") or []) > 1:
        yield spec.problem(
            (*path, "receivers"),
            "the root route takes one `receiver`",
            "name several receivers in a child route without matchers",
        )
    if "receivers" in route and route.get("routes"):
        yield spec.problem(
            (*path, "receivers"),
            "a route with several `receivers` cannot have child `routes`",
            "it becomes one sibling route per receiver; nest the children under a route of their own",
        )
    named = [(("receiver",), route.get("receiver"))] + [
        (("receivers", i), name) for i, name in enumerate(route.get("receivers") or [])
    ]
    for sub, name in named:
        if isinstance(name, str) and name not in known:
            yield spec.problem(
                (*path, *sub),
                f"unknown receiver '{name}'",
                closest(name, [n for n in known if isinstance(n, str)]) or "define it under receivers",
            )
    for key in ("mute_time_intervals", "active_time_intervals"):
        for i, name in enumerate(route.get(key) or []):
            if isinstance(name, str) and name not in intervals:
                yield spec.problem(
                    (*path, key, i),
                    f"unknown time interval '{name}'",
                    closest(name, [n for n in intervals if isinstance(n, str)])
                    or "define it under time_intervals",
                )
    for i, matcher in enumerate(route.get("matchers") or []):
        yield from _matcher(spec, (*path, "matchers", i), matcher)
    for i, child in enumerate(route.get("routes") or []):
        if isinstance(child, Mapping):
            yield from _route(spec, child, (*path, "routes", i), known, intervals)


def _receivers_without_integration(
    spec: LoadedSpec, data: Mapping[str, Any], root: Mapping[str, Any]
) -> Iterator[Problem]:
    """A receiver with no channel drops what is routed to it, silently: say which routes lead there.
    (`null`, the Watchdog's, is meant to.)"""
    empty = {
        receiver["name"]: index
        for index, receiver in _items(data, "receivers")
        if isinstance(receiver.get("name"), str)
        and receiver["name"] != "null"
        and not any(receiver.get(kind) for kind in CHANNEL_KINDS)
    }
    if not empty:
        return
    leading: dict[str, list[str]] = {}

    def walk(route: Mapping[str, Any], path: str) -> None:
        receivers = route.get("receivers")
        named = [route.get("receiver"), *(receivers if isinstance(receivers, list) else [])]
        for name in named:
            if isinstance(name, str) and name in empty:
                leading.setdefault(name, []).append(path)
        children = route.get("routes")
        for index, child in enumerate(children if isinstance(children, list) else []):
            if isinstance(child, Mapping):
                walk(child, f"{path}.routes.{index}")

    walk(root, "route")
    for name, routes in leading.items():
        yield spec.problem(
            ("receivers", empty[name], "name"),
            f"receiver '{name}' has no integration: alerts routed to it ({', '.join(routes)}) are dropped",
            f"give it a channel ({', '.join(CHANNEL_KINDS)}), e.g. "
            '`dingtalk: {url: "${DINGTALK_URL}", secret: "${DINGTALK_SECRET}"}`, '
            f"then check it with `stackgen notify test {name}`",
            severity=Severity.WARNING,
        )


def _matcher(spec: LoadedSpec, path: tuple[Any, ...], matcher: Any) -> Iterator[Problem]:
    if not isinstance(matcher, str):
        return
    text = matcher.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    match = _MATCHER.match(text)
    if not match:
        yield spec.problem(
            path,
            f"invalid matcher {matcher!r}",
            'write label="value", label!="value", label=~"regex" or label!~"regex"',
        )
        return
    value = match.group("value")
    if match.group("op") in ("=~", "!~"):
        pattern = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        try:
            re.compile(pattern)
        except re.error as error:
            yield spec.problem(path, f"invalid regular expression in matcher: {error}")


def _images(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    known = [*DEFAULT_IMAGES, "registry"]
    for key in _section(data, "images"):
        if key not in known:
            yield spec.problem(
                ("images", key),
                f"unknown service '{key}' in images",
                closest(key, known) or f"services: {', '.join(DEFAULT_IMAGES)}",
                at_key=True,
            )


def duration_seconds(text: str) -> float | None:
    """'1h30m' -> 5400.0; None if not a Prometheus duration."""
    if text == "0":
        return 0.0
    parts = re.findall(r"([0-9]+)(ms|[smhdwy])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _durations(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    prometheus = _section(data, "prometheus")
    interval = duration_seconds(str(prometheus.get("scrape_interval", "15s")))
    timeout = duration_seconds(str(prometheus.get("scrape_timeout", "10s")))
    if interval is not None and timeout is not None:
        if "scrape_timeout" not in prometheus and timeout > interval:
            timeout = interval  # the default timeout follows a short interval down
        elif timeout > interval:
            yield spec.problem(
                ("prometheus", "scrape_timeout"), "scrape_timeout is longer than scrape_interval"
            )
    for index, job in _items(data, "targets"):
        job_interval = duration_seconds(str(job.get("scrape_interval", ""))) or interval
        job_timeout = duration_seconds(str(job.get("scrape_timeout", "")))
        if job_timeout and job_interval and job_timeout > job_interval:
            yield spec.problem(
                ("targets", index, "scrape_timeout"), "scrape_timeout is longer than scrape_interval"
            )


def _ports(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    import ipaddress

    listen = data.get("listen")
    if isinstance(listen, str):
        try:
            ipaddress.ip_address(listen)
        except ValueError:
            yield spec.problem(
                ("listen",),
                f"expected an IP address of this host, got {listen!r}",
                "127.0.0.1 (the default) keeps the stack private to this machine",
            )

    def port(section: str, key: str) -> int | None:
        values = _section(data, section)
        value = values[key] if key in values else default(section, key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    published: list[tuple[tuple[Any, ...], int | None]] = [
        (("prometheus", "port"), port("prometheus", "port")),
        (("alertmanager", "port"), port("alertmanager", "port")),
    ]
    prom_replicas = _section(data, "prometheus").get("replicas", 1)
    am_replicas = _section(data, "alertmanager").get("replicas", 1)
    if isinstance(published[0][1], int) and isinstance(prom_replicas, int):
        published += [(("prometheus", "port"), published[0][1] + n) for n in range(1, prom_replicas)]
    if isinstance(published[1][1], int) and isinstance(am_replicas, int):
        published += [(("alertmanager", "port"), published[1][1] + n) for n in range(1, am_replicas)]
    if _section(data, "grafana").get("enabled", True) is not False:
        published.append((("grafana", "port"), port("grafana", "port")))
    for addon in addon_roles().values():  # what an add-on role publishes: the ports its entry names
        if _section(data, addon.settings).get("enabled", default(addon.settings, "enabled")) is True:
            published += [((addon.settings, key), port(addon.settings, key)) for key in addon.published_ports]
    if _section(data, "tracing").get("enabled") is True:
        for key in ("jaeger_port", "otlp_grpc_port", "otlp_http_port"):
            published.append((("tracing", key), port("tracing", key)))
    for key, value in _section(data, "exporters").items():
        if isinstance(value, Mapping) and value.get("enabled", True) and isinstance(value.get("port"), int):
            published.append((("exporters", key, "port"), value["port"]))
        elif key == "pushgateway" and value is True:
            published.append((("exporters", key), REGISTRY[Role.PUSHGATEWAY].port))
    if any(kind in receiver for _, receiver in _items(data, "receivers") for kind in RELAY_CHANNELS):
        published.append((("relay", "port"), port("relay", "port")))
    seen: dict[int, tuple[Any, ...]] = {}
    for path, number in published:
        if number is None:
            continue
        if number in seen:
            other = ".".join(str(p) for p in seen[number])
            yield spec.problem(path, f"port {number} is already published by {other}")
        else:
            seen[number] = path


def _files(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    base = spec.path.parent
    for section, key in (("rules", "files"), ("dashboards", "files"), ("alertmanager", "templates")):
        for index, name in enumerate(_section(data, section).get(key) or []):
            if isinstance(name, str) and not (base / name).is_file():
                yield spec.problem(
                    (section, key, index), f"no such file: {name}", f"paths are relative to {base}"
                )
    yield from _tls_files(spec, data)
    for index, receiver in _items(data, "receivers"):
        for kind, value in receiver.items():
            for settings in value if isinstance(value, list) else [value]:
                if (
                    isinstance(settings, Mapping)
                    and isinstance(settings.get("template"), str)
                    and not (base / settings["template"]).is_file()
                ):
                    yield spec.problem(
                        ("receivers", index, kind, "template"),
                        f"no such file: {settings['template']}",
                        f"paths are relative to {base}",
                    )


def _local_targets(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    if data.get("host_access", "auto") != "auto":
        return
    addresses: list[tuple[tuple[Any, ...], Any]] = []
    for section, key in (("targets", "targets"), ("probes", "targets")):
        for index, item in _items(data, section):
            addresses += [
                ((section, index, key, t_index), address)
                for t_index, address in enumerate(item.get(key) or [])
            ]
    for index, receiver in _items(data, "receivers"):
        for kind, value in receiver.items():
            if isinstance(value, Mapping):
                addresses += [
                    (("receivers", index, kind, key), value.get(key)) for key in LOCAL_ENDPOINT_KEYS
                ]
    for path, address in addresses:
        rewritten = rewrite_local_address(address) if isinstance(address, str) else None
        if rewritten:
            verb = "scraped as" if path[0] in ("targets", "probes") else "reached as"
            yield spec.problem(
                path,
                f"{address} is the Docker host: {verb} {rewritten} (host-gateway)",
                "the service must listen on 0.0.0.0 or the docker bridge, not only on 127.0.0.1; "
                "set host_access: off to keep it as written",
                severity=Severity.NOTICE,
            )


def _tls_files(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Certificates and keys named by tls_config exist, are PEM, and come in cert/key pairs."""
    base = spec.path.parent
    places: list[tuple[tuple[Any, ...], Any]] = [
        (("targets", index, "tls_config"), job.get("tls_config")) for index, job in _items(data, "targets")
    ]
    places += [
        (("prometheus", "remote_write", index, "tls_config"), entry.get("tls_config"))
        for index, entry in _items(_section(data, "prometheus"), "remote_write")
    ]
    places += [
        (("receivers", index, "email", "tls_config"), receiver["email"].get("tls_config"))
        for index, receiver in _items(data, "receivers")
        if isinstance(receiver.get("email"), Mapping)
    ]
    modules = _section(_section(data, "blackbox"), "modules")
    places += [
        (("blackbox", "modules", name, prober, "tls_config"), module[prober].get("tls_config"))
        for name, module in modules.items()
        if isinstance(module, Mapping)
        for prober in ("http", "tcp", "grpc")
        if isinstance(module.get(prober), Mapping)
    ]
    for path, tls in places:
        if not isinstance(tls, Mapping):
            continue
        if ("cert_file" in tls) != ("key_file" in tls):
            present, missing = ("cert_file", "key_file") if "cert_file" in tls else ("key_file", "cert_file")
            yield spec.problem((*path, present), f"{present} needs {missing}: a client certificate is a pair")
        for key in ("ca_file", "cert_file", "key_file"):
            name = tls.get(key)
            if not isinstance(name, str) or not name:
                continue
            file = base / name
            if not file.is_file():
                yield spec.problem((*path, key), f"no such file: {name}", f"paths are relative to {base}")
            elif b"-----BEGIN " not in file.read_bytes()[:65536]:
                yield spec.problem((*path, key), f"{name} is not a PEM file (no -----BEGIN line)")


def _disabled_rules(spec: LoadedSpec, rules: Mapping[str, Any], packs: list[str]) -> Iterator[Problem]:
    """A name in rules.disable must be a rule of an included pack: a typo would leave the alert paging."""
    from stackgen.content import catalog

    disable = rules.get("disable")
    if not isinstance(disable, list) or not disable:
        return
    if "include" in rules:
        included = [name for name in rules.get("include") or [] if isinstance(name, str) and name in packs]
    else:
        included = packs  # chosen by the model from the exporters: judge against every pack
    in_included = {rule for pack in included for rule in catalog.pack_rule_names(pack)}
    own = {
        str(rule.get("alert") or rule.get("record"))
        for _, group in _items(rules, "groups")
        for _, rule in _items(group, "rules")
    }
    for index, name in enumerate(disable):
        if not isinstance(name, str) or name in in_included:
            continue
        if name in own:
            yield spec.problem(
                ("rules", "disable", index),
                f"'{name}' is a rule of your own (rules.groups)",
                "disable turns off pack rules; remove yours from its group instead",
            )
            continue
        elsewhere = [pack for pack in packs if pack not in included and name in catalog.pack_rule_names(pack)]
        if elsewhere:
            yield spec.problem(
                ("rules", "disable", index),
                f"rule '{name}' is in pack '{elsewhere[0]}', which is not included",
                "nothing to disable: remove it, or include the pack",
                severity=Severity.NOTICE,
            )
        else:
            where = "the included packs" if "include" in rules else "any rule pack"
            yield spec.problem(
                ("rules", "disable", index),
                f"no rule '{name}' in {where}",
                closest(name, sorted(in_included)),
            )


def _timezone(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    name = _section(data, "relay").get("timezone")
    if not isinstance(name, str) or not name:
        return
    from stackgen.relay.config import load_zone

    try:
        load_zone(name)
    except ValueError as error:
        import zoneinfo

        yield spec.problem(("relay", "timezone"), str(error), closest(name, zoneinfo.available_timezones()))


def _content(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Rule packs, their parameters and dashboards must be ones stackgen ships."""
    from stackgen.content import catalog

    rules = _section(data, "rules")
    packs = catalog.rule_packs()
    for index, name in enumerate(rules.get("include") or []):
        if isinstance(name, str) and name not in packs:
            yield spec.problem(
                ("rules", "include", index),
                f"unknown rule pack '{name}'",
                closest(name, packs) or f"packs: {', '.join(packs)}",
            )
    for pack, params in _section(rules, "params").items():
        if pack not in packs:
            yield spec.problem(
                ("rules", "params", pack), f"unknown rule pack '{pack}'", closest(pack, packs), at_key=True
            )
            continue
        known = catalog.pack_params(pack)
        for name in params if isinstance(params, Mapping) else {}:
            if name not in known:
                yield spec.problem(
                    ("rules", "params", pack, name),
                    f"pack '{pack}' has no parameter '{name}'",
                    closest(name, known) or f"parameters: {', '.join(known) or 'none'}",
                    at_key=True,
                )
    yield from _disabled_rules(spec, rules, packs)
    dashboards = catalog.dashboards()
    for index, name in enumerate(_section(data, "dashboards").get("include") or []):
        if isinstance(name, str) and name not in dashboards:
            yield spec.problem(
                ("dashboards", "include", index),
                f"unknown dashboard '{name}'",
                closest(name, dashboards) or f"dashboards: {', '.join(dashboards)}",
            )


def _deploy(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Swarm: HA replicas need nodes they can all read their config on; ports cannot stay on loopback."""
    deploy = _section(data, "deploy")
    if deploy.get("engine") != "swarm":
        return
    per_node = deploy.get("max_replicas_per_node", 1)
    for role in ("prometheus", "alertmanager"):
        replicas = _section(data, role).get("replicas", 1)
        if (
            isinstance(replicas, int)
            and isinstance(per_node, int)
            and replicas > per_node
            and deploy.get("shared_output") is not True
        ):
            yield spec.problem(
                (role, "replicas"),
                f"{replicas} replicas at most {per_node} per node need several nodes, but without "
                "deploy.shared_output every service that reads config is pinned to the node apply runs on",
                "put the output directory on storage every node mounts at the same path and set "
                "deploy.shared_output: true, or raise deploy.max_replicas_per_node",
            )
    listen = data.get("listen", "127.0.0.1")
    if listen in ("127.0.0.1", "::1", "localhost"):
        yield spec.problem(
            ("deploy", "engine"),
            f"Swarm publishes host-mode ports on every address of the node: listen {listen} is not kept",
            "add web.tls: {} and web.users so that what is published asks for a password, or firewall "
            "the published ports",
            severity=Severity.NOTICE,
        )


def _docker_socket(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """docker discovery reads the engine API: say when its socket is not here (nothing is discovered)."""
    import os

    docker = _section(data, "discovery").get("docker")
    if not docker:
        return
    if _section(data, "deploy").get("engine") == "swarm":
        yield spec.problem(
            ("discovery", "docker"),
            "docker discovery watches the containers of one engine "
            "and reaches them through host.docker.internal, which swarm tasks do not have",
            "with deploy.engine: swarm, run your services as swarm services and scrape them "
            "with targets or dns discovery",
            severity=Severity.WARNING,
        )
    host = (
        docker.get("host", "unix:///var/run/docker.sock")
        if isinstance(docker, Mapping)
        else "unix:///var/run/docker.sock"
    )
    if not isinstance(host, str) or not host.startswith("unix://"):
        return
    socket = host[len("unix://") :]
    given = isinstance(docker, Mapping) and "host" in docker
    path = ("discovery", "docker", "host") if given else ("discovery", "docker")
    if not os.path.exists(socket):
        yield spec.problem(
            path,
            f"no Docker socket at {socket} on this machine: Prometheus discovers "
            "nothing until it exists (render reads its group from it)",
            "render and apply on the Docker host, or give host: tcp://... for a remote engine",
            severity=Severity.WARNING,
        )
