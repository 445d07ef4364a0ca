"""Remember spec data that jsonschema found valid, so an unchanged spec skips importing it (~0.1 s).

Schema validation is a pure function of three things: the data, schema.json and the validator's own
code. The key is a digest of all three — the data by its exact Python repr (so 1, 1.0, True and "1"
differ), the schema by its bytes, jsonschema and referencing by the size and mtime of each of their
modules — and only a spec with no schema problem is recorded. A spec with problems, or one that was
never seen, is always validated by jsonschema, and its messages built from jsonschema's errors.

The record is a list of digests in the user's cache directory ($XDG_CACHE_HOME/stackgen, else
~/.cache/stackgen); when it cannot be read or written, every spec is validated.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import cache
from pathlib import Path
from typing import Any

from stackgen.output import write_file_atomically
from stackgen.spec.schema import schema_text

_FORMAT = b"stackgen schema memo 1"
_FILE = "schema-valid"
_KEEP = 256  # digests kept, newest last
# The packages whose code decides validity (the validator's keywords, and $ref resolution).
_VALIDATOR_PACKAGES = ("jsonschema", "referencing")
_PLAIN = (dict, list, str, int, float, bool, type(None))


def memo_key(data: Any) -> str | None:
    """The digest under which `data` would be recorded as valid; None for data that is not plain."""
    if not _is_plain(data):
        return None
    digest = hashlib.sha256(_FORMAT + b"\0")
    digest.update(_validator_identity().encode() + b"\0")
    digest.update(schema_text().encode("utf-8") + b"\0")
    digest.update(repr(data).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def known_valid(key: str) -> bool:
    """True when data with this key was found valid before."""
    return key in _recorded()


def remember_valid(key: str) -> None:
    """Record a key as valid; best effort."""
    keys = [*[known for known in _recorded() if known != key][-(_KEEP - 1) :], key]
    directory = _cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_file_atomically(directory / _FILE, ("\n".join(keys) + "\n").encode("ascii"))
    except OSError:
        return


def _recorded() -> list[str]:
    directory = _cache_dir()
    if directory is None:
        return []
    try:
        return (directory / _FILE).read_text(encoding="ascii").split()
    except (OSError, ValueError):
        return []


def _cache_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative: the XDG spec says to ignore it
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "stackgen"


@cache
def _validator_identity() -> str:
    """Each module of the validator packages with its size and mtime: an upgrade or edit changes it."""
    parts = []
    for name in _VALIDATOR_PACKAGES:
        spec = importlib.util.find_spec(name)  # finds without importing
        locations = list(spec.submodule_search_locations or []) if spec else []
        parts.append(name)
        for location in locations:
            try:
                entries = sorted(os.scandir(location), key=lambda entry: entry.name)
            except OSError:
                entries = []
            for entry in entries:
                if entry.name.endswith((".py", ".so")) and entry.is_file():
                    status = entry.stat()
                    parts.append(f"{entry.path}:{status.st_size}:{status.st_mtime_ns}")
    return "\n".join(parts)


def _is_plain(data: Any) -> bool:
    kind = type(data)
    if kind is dict:
        return all(_is_plain(key) and _is_plain(value) for key, value in data.items())
    if kind is list:
        return all(_is_plain(item) for item in data)
    return kind in _PLAIN
