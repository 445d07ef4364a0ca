"""`stackgen ca export`: the certificate browsers, curl and other Prometheus servers trust the stack by."""

from __future__ import annotations

from pathlib import Path

import click

from stackgen.commands.options import output_dir, spec_file


@click.group("ca")
def command() -> None:
    """The stack's certificate authority (web.tls)."""


@command.command("export")
@spec_file
@output_dir
def export(spec_path: Path, out_dir: Path | None) -> None:
    """Print the CA certificate (PEM) that signed the stack's server certificates.

    e.g. `stackgen ca export > stack-ca.pem; curl --cacert stack-ca.pem -u admin https://HOST:9090/`."""
    from stackgen.api import default_output_dir
    from stackgen.errors import InvalidInput
    from stackgen.render.web import CLIENT_CA

    target = out_dir or default_output_dir(spec_path)
    try:
        pem = (target / CLIENT_CA).read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"{target / CLIENT_CA}: no CA certificate ({error.strerror or error})",
            hint="set web.tls in the spec, then stackgen render or apply",
        ) from error
    click.echo(pem.decode("ascii"), nl=False)
