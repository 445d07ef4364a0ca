"""A Problem is a value: what is wrong, where, and how to fix it. Validation returns lists of them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

Path = tuple[str | int, ...]


class Severity(str, Enum):
    """ERROR makes the spec invalid; NOTICE tells what stackgen did or advises, and passes."""

    ERROR = "error"
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
        if self.severity is Severity.NOTICE:
            text = f"{where}: notice: {dotted + ': ' if dotted else ''}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.column, self.message)


def dotted_path(path: Path) -> str:
    """('targets', 0, 'job') -> 'targets.0.job'."""
    return ".".join(str(part) for part in path)


def is_error(problem: Problem) -> bool:
    """True for problems that make the spec invalid."""
    return problem.severity is Severity.ERROR
