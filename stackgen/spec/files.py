"""The files a spec names (rule files, templates, dashboards, TLS certificates and keys): which they
are, and their bytes, read once so that the model carries them and renderers never touch the disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def referenced_files(data: Any, key: str = "") -> list[str]:
    """Every file path the spec data names: `*_file` settings (TLS files, ...), rules.files,
    alertmanager.templates, dashboards.files and relay receivers' `template`."""
    found: list[str] = []
    if isinstance(data, Mapping):
        for name, value in data.items():
            name = str(name)
            if isinstance(value, str) and (name.endswith("_file") or name == "template"):
                found.append(value)
            elif name in ("files", "templates") and isinstance(value, list) and key in _FILE_LISTS:
                found += [item for item in value if isinstance(item, str)]
            else:
                found += referenced_files(value, name)
    elif isinstance(data, list):
        for item in data:
            found += referenced_files(item, key)
    return found


_FILE_LISTS = ("rules", "alertmanager", "dashboards")


def read_spec_files(data: Mapping[str, Any], spec_dir: Path) -> dict[str, bytes]:
    """The files the spec names, by `str(spec_dir / path)` (validation made sure they exist)."""
    from stackgen.errors import InvalidInput

    found: dict[str, bytes] = {}
    for path in referenced_files(data):
        key = str(spec_dir / path)
        if key in found:
            continue
        try:
            found[key] = (spec_dir / path).read_bytes()
        except OSError as error:
            raise InvalidInput(f"{path}: cannot read ({error.strerror or error})") from error
    return found
