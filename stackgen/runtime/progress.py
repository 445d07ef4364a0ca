"""How runtime modules tell a person what is happening: events to a Reporter, never print().

The command passes a Reporter in; runtime code stays silent and testable.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Receives progress events from apply, plan, status and down."""

    def phase(self, message: str) -> None:
        """A new step begins ("pulling images", "waiting for health")."""

    def service(self, service: str, message: str) -> None:
        """Something happened to one service ("created", "reloaded", "healthy")."""

    def layer(self, image: str, layer: str, status: str, current: int | None, total: int | None) -> None:
        """Pull progress of one image layer."""


class SilentReporter:
    """A Reporter that drops every event (tests, --quiet)."""

    def phase(self, message: str) -> None:
        """Drop the event."""

    def service(self, service: str, message: str) -> None:
        """Drop the event."""

    def layer(self, image: str, layer: str, status: str, current: int | None, total: int | None) -> None:
        """Drop the event."""


class RecordingReporter(SilentReporter):
    """A Reporter that keeps every phase and service event as text (tests, benchmarks)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def phase(self, message: str) -> None:
        """Keep the event."""
        self.events.append(message)

    def service(self, service: str, message: str) -> None:
        """Keep the event."""
        self.events.append(f"{service}: {message}")
