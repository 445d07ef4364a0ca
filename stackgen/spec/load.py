"""Read stack.yaml into plain data, with the line and column of every key and value.

ruamel.yaml's round-trip loader gives positions; the tree is then copied into plain dicts, lists and
scalars (with `${VAR}` expanded) so that nothing downstream depends on ruamel's types.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.spec.interpolate import interpolate
from stackgen.spec.problems import Path as DataPath
from stackgen.spec.problems import Problem

MAX_SPEC_BYTES = 8 * 1024 * 1024

Position = tuple[int, int]


@dataclass
class Positions:
    """1-based positions of values and keys by data path; unknown paths fall back to their parent."""

    values: dict[DataPath, Position] = field(default_factory=dict)
    keys: dict[DataPath, Position] = field(default_factory=dict)

    def of_value(self, path: DataPath) -> Position:
        """Where the value at `path` starts (or its nearest known ancestor)."""
        return self._nearest(self.values, path)

    def of_key(self, path: DataPath) -> Position:
        """Where the key that ends `path` is written (or the value, for list items)."""
        if path in self.keys:
            return self.keys[path]
        return self.of_value(path)

    def _nearest(self, table: dict[DataPath, Position], path: DataPath) -> Position:
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            probe = probe[:-1]
        return table.get((), (1, 1))


@dataclass
class LoadedSpec:
    """The spec as plain data, where each part was written, and the problems found while reading."""

    file: str
    path: Path
    data: Any
    positions: Positions
    problems: list[Problem]

    def problem(self, path: DataPath, message: str, hint: str | None = None, *, at_key: bool = False,
                **kwargs: Any) -> Problem:
        """A Problem located at `path` in this file."""
        line, column = self.positions.of_key(path) if at_key else self.positions.of_value(path)
        return Problem(self.file, line, column, tuple(path), message, hint, **kwargs)


def load_spec_file(path: Path, env: Mapping[str, str], display_name: str | None = None) -> LoadedSpec:
    """Read and parse `path`; every failure becomes a Problem, never an exception."""
    name = display_name or str(path)
    empty = Positions()

    def fail(message: str, line: int = 1, column: int = 1, hint: str | None = None) -> LoadedSpec:
        return LoadedSpec(name, path, None, empty, [Problem(name, line, column, (), message, hint)])

    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            return fail(f"the spec is {size / 1e6:.1f} MB; stackgen reads specs up to {MAX_SPEC_BYTES // 2**20} MB",
                        hint="is this the right file?")
        raw = path.read_bytes()
    except FileNotFoundError:
        return fail("no such file", hint="create one with `stackgen init DIR`")
    except IsADirectoryError:
        return fail("is a directory, not a spec file", hint="pass the stack.yaml inside it with -f")
    except OSError as error:
        return fail(f"cannot read the spec: {error.strerror}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        return fail(f"not UTF-8 text (byte 0x{raw[error.start]:02x})", line, column,
                    hint="stack.yaml must be a UTF-8 YAML file")
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        return fail("binary data in the spec (a NUL character)", line, offset - text.rfind("\n", 0, offset))
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        return fail("the spec is empty", hint="it needs at least `version: 1` and `name: NAME`")

    tree, error_problem = _parse_yaml(text, name)
    if error_problem is not None:
        return LoadedSpec(name, path, None, empty, [error_problem])
    if tree is None:
        return fail("the spec is empty", hint="it needs at least `version: 1` and `name: NAME`")

    positions = Positions()
    problems: list[Problem] = []
    data = _to_plain(tree, (), positions, env, problems, name)
    if not isinstance(data, dict):
        return LoadedSpec(name, path, data, positions,
                          [Problem(name, 1, 1, (), "the spec must be a mapping of keys (version:, name:, ...)",
                                   "start from `stackgen init`")])
    return LoadedSpec(name, path, data, positions, problems)


def _parse_yaml(text: str, name: str) -> tuple[Any, Problem | None]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        return yaml.load(text), None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = _yaml_message(error)
        return None, Problem(name, line, column, (), message)
    except YAMLError as error:
        return None, Problem(name, 1, 1, (), f"invalid YAML: {error}")
    except RecursionError:
        return None, Problem(name, 1, 1, (), "invalid YAML: nested too deeply")


def _yaml_message(error: Any) -> str:
    from ruamel.yaml.constructor import DuplicateKeyError

    if isinstance(error, DuplicateKeyError):
        problem = str(error.problem or "").split("\n")[0]
        return f"duplicate key: {problem.replace('found duplicate key', '').strip().rstrip(',')}".strip()
    parts = [part for part in (error.context, error.problem) if part]
    return "invalid YAML: " + ", ".join(str(part) for part in parts)


def _to_plain(node: Any, path: DataPath, positions: Positions, env: Mapping[str, str],
              problems: list[Problem], name: str) -> Any:
    """Copy ruamel's tree into plain Python values, recording positions and expanding ${VAR}."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(node, CommentedMap):
        result: dict[str, Any] = {}
        for key in node:
            key_line, key_col = node.lc.key(key)
            value_line, value_col = node.lc.value(key)
            text_key = key if isinstance(key, str) else _scalar_text(key)
            child = (*path, text_key)
            positions.keys[child] = (key_line + 1, key_col + 1)
            positions.values[child] = (value_line + 1, value_col + 1)
            result[str(text_key)] = _to_plain(node[key], child, positions, env, problems, name)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            line, column = node.lc.item(index)
            child = (*path, index)
            positions.values[child] = (line + 1, column + 1)
            items.append(_to_plain(item, child, positions, env, problems, name))
        return items
    if isinstance(node, str):
        text = str(node)
        if "$" not in text:
            return text
        expanded, errors = interpolate(text, env)
        for error in errors:
            line, column = positions.of_value(path)
            problems.append(Problem(name, line, column, path, error.message, error.hint))
        if not isinstance(node, ScalarString) and text.strip().startswith("${") and expanded != text:
            return _resolve_plain_scalar(expanded)
        return expanded
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, (datetime.date, datetime.datetime)):
        return node.isoformat()
    return _scalar_text(node)


def _scalar_text(value: Any) -> str:
    return str(value)


def _resolve_plain_scalar(text: str) -> Any:
    """A plain `port: ${PORT}` becomes 9090, not "9090", as if the value had been written there."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text, 10)
    except ValueError:
        pass
    return text
