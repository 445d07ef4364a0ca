"""What the checks of meaning share: reading raw spec data defensively (a list of mappings, a section
that may be missing or of the wrong type), reporting duplicate names, and Prometheus durations."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackgen.spec.load import LoadedSpec
from stackgen.spec.problems import Problem

_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def items(data: Mapping[str, Any], key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The mappings of the list at `key`, with their index (anything else is skipped)."""
    value = data.get(key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The mapping at `key`, or an empty one."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def duplicates(spec: LoadedSpec, entries: list[tuple[tuple[Any, ...], str]], what: str) -> Iterator[Problem]:
    """A problem at every name of `entries` that an earlier one already has."""
    first: dict[str, tuple[Any, ...]] = {}
    for path, name in entries:
        if name in first:
            line, _ = spec.positions.of_value(first[name])
            yield spec.problem(path, f"duplicate {what} '{name}' (first defined on line {line})")
        else:
            first[name] = path


def one_line(error: Exception) -> str:
    """An error's message on one line."""
    return " ".join(str(error).split())


def duration_seconds(text: str) -> float | None:
    """'1h30m' -> 5400.0; None if not a Prometheus duration."""
    if text == "0":
        return 0.0
    parts = re.findall(r"([0-9]+)(ms|[smhdwy])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(number) * _DURATION_UNITS[unit] for number, unit in parts)
