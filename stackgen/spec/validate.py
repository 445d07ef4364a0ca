"""Check a spec: read it, then the schema, then meaning, then (a spec with no error so far) build the
model and run the checks that need it; return every problem sorted by position, and the model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stackgen.spec.load import LoadedSpec, load_spec_file
from stackgen.spec.problems import Problem, is_error

if TYPE_CHECKING:
    from stackgen.model import Stack


@dataclass(frozen=True)
class CheckedSpec:
    """A spec that was read and checked: its data and every problem found (errors and notices)."""

    loaded: LoadedSpec
    problems: list[Problem]
    stack: Stack | None = None  # the model, built once: None when the spec has errors

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the spec invalid."""
        return [problem for problem in self.problems if is_error(problem)]

    def valid_stack(self) -> Stack:
        """The model; raises InvalidSpec with every error when the spec is not valid."""
        if self.stack is None:
            from stackgen.errors import InvalidSpec

            raise InvalidSpec(self.errors)
        return self.stack

    @property
    def notices(self) -> list[Problem]:
        """What stackgen did or advises (does not make the spec invalid)."""
        return [problem for problem in self.problems if not is_error(problem)]


def _type_by_field(loaded: LoadedSpec) -> None:
    """Give plain scalars the type their field wants: `port: ${PORT}` an integer, `password: ${PW}` a
    string even when all digits, and `team: 1e3` the string "1e3" rather than the float 1000.0."""
    from stackgen.spec.load import typed_scalar
    from stackgen.spec.schema import types_at

    for path, text in loaded.plain_texts.items():
        parent = loaded.data
        for part in path[:-1]:
            parent = parent[part]
        value = parent[path[-1]]
        wanted = types_at(path)
        if not wanted:
            continue
        if isinstance(value, str) and "string" not in wanted:
            typed = typed_scalar(text)
            if isinstance(typed, (bool, int, float)):
                parent[path[-1]] = typed
        elif not isinstance(value, str) and "string" in wanted:
            parent[path[-1]] = text


def check_spec(path: Path, env: Mapping[str, str], display_name: str | None = None) -> CheckedSpec:
    """Read `path` and report every problem: YAML, `${VAR}`, schema, then meaning."""
    from stackgen.spec.meaning import meaning_problems
    from stackgen.spec.schema_errors import schema_problems

    loaded = load_spec_file(path, env, display_name)
    if isinstance(loaded.data, dict):
        _type_by_field(loaded)
    problems = list(loaded.problems)
    if loaded.data is not None and isinstance(loaded.data, dict):
        # A value emptied by an undefined ${VAR} fails the schema too; its first problem says enough.
        interpolated = {problem.path for problem in loaded.problems}
        problems += [p for p in schema_problems(loaded) if p.path not in interpolated]
        problems += meaning_problems(loaded)
    stack = None
    if isinstance(loaded.data, dict) and not any(is_error(problem) for problem in problems):
        from stackgen.spec.build import build_stack
        from stackgen.spec.meaning_model import model_problems

        stack = build_stack(loaded.data, path.parent.resolve())
        model_found = list(model_problems(loaded, stack))
        problems += model_found
        if any(is_error(problem) for problem in model_found):
            stack = None
    problems.sort(key=lambda problem: problem.sort_key)
    return CheckedSpec(loaded, problems, stack)
