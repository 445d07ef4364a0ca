"""The applied-state record: the hash of every rendered file as of the last successful apply, and the
containers apply adopted from Compose (which carry Compose's labels but not stackgen's hash).

"Config changed" means "differs from what was last applied", not "differs from what is on disk":
an apply interrupted between writing the files and reloading a service leaves the record old, so
the next apply still sees the change and reloads. The file lives beside the files it describes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from stackgen.output import write_file_atomically

STATE_FILE = ".stackgen-state.json"
_FORMAT = 1


def _read(out_dir: Path, project: str) -> dict[str, object] | None:
    try:
        data = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("project") != project:
        return None
    return data


def read_adopted(out_dir: Path, project: str) -> dict[str, str]:
    """container ID -> definition hash of the containers apply adopted (they have no label of ours)."""
    adopted = (_read(out_dir, project) or {}).get("adopted")
    if not isinstance(adopted, dict):
        return {}
    return {str(container): str(digest) for container, digest in adopted.items()}


def read_applied(out_dir: Path, project: str) -> dict[str, str] | None:
    """File hashes as last applied for `project`, or None when nothing (readable) was recorded."""
    data = _read(out_dir, project)
    if data is None:
        return None
    files = data.get("files")
    if not isinstance(files, dict):
        return None
    return {str(path): str(digest) for path, digest in files.items()}


def write_applied(
    out_dir: Path, project: str, hashes: Mapping[str, str], adopted: Mapping[str, str] | None = None
) -> None:
    """Record `hashes` (and the adopted containers' definition hashes) as applied, atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, object] = {"format": _FORMAT, "project": project, "files": dict(sorted(hashes.items()))}
    if adopted:
        record["adopted"] = dict(sorted(adopted.items()))
    write_file_atomically(out_dir / STATE_FILE, (json.dumps(record, indent=1) + "\n").encode("utf-8"))


def forget_applied(out_dir: Path) -> None:
    """Drop the record (after `down`: nothing is applied any more)."""
    (out_dir / STATE_FILE).unlink(missing_ok=True)
