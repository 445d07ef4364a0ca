"""Checks of where alerts go: receivers (unique names, at least one channel where routes lead), the
route tree (receivers and time intervals that exist, one receiver at the root) and the label matchers
of routes and inhibit rules."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackgen.model import CHANNEL_KINDS
from stackgen.spec.load import LoadedSpec
from stackgen.spec.meaning_common import duplicates, items
from stackgen.spec.problems import Problem, Severity
from stackgen.spec.schema_errors import closest

_MATCHER = re.compile(
    r'^\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*|"[^"]*")\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$'
)


def receiver_and_route_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Receivers, the route tree and inhibit rules."""
    names: list[tuple[tuple[Any, ...], str]] = []
    for index, receiver in items(data, "receivers"):
        if isinstance(receiver.get("name"), str):
            names.append((("receivers", index, "name"), receiver["name"]))
    yield from duplicates(spec, names, "receiver")
    known = {name for _, name in names} | {"null"}
    intervals = {item.get("name") for _, item in items(data, "time_intervals")}
    route = data.get("route")
    if isinstance(route, Mapping):
        if "receiver" not in route and "receivers" not in route:
            yield spec.problem(("route",), "the root route needs a `receiver`", at_key=True)
        yield from _route(spec, route, ("route",), known, intervals)
        yield from _receivers_without_integration(spec, data, route)
    for index, rule in items(data, "inhibit_rules"):
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
        for index, receiver in items(data, "receivers")
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
