"""Turn jsonschema's errors into Problems a person can act on.

Messages are built from jsonschema's structured fields (validator, validator_value, absolute_path),
never by parsing its English; an unexpected key points at its own line, with a did-you-mean hint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from stackgen.spec.load import LoadedSpec
from stackgen.spec.problems import Problem
from stackgen.spec.schema import resolve, schema

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def schema_problems(spec: LoadedSpec) -> list[Problem]:
    """Every schema violation in the spec, as Problems."""
    from stackgen.spec import schema_memo

    key = schema_memo.memo_key(spec.data)
    if key is not None and schema_memo.known_valid(key):
        return []  # jsonschema found this very data valid against this very schema before
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    problems: list[Problem] = []
    for error in validator.iter_errors(spec.data):
        problems.extend(_explain(spec, error))
    if not problems and key is not None:
        schema_memo.remember_valid(key)
    return _unique(problems)


def _explain(spec: LoadedSpec, error: Any) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    kind = error.validator
    node = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance

    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(node.get("properties", {}))
        for key in instance:
            if key in allowed:
                continue
            guess = _close_matches(key, allowed)
            hint = (
                f"did you mean '{guess[0]}'?"
                if guess
                else (f"allowed here: {', '.join(allowed)}" if allowed and len(allowed) <= 12 else None)
            )
            yield spec.problem((*path, key), f"unknown key '{key}'", hint, at_key=True)
        return
    if kind == "required":
        missing = [
            name for name in error.validator_value if isinstance(instance, dict) and name not in instance
        ]
        for name in missing:
            yield spec.problem(path, f"missing required key '{name}'", at_key=True)
        return
    if "propertyNames" in error.schema_path and isinstance(instance, str):
        # jsonschema checks a key as a value of its own: report it at the key, with the key in the path.
        yield spec.problem(
            (*path, instance), f"'{instance}' is not {node.get('x-error', 'a valid name')}", at_key=True
        )
        return
    if kind == "propertyNames" and isinstance(instance, dict):
        for key in instance:
            names_schema = resolve(error.validator_value)
            pattern = names_schema.get("pattern")
            import re

            if pattern and not re.search(pattern, str(key)):
                yield spec.problem(
                    (*path, key), f"'{key}' is not {names_schema.get('x-error', 'a valid name')}", at_key=True
                )
        return
    if kind in ("anyOf", "oneOf"):
        yield from _explain_alternatives(spec, error, path, instance)
        return
    yield spec.problem(path, _message(kind, error.validator_value, instance, node))


def _explain_alternatives(
    spec: LoadedSpec, error: Any, path: tuple[Any, ...], instance: Any
) -> Iterator[Problem]:
    """For `object | list of objects` and similar, descend into the branch whose type fits."""
    branches = [resolve(branch) for branch in error.validator_value]
    fitting = [index for index, branch in enumerate(branches) if _type_fits(branch.get("type"), instance)]
    if len(fitting) == 1:
        index = fitting[0]
        inner = [sub for sub in error.context if sub.schema_path and sub.schema_path[0] == index]
        if inner:
            for sub in inner:
                yield from _explain(spec, sub)
            return
    expected = [_describe(branch) for branch in branches]
    yield spec.problem(
        path, f"expected {' or '.join(dict.fromkeys(expected))}, got {_describe_value(instance)}"
    )


def _type_fits(expected: Any, instance: Any) -> bool:
    if expected is None:
        return False
    names = expected if isinstance(expected, list) else [expected]
    return any(_is_type(name, instance) for name in names)


def _is_type(name: str, value: Any) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }.get(name, False)


def _describe(branch: dict[str, Any]) -> str:
    kind = branch.get("type")
    if kind == "array":
        return "a list"
    if isinstance(kind, list):
        return " or ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kind)
    return _TYPE_NAMES.get(kind, "a value") if kind else "a value"


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    return repr(value)


def _message(kind: str, expected: Any, instance: Any, node: dict[str, Any]) -> str:
    if kind == "type":
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(str(name), str(name)) for name in names)
        return f"expected {wanted}, got {_describe_value(instance)}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, expected))}; got {_describe_value(instance)}"
    if kind == "const":
        return f"must be {expected!r}, got {_describe_value(instance)}"
    if kind == "pattern":
        return (
            f"expected {node.get('x-error', 'a value matching ' + expected)}, got {_describe_value(instance)}"
        )
    if kind == "minimum":
        return f"must be at least {expected}, got {instance}"
    if kind == "maximum":
        return f"must be at most {expected}, got {instance}"
    if kind == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters long"
    if kind == "maxLength":
        return f"must be at most {expected} characters long"
    if kind == "minItems":
        return "must not be empty" if expected == 1 else f"needs at least {expected} items"
    return f"invalid value {_describe_value(instance)} ({kind})"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """A did-you-mean hint, or None."""
    guess = _close_matches(word, list(choices))
    return f"did you mean '{guess[0]}'?" if guess else None


def _close_matches(word: str, choices: list[str]) -> list[str]:
    import difflib  # only when there is a problem to hint at

    return difflib.get_close_matches(word, choices, n=1, cutoff=0.6)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for problem in problems:
        key = (problem.line, problem.column, problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
