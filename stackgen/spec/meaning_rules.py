"""Checks of the Prometheus rules a spec brings: its own `rules.groups` and the rule files it includes
(reported against their own file, line and column): one of alert or record, metric names, PromQL that
parses, windows too short to ever hold two samples, unique group names."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackgen.spec.load import LoadedSpec
from stackgen.spec.meaning_common import duplicates, duration_seconds, items, one_line, section
from stackgen.spec.problems import Problem, Severity

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def load_rule_files(spec: LoadedSpec, data: Mapping[str, Any]) -> list[LoadedSpec]:
    """The rule files the spec includes (those that exist: meaning._files reports the others)."""
    from stackgen.spec.load import load_spec_file

    loaded = []
    for name in section(data, "rules").get("files") or []:
        path = spec.path.parent / name if isinstance(name, str) else None
        if path is not None and path.is_file():
            loaded.append(load_spec_file(path, None, display_name=name))
    return loaded


def rule_file_problems(rule_files: list[LoadedSpec]) -> Iterator[Problem]:
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
        for problem in [*schema_problems(wrapped), *rule_problems(wrapped, wrapped.data)]:
            yield Problem(
                problem.file, problem.line, problem.column, problem.path[1:], problem.message, problem.hint
            )


def rule_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """The rules of `rules.groups`: well formed, PromQL that parses, windows that can hold two samples."""
    import promql_parser

    rules = section(data, "rules")
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
                    yield spec.problem((*path, "expr"), f"invalid PromQL: {one_line(error)}")
                    continue
                yield from _empty_windows(spec, (*path, "expr"), parsed, shortest)
    yield from duplicates(spec, group_names, "rule group")


# Functions that need two samples of a series in their window to return anything.
_TWO_SAMPLE_FUNCTIONS = ("rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear")


def _shortest_interval(data: Mapping[str, Any]) -> float:
    """The shortest interval at which the stack takes samples: a window no longer holds one sample at most."""
    prometheus = section(data, "prometheus")
    intervals = [prometheus.get("scrape_interval", "15s"), prometheus.get("evaluation_interval", "15s")]
    intervals += [job.get("scrape_interval") for _, job in items(data, "targets")]
    intervals += [probe.get("interval") for _, probe in items(data, "probes")]
    intervals += [group.get("interval") for _, group in items(section(data, "rules"), "groups")]
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
