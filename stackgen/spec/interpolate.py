"""`${VAR}` interpolation as Docker Compose does it, from the environment and a `.env` beside the spec.

Only the braced form is expanded: `$labels` and `$value` belong to Prometheus templates and must pass
through untouched. `$$` is a literal `$`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$\{(?P<bad>[^}]*)\}?"
)


@dataclass(frozen=True)
class InterpolationError:
    """A variable that is undefined (and has no default) or a malformed `${...}`."""

    message: str
    hint: str | None = None


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[InterpolationError]]:
    """Expand `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR:+alt}` and `$$`."""
    if "$" not in text:
        return text, []
    errors: list[InterpolationError] = []

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return "$"
        if match.group("bad") is not None:
            errors.append(
                InterpolationError(f"invalid interpolation {token!r}", "write ${NAME} or $$ for a literal $")
            )
            return token
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op in (":-", "-"):
            unset = value is None or (op == ":-" and value == "")
            return arg if unset else str(value)
        if op in (":+", "+"):
            is_set = value is not None and (op == "+" or value != "")
            return arg if is_set else ""
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                errors.append(InterpolationError(f"variable {name} is required: {arg or 'not set'}"))
                return ""
            return value
        if value is None:
            errors.append(
                InterpolationError(
                    f"undefined variable ${{{name}}}",
                    f"set {name} in the environment or in .env beside the spec, "
                    f"or write ${{{name}:-default}}",
                )
            )
            return ""
        return value

    return _TOKEN.sub(substitute, text), errors


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: KEY=VALUE lines, `export` allowed, quotes stripped, `#` comments."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        values[key] = value
    return values


def environment_for(spec_path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables a spec sees: its `.env` file, overridden by the process environment (as Compose)."""
    merged = read_dotenv(spec_path.parent / ".env")
    merged.update(environ)
    return merged
