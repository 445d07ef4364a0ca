"""The command line: a thin layer that maps each subcommand to one module under stackgen/commands/.

Subcommands are imported only when run, so `stackgen --help` does not pay for docker, jinja2 or
jsonschema. Every StackgenError becomes its message on stderr and its exit code; any other exception
is a bug and becomes one line with exit code 3. Nothing prints a traceback unless STACKGEN_DEBUG is set.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

# name -> (module under stackgen.commands, one-line help). The help lives here so that listing the
# commands imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "Write a commented stack.yaml from a blueprint."),
    "validate": ("validate", "Check a spec and report every problem with its line and column."),
    "render": ("render", "Write every config file of the stack into generated/."),
    "schema": ("schema", "Print the JSON Schema of stack.yaml (for editors)."),
    "plan": ("plan", "Show what apply would change, without changing anything."),
    "apply": ("apply", "Render, then converge the running stack and hot-reload changed config."),
    "status": ("status", "Show containers, health, targets and firing alerts of the stack."),
    "down": ("down", "Remove the stack's containers and network (volumes stay unless --volumes)."),
    "logs": ("logs", "Print the logs of the stack's services (--follow to keep printing)."),
    "notify": ("notify", "Send test notifications or preview messages per receiver."),
    "silence": ("silence", "Add, list or expire Alertmanager silences."),
    "fleet": ("fleet", "Roll node_exporter out to the fleet's hosts (Ansible) and show their status."),
    "relay": ("relay", "Run the notification relay service (used inside the stack)."),
    "ca": ("ca", "Print the stack's CA certificate (web.tls), for browsers and curl."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _ = COMMANDS[cmd_name]
        if not _module_exists(module_name):
            return None
        module = importlib.import_module(f"stackgen.commands.{module_name}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    here = os.path.join(os.path.dirname(__file__), "commands")
    return os.path.exists(os.path.join(here, f"{module}.py")) or os.path.isdir(os.path.join(here, module))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stackgen")
def cli() -> None:
    """stackgen: one validated stack.yaml to a running Prometheus/Alertmanager/Grafana stack."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the `stackgen` console script."""
    from stackgen.errors import EXIT_INTERRUPTED, StackgenError

    try:
        return cli.main(args=argv, prog_name="stackgen", standalone_mode=False)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except StackgenError as error:
        if os.environ.get("STACKGEN_DEBUG"):
            raise
        report(error)
        sys.exit(error.exit_code)
    except Exception as error:  # a bug: one line, not a traceback, and an exit code of its own
        if os.environ.get("STACKGEN_DEBUG"):
            raise
        from stackgen.errors import EXIT_BUG

        click.echo(
            f"stackgen: internal error: {type(error).__name__}: {error}; "
            "STACKGEN_DEBUG=1 shows the traceback",
            err=True,
        )
        sys.exit(EXIT_BUG)


def report(error: Exception) -> None:
    """Print a StackgenError for a person: problems one per line, else the message."""
    from stackgen.errors import InvalidSpec

    if isinstance(error, InvalidSpec):
        for problem in error.problems:
            click.echo(problem.format(), err=True)
        click.echo(f"stackgen: {error.message}", err=True)
    else:
        click.echo(f"stackgen: {error}", err=True)
