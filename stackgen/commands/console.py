"""Console side of the runtime commands: the progress reporter and how plans and reports print."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


class ConsoleReporter:
    """Progress on stderr: one line per phase and per service event; layer progress on a TTY."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._layer_status: dict[tuple[str, str], str] = {}

    def phase(self, message: str) -> None:
        """Print a phase."""
        if not self.quiet:
            click.echo(f"==> {message}", err=True)

    def service(self, service: str, message: str) -> None:
        """Print a service event."""
        if not self.quiet:
            click.echo(f"    {service}: {message}", err=True)

    def layer(self, image: str, layer: str, status: str, current: int | None, total: int | None) -> None:
        """Print a layer's status when it changes (and its byte count on a TTY)."""
        if self.quiet or not layer:
            return
        if current and total and self.tty:
            click.echo(
                f"\r    {layer}: {status} {current / 1e6:.1f}/{total / 1e6:.1f} MB\033[K", nl=False, err=True
            )
            return
        if self._layer_status.get((image, layer)) != status:
            self._layer_status[(image, layer)] = status
            prefix = "\r" if self.tty else ""
            click.echo(
                f"{prefix}    {layer}: {status}\033[K" if self.tty else f"    {layer}: {status}", err=True
            )


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def file_line(verb: str, path: str, before: bytes | None, after: bytes | None) -> str:
    """One file change with a +/- line count."""
    mark = {"created": "+", "changed": "~", "removed": "-"}[verb]
    old = (before or b"").decode("utf-8", "replace").splitlines()
    new = (after or b"").decode("utf-8", "replace").splitlines()
    added = removed = 0
    import difflib

    for line in difflib.unified_diff(old, new, lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    secret = path.startswith("secrets/")
    counts = "" if secret else f" (+{added} -{removed})"
    return f"  {mark} {path}{counts}"


def file_diff(path: str, before: bytes | None, after: bytes | None) -> list[str]:
    """A unified diff of one file (a/ old, b/ new); secrets are named, never shown."""
    if path.startswith("secrets/"):
        return ["    (a secret file: its content is not shown)"]
    old = (before or b"").decode("utf-8", "replace").splitlines()
    new = (after or b"").decode("utf-8", "replace").splitlines()
    import difflib

    return list(
        difflib.unified_diff(
            old,
            new,
            f"a/{path}" if before is not None else "/dev/null",
            f"b/{path}" if after is not None else "/dev/null",
            lineterm="",
        )
    )


def styled_diff_line(line: str) -> str:
    """A diff line coloured like git's (click drops the colour when stdout is not a terminal)."""
    if line.startswith(("+++", "---")):
        return click.style(line, bold=True)
    if line.startswith("+"):
        return click.style(line, fg="green")
    if line.startswith("-"):
        return click.style(line, fg="red")
    if line.startswith("@@"):
        return click.style(line, fg="cyan")
    return line
