"""The one root of stackgen's exceptions; each carries the exit code the CLI returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackgen.spec.problems import Problem

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_INVALID = 2
EXIT_BUG = 3  # an unexpected exception: a defect of stackgen, reported in one line
EXIT_INTERRUPTED = 130


class StackgenError(Exception):
    """Base of every error stackgen reports to a user (never with a traceback)."""

    exit_code = EXIT_RUNTIME

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class InvalidInput(StackgenError):
    """The user gave something stackgen cannot use (bad flag value, missing file)."""

    exit_code = EXIT_INVALID


class InvalidSpec(InvalidInput):
    """The spec has problems; every one of them is carried, sorted by position."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the spec")

    def __str__(self) -> str:
        """The count, then each problem as validate prints it (what a caller from Python sees)."""
        return "\n".join([self.message, *(problem.format() for problem in self.problems)])


class RejectedByUpstream(InvalidInput):
    """promtool or amtool refused a rendered file: its message says why."""


class RelayConfigError(InvalidInput):
    """relay.yml cannot be used; the message names the offending key."""


class RuntimeFailure(StackgenError):
    """Something outside stackgen failed: the Docker engine, a container, an upstream API."""

    exit_code = EXIT_RUNTIME


class ReloadRefused(RuntimeFailure):
    """A service answered a config reload with an error; the stack was rolled back."""


class NotHealthy(RuntimeFailure):
    """A container did not become healthy before the deadline (or stopped trying)."""

    def __init__(self, service: str, message: str, logs: str = "") -> None:
        hint = "its last log lines:\n    " + "\n    ".join(logs.splitlines()[-5:]) if logs else None
        super().__init__(f"{service}: {message}", hint=hint)
        self.service = service


class Interrupted(StackgenError):
    """The user pressed Ctrl-C."""

    exit_code = EXIT_INTERRUPTED
