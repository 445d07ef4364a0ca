"""What both engines do around a plan: run it, and when it fails, put the last good config back.

The one-host Converger (runtime/converge.py) and the SwarmConverger (runtime/swarm/converge.py) differ
in how they change the running stack and how they undo that; the order around it is the same and
lives here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path

from stackgen.errors import RuntimeFailure
from stackgen.output import WriteResult, restore_output
from stackgen.runtime.plan import ActionKind, ConvergeResult, Plan
from stackgen.runtime.progress import Reporter


def restore_previous_output(
    out_dir: Path, written: WriteResult, applied: Mapping[str, str] | None
) -> Callable[[], None]:
    """What a rollback calls to put the previous generated files back.

    Without an applied state there is no last good config to return to: the new files stay (and the
    containers) so that the failure can be looked at."""
    if applied is None:
        return lambda: None
    return lambda: restore_output(out_dir, written.previous)


class RollbackConverger(ABC):
    """Runs one plan; on a failure rolls back and re-raises. An engine gives _converge and
    _restore_running."""

    def __init__(self, reporter: Reporter, restore_files: Callable[[], None]) -> None:
        self.reporter = reporter
        self.restore_files = restore_files
        self.result = ConvergeResult()

    def run(self, plan: Plan) -> ConvergeResult:
        """Execute `plan`; on failure roll back and re-raise the failure."""
        for action in plan.of_kind(ActionKind.NOOP):
            self.result.done[ActionKind.NOOP].append(action.service)
        if not plan.changes_anything:
            return self.result
        try:
            self._converge(plan)
        except RuntimeFailure as failure:
            self._roll_back(failure)
            raise
        return self.result

    @abstractmethod
    def _converge(self, plan: Plan) -> None:
        """Change the running stack as `plan` says; raise RuntimeFailure when something fails."""

    @abstractmethod
    def _restore_running(self) -> None:
        """Put back what _converge changed on the engine; failures here are only reported."""

    def _roll_back(self, failure: RuntimeFailure) -> None:
        """Put back the previous files, then the previous running stack and loaded config."""
        self.reporter.phase(f"rolling back: {failure.message}")
        try:
            self.restore_files()
        except OSError as error:
            self.reporter.phase(f"could not restore the previous files: {error}")
        self._restore_running()
        failure.message = f"{failure.message} (rolled back to the previous config)"
