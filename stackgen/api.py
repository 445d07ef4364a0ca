"""stackgen's public API: what the commands call, and what scripts and tests may call too."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from stackgen.errors import InvalidSpec
from stackgen.model import Stack, build_stack
from stackgen.output import RenderedFile, WriteResult, write_output
from stackgen.spec.problems import Problem
from stackgen.spec.validate import CheckedSpec, check_spec


def default_spec_path() -> Path:
    """`./stack.yaml`."""
    return Path("stack.yaml")


def default_output_dir(spec_path: Path) -> Path:
    """Where a spec's files are rendered by default: `generated/` beside it."""
    return spec_path.parent / "generated"


def validate(spec_path: Path, env: Mapping[str, str] | None = None) -> CheckedSpec:
    """Check a spec; the result carries every problem (errors and notices)."""
    from stackgen.spec.interpolate import environment_for

    environment = environment_for(spec_path, os.environ if env is None else env)
    return check_spec(spec_path, environment, display_name=_display_name(spec_path))


def load_stack(spec_path: Path, env: Mapping[str, str] | None = None) -> Stack:
    """Check a spec and build its model; raises InvalidSpec with every problem if it is not valid."""
    checked = validate(spec_path, env)
    if checked.errors:
        raise InvalidSpec(checked.errors)
    return build_stack(checked.loaded.data, spec_path.parent.resolve())


def render_files(stack: Stack, out_dir: Path) -> dict[str, RenderedFile]:
    """Every file of the stack, in memory (secrets generated before are kept from out_dir; certificates
    near expiry are renewed)."""
    from stackgen.pki import utc_now
    from stackgen.render import render_stack
    from stackgen.render.secrets import read_existing_secrets

    return render_stack(stack, read_existing_secrets(out_dir), utc_now())


def render_steps(stack: Stack, out_dir: Path, rotate_credentials: bool = False
                 ) -> Iterator[dict[str, RenderedFile]]:
    """The files of each step apply must converge to, in order: one render, or the three of rotating
    the stack's internal user (accept the new one beside the old, switch the clients, drop the old) so
    that no scrape is refused. Secrets are read again before each step: apply the files of one step
    before asking for the next. `rotate_credentials`: give the internal user a new password."""
    import secrets as random_source

    from stackgen.pki import utc_now
    from stackgen.render import render_stack
    from stackgen.render.secrets import read_existing_secrets
    from stackgen.render.web import INTERNAL_PASSWORD, rotation_steps

    existing = read_existing_secrets(out_dir)
    if rotate_credentials and stack.web.users:
        existing[INTERNAL_PASSWORD] = random_source.token_urlsafe(18).encode()
    for index, overlap in enumerate(rotation_steps(stack, existing)):
        if index:
            existing = read_existing_secrets(out_dir)
        yield render_stack(stack, existing, utc_now(), overlap)


@dataclass(frozen=True)
class RenderOutcome:
    """What `render` did: the model, where it wrote, and which files changed."""

    stack: Stack
    out_dir: Path
    result: WriteResult
    notices: list[Problem]


def render(spec_path: Path, out_dir: Path | None = None, env: Mapping[str, str] | None = None,
           dry_run: bool = False) -> RenderOutcome:
    """Check the spec, render every file, check them with the upstream tools, and write them atomically.

    `dry_run`: only say what would be written (the result), touching nothing."""
    from stackgen.output import diff_output
    from stackgen.render.check import check_rendered

    checked = validate(spec_path, env)
    if checked.errors:
        raise InvalidSpec(checked.errors)
    stack = build_stack(checked.loaded.data, spec_path.parent.resolve())
    target = out_dir or default_output_dir(spec_path)
    files = render_files(stack, target)
    check_rendered(files)
    result = diff_output(files, target) if dry_run else write_output(files, target)
    return RenderOutcome(stack, target, result, checked.notices)


def _display_name(spec_path: Path) -> str:
    try:
        return os.path.relpath(spec_path)
    except ValueError:
        return str(spec_path)
