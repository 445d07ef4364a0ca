"""Read stack.yaml into plain data, with the line and column of every key and value.

libyaml's C composer (through PyYAML) gives nodes with positions in a fraction of the time of a
pure-Python parser; the nodes are turned into plain dicts, lists and scalars by YAML 1.2 rules, with
`${VAR}` expanded, so that nothing downstream depends on a YAML library's types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from stackgen.spec.interpolate import interpolate
from stackgen.spec.problems import Path as DataPath
from stackgen.spec.problems import Problem

MAX_SPEC_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 100  # levels of nesting: the deepest real spec value is about ten
MAX_VALUES = 1_000_000  # far above any real spec; stops alias bombs expanding without end


class _TooLarge(Exception):
    """The spec expands (through aliases) to more values than any real spec has."""

    def __init__(
        self, node: Any = None, path: tuple[Any, ...] = (), loop: bool = False, deep: bool = False
    ) -> None:
        super().__init__()
        self.node, self.path, self.loop, self.deep = node, path, loop, deep  # where it was found
        self.use: tuple[int, int] | None = None  # line, column of the key holding a looping alias


@dataclass
class _Budget:
    left: int = MAX_VALUES

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _TooLarge


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
    # The text of plain scalars whose type depends on their field, not on their looks: a lone ${VAR}
    # (`port: ${PORT}` is a number, `password: ${PW}` a string) and numbers or booleans written plain
    # where a string fits (`team: 1e3` stays "1e3", as Prometheus would read it).
    plain_texts: Mapping[DataPath, str] = field(default_factory=dict)

    def problem(
        self, path: DataPath, message: str, hint: str | None = None, *, at_key: bool = False, **kwargs: Any
    ) -> Problem:
        """A Problem located at `path` in this file."""
        line, column = self.positions.of_key(path) if at_key else self.positions.of_value(path)
        return Problem(self.file, line, column, tuple(path), message, hint, **kwargs)


_EMPTY_SPEC = "the spec is empty"
_EMPTY_SPEC_HINT = "it needs at least `version: 1` and `name: NAME`"


class _Unreadable(Exception):
    """What stops a spec being read at all: one problem, at the top of the file unless it is known."""

    def __init__(self, message: str, line: int = 1, column: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column, self.hint = message, line, column, hint

    def loaded(self, name: str, path: Path) -> LoadedSpec:
        """The LoadedSpec of a spec that could not be read: no data, this one problem."""
        problem = Problem(name, self.line, self.column, (), self.message, self.hint)
        return LoadedSpec(name, path, None, Positions(), [problem])


def load_spec_file(path: Path, env: Mapping[str, str] | None, display_name: str | None = None) -> LoadedSpec:
    """Read and parse `path`; every failure becomes a Problem, never an exception.

    `env` None reads the file without `${VAR}` interpolation (Prometheus rule files)."""
    name = display_name or str(path)
    try:
        text = _spec_text(path)
    except _Unreadable as unreadable:
        return unreadable.loaded(name, path)
    tree, error_problem = _parse_yaml(text, name)
    if error_problem is not None:
        return LoadedSpec(name, path, None, Positions(), [error_problem])
    if tree is None:
        return _Unreadable(_EMPTY_SPEC, hint=_EMPTY_SPEC_HINT).loaded(name, path)
    return _spec_from_tree(tree, name, path, env)


def _spec_text(path: Path) -> str:
    """The spec file's text; raises _Unreadable when it is not a readable, non-empty UTF-8 text."""
    raw = _spec_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise _Unreadable(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x})",
            line,
            column,
            hint="stack.yaml must be a UTF-8 YAML file",
        ) from error
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        raise _Unreadable("binary data in the spec (a NUL character)", line, column)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise _Unreadable(_EMPTY_SPEC, hint=_EMPTY_SPEC_HINT)
    return text


def _spec_bytes(path: Path) -> bytes:
    """The spec file's bytes; raises _Unreadable when it is too large, missing or unreadable."""
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise _Unreadable(
                f"the spec is {size / 1e6:.1f} MB; stackgen reads specs up to {MAX_SPEC_BYTES // 2**20} MB",
                hint="is this the right file?",
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise _Unreadable("no such file", hint="create one with `stackgen init DIR`") from None
    except IsADirectoryError:
        raise _Unreadable(
            "is a directory, not a spec file", hint="pass the stack.yaml inside it with -f"
        ) from None
    except OSError as error:
        raise _Unreadable(f"cannot read the spec: {error.strerror}") from error


def _spec_from_tree(tree: Any, name: str, path: Path, env: Mapping[str, str] | None) -> LoadedSpec:
    """The composed spec as plain data with positions, unless aliases blow it up or it is no mapping."""
    plain = _PlainData(name, env)
    try:
        if _expanded_size(tree, {}, ()) > MAX_VALUES:
            raise _TooLarge
        data = plain.of(tree, ())
    except _TooLarge as too_large:
        return _too_large(name, path, Positions(), too_large)
    except RecursionError:
        return _Unreadable("the spec nests too deeply (or an alias refers to itself)").loaded(name, path)
    if not isinstance(data, dict):
        message = "the spec must be a mapping of keys (version:, name:, ...)"
        problem = Problem(name, 1, 1, (), message, "start from `stackgen init`")
        return LoadedSpec(name, path, data, plain.positions, [problem])
    return LoadedSpec(name, path, data, plain.positions, plain.problems, plain.plain_texts)


_IN_PROGRESS = -1


def _expanded_size(node: Any, sizes: dict[int, int], path: tuple[Any, ...], outer: Any = None) -> int:
    """How many values the tree holds once aliases are expanded, counted without expanding them.

    Raises _TooLarge at the first value that crosses MAX_VALUES, or at an alias inside the value it
    names (a loop), so the report points at it."""
    outer = node if len(path) == 1 else outer  # a top-level value: where a too deep one is reported
    if len(path) > MAX_DEPTH:
        raise _TooLarge(outer, path[:1], deep=True)
    known = sizes.get(id(node))
    if known == _IN_PROGRESS:
        raise _TooLarge(node, path, loop=True)
    if known is not None:
        return known
    sizes[id(node)] = _IN_PROGRESS
    total = 1
    if isinstance(node.value, list):  # mapping nodes hold (key, value) pairs, sequences hold nodes
        for index, item in enumerate(node.value):
            if isinstance(item, tuple):
                key, value = item
                step = key.value if isinstance(key.value, str) else index
                total += _expanded_size(key, sizes, (*path, step), outer)
                try:
                    total += _expanded_size(value, sizes, (*path, step), outer)
                except _TooLarge as error:
                    if error.loop and error.use is None:
                        error.use = (key.start_mark.line + 1, key.start_mark.column + 1)
                    raise
            else:
                total += _expanded_size(item, sizes, (*path, index), outer)
            if total > MAX_VALUES:
                raise _TooLarge(node, path)
    sizes[id(node)] = total
    return total


def _too_large(name: str, spec_path: Path, empty: Positions, error: _TooLarge) -> LoadedSpec:
    """The problem of a spec that aliases blow up, at the value where it happens when known."""
    line = column = 1
    if error.node is not None:
        line, column = error.node.start_mark.line + 1, error.node.start_mark.column + 1
    if error.deep:
        message = f"nested more than {MAX_DEPTH} levels deep (no real spec nests a tenth of that)"
        hint = None
    elif error.loop:
        message = "an alias inside the value it names (the value would never end)"
        hint = f"its anchor is at line {line}" if error.node is not None else None
        line, column = error.use or (line, column)
    else:
        message = f"this value expands (through aliases) to more than {MAX_VALUES:,} values"
        hint = "aliases nested in aliases?"
    return LoadedSpec(name, spec_path, None, empty, [Problem(name, line, column, error.path, message, hint)])


def read_yaml_data(text: str, name: str = "<data>") -> Any:
    """Plain data from YAML text shipped with stackgen (packs, dashboards), by the same YAML 1.2 rules
    and fast parser as specs; raises ValueError with the position of a syntax error."""
    node, problem = _parse_yaml(text, name)
    if problem is not None:
        raise ValueError(problem.format())
    plain = _PlainData(name, None)
    data = plain.of(node, ()) if node is not None else None
    if plain.problems:
        raise ValueError(plain.problems[0].format())
    return data


def _parse_yaml(text: str, name: str) -> tuple[Any, Problem | None]:
    """Compose the YAML into nodes that know their positions (libyaml's C parser: fast on big specs)."""
    import yaml

    loader_base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(loader_base):  # type: ignore[misc,valid-type]
        # No YAML 1.1 guessing (`yes` -> True, `1:30` -> 90): plain scalars are resolved by YAML 1.2
        # rules in _scalar below, as ruamel.yaml and Prometheus' own Go YAML v3 do.
        yaml_implicit_resolvers: ClassVar[dict[str, Any]] = {}

    try:
        return yaml.compose(text, Loader=Loader), None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.problem == "exceeded maximum nesting depth" and mark is not None:
            return None, _too_deep_at_top_level(text, name, mark.line)  # PyYAML >= 6.0.4's own limit
        if error.context_mark is not None and "end of stream" in str(error.problem or ""):
            mark = error.context_mark  # an unclosed quote or bracket: point where it opens
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        parts = [str(part) for part in (error.context, error.problem) if part]
        return None, Problem(name, line, column, (), "invalid YAML: " + ", ".join(parts))
    except yaml.YAMLError as error:
        return None, Problem(name, 1, 1, (), f"invalid YAML: {error}")
    except RecursionError:
        return None, Problem(name, 1, 1, (), "invalid YAML: nested too deeply")


_TOP_LEVEL_KEY = re.compile(r"""^(?P<key>[^\s#'"\-?:][^:#]*?|"[^"]*"|'[^']*')[ \t]*:(?:[ \t]+|$)""")


def _too_deep_at_top_level(text: str, name: str, error_line: int) -> Problem:
    """The nesting problem of a value the parser itself gave up on, reported like _too_large does: at
    the value of the top-level key that holds line `error_line` (0-based), where the spec can be fixed."""
    message = f"nested more than {MAX_DEPTH} levels deep (no real spec nests a tenth of that)"
    lines = text.splitlines()
    for index in range(min(error_line, len(lines) - 1), -1, -1):
        match = _TOP_LEVEL_KEY.match(lines[index])
        if match:
            key = match.group("key").strip("\"'")
            value_on_the_line = match.end() < len(lines[index].rstrip())
            return Problem(name, index + 1, match.end() + 1 if value_on_the_line else 1, (key,), message)
    return Problem(name, error_line + 1, 1, (), message)


_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_STR_TAG = "tag:yaml.org,2002:str"


def _scalar(value: str, plain: bool, tag: str) -> Any:
    """YAML 1.2 core-schema resolution of a scalar."""
    if not plain or (tag != _STR_TAG and not tag.startswith("tag:yaml.org,2002:")):
        return value
    if tag != _STR_TAG:
        plain = True
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        return int(value)
    if value.startswith(("0o", "0x")):
        try:
            return int(value[2:], 8 if value[1] == "o" else 16)
        except ValueError:
            return value
    if _FLOAT.match(value):
        return float(value)
    if value.lower() in (".inf", "+.inf", "-.inf"):
        return float(value.replace(".", ""))
    if value.lower() == ".nan":
        return float("nan")
    return value


def _where(mark: Any) -> Position:
    return (mark.line + 1, mark.column + 1)


@dataclass
class _PlainData:
    """Turns composed nodes into plain Python values, recording positions and expanding ${VAR}."""

    name: str
    env: Mapping[str, str] | None
    positions: Positions = field(default_factory=Positions)
    problems: list[Problem] = field(default_factory=list)
    plain_texts: dict[DataPath, str] = field(default_factory=dict)
    budget: _Budget = field(default_factory=_Budget)

    def of(self, node: Any, path: DataPath) -> Any:
        """The plain value of `node`, found at `path`."""
        import yaml

        self.budget.spend()
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        return self._scalar(node, path)

    def _mapping(self, node: Any, path: DataPath) -> dict[str, Any]:
        import yaml

        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in _merged_pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, path, "a key must be a plain value, not a mapping or list")
                continue
            key = key_node.value
            child = (*path, key)
            if key in first_seen:
                self._problem(key_node, child, f"duplicate key '{key}' (first on line {first_seen[key]})")
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self.positions.keys[child] = _where(key_node.start_mark)
            self.positions.values[child] = _where(value_node.start_mark)
            result[key] = self.of(value_node, child)
        return result

    def _sequence(self, node: Any, path: DataPath) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            self.positions.values[child] = _where(item.start_mark)
            items.append(self.of(item, child))
        return items

    def _scalar(self, node: Any, path: DataPath) -> Any:
        plain = not node.style  # None (pure parser) or "" (libyaml) for a plain scalar
        value = _scalar(node.value, plain, node.tag)
        if not isinstance(value, str):
            if plain and value is not None:
                self.plain_texts[path] = node.value
            return value
        if "$" not in value or self.env is None:
            return value
        expanded, errors = interpolate(value, self.env)
        for error in errors:
            line, column = self.positions.of_value(path)
            self.problems.append(Problem(self.name, line, column, path, error.message, error.hint))
        if (
            plain
            and value.strip().startswith("${")
            and value.strip().endswith("}")
            and value.count("${") == 1
        ):
            self.plain_texts[path] = expanded
        return expanded

    def _problem(self, key_node: Any, path: DataPath, message: str) -> None:
        line, column = _where(key_node.start_mark)
        self.problems.append(Problem(self.name, line, column, path, message))


def _merged_pairs(node: Any) -> list[tuple[Any, Any]]:
    """A mapping's key/value nodes with `<<: *anchor` merges applied (explicit keys win)."""
    import yaml

    pairs: list[tuple[Any, Any]] = []
    merged: list[tuple[Any, Any]] = []
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<" and not key_node.style:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    merged.extend(_merged_pairs(source))
            continue
        pairs.append((key_node, value_node))
    explicit = {key.value for key, _ in pairs if isinstance(key, yaml.ScalarNode)}
    seen: set[str] = set()
    inherited = []
    for key_node, value_node in merged:
        if key_node.value not in explicit and key_node.value not in seen:
            seen.add(key_node.value)
            inherited.append((key_node, value_node))
    return pairs + inherited


def typed_scalar(text: str) -> Any:
    """What a plain scalar `text` would have been, had it been written in the file (9090 -> int)."""
    return _scalar(text.strip(), True, _STR_TAG)
