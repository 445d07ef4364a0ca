"""A Problem is a value: what is wrong, where, and how to fix it. Validation returns lists of them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

Path = tuple[str | int, ...]


class Severity(str, Enum):
    """ERROR makes the spec invalid; WARNING (accepted, but will not work as meant) and NOTICE (what
    stackgen did or advises) pass."""

    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


@dataclass(frozen=True)
class Problem:
    """One finding about the spec, at a 1-based line and column of the file."""

    file: str
    line: int
    column: int
    path: Path
    message: str
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        """`stack.yaml:LINE:COL: dotted.path: message (hint)` — the form editors understand."""
        where = f"{self.file}:{self.line}:{self.column}"
        dotted = dotted_path(self.path)
        text = f"{where}: {dotted}: {self.message}" if dotted else f"{where}: {self.message}"
        if self.severity is not Severity.ERROR:
            text = f"{where}: {self.severity.value}: {dotted + ': ' if dotted else ''}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_data(self) -> dict[str, Any]:
        """JSON-ready: what `format()` says, field by field."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": dotted_path(self.path),
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity.value,
        }

    def github_annotation(self) -> str:
        """A GitHub Actions workflow command: the problem shows on the line of the pull request."""
        level = self.severity.value  # GitHub's levels: error, warning, notice

        def escape(text: str, in_property: bool = False) -> str:
            text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            return text.replace(":", "%3A").replace(",", "%2C") if in_property else text

        title = dotted_path(self.path) or "stack.yaml"
        message = self.message + (f" ({self.hint})" if self.hint else "")
        return (
            f"::{level} file={escape(self.file, True)},line={self.line},col={self.column},"
            f"title={escape(title, True)}::{escape(message)}"
        )

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.column, self.message)


def dotted_path(path: Path) -> str:
    """('targets', 0, 'job') -> 'targets.0.job'."""
    return ".".join(str(part) for part in path)


def is_error(problem: Problem) -> bool:
    """True for problems that make the spec invalid."""
    return problem.severity is Severity.ERROR
