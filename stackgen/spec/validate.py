"""Check a spec: read it, then the schema, then meaning; return every problem sorted by position."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stackgen.spec.load import LoadedSpec, load_spec_file
from stackgen.spec.problems import Problem, is_error


@dataclass(frozen=True)
class CheckedSpec:
    """A spec that was read and checked: its data and every problem found (errors and notices)."""

    loaded: LoadedSpec
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the spec invalid."""
        return [problem for problem in self.problems if is_error(problem)]

    @property
    def notices(self) -> list[Problem]:
        """What stackgen did or advises (does not make the spec invalid)."""
        return [problem for problem in self.problems if not is_error(problem)]


def check_spec(path: Path, env: Mapping[str, str], display_name: str | None = None) -> CheckedSpec:
    """Read `path` and report every problem: YAML, `${VAR}`, schema, then meaning."""
    from stackgen.spec.meaning import meaning_problems
    from stackgen.spec.schema_errors import schema_problems

    loaded = load_spec_file(path, env, display_name)
    problems = list(loaded.problems)
    if loaded.data is not None and isinstance(loaded.data, dict):
        # A value emptied by an undefined ${VAR} fails the schema too; its first problem says enough.
        interpolated = {problem.path for problem in loaded.problems}
        problems += [p for p in schema_problems(loaded) if p.path not in interpolated]
        problems += meaning_problems(loaded)
    problems.sort(key=lambda problem: problem.sort_key)
    return CheckedSpec(loaded, problems)
