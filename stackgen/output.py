"""The one writer: puts rendered files on disk so that a reader never sees a half-written stack.

Files are first written to a temporary directory beside the target, then each changed file is renamed
into place INSIDE the existing directories. Containers bind-mount those directories, so swapping a whole
directory would leave them on the old inode; renaming a file into a mounted directory is seen at once.
A manifest of the paths stackgen wrote lets it remove its own stale files and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".stackgen-manifest.json"
SECRET_DIR = "secrets"


@dataclass(frozen=True)
class RenderedFile:
    """A file's bytes and permission bits; secrets are 0600 in 0700 directories."""

    content: bytes
    mode: int = 0o644
    owner: int | None = None  # uid of the container user that reads a secret

    @property
    def is_secret(self) -> bool:
        return self.mode & 0o077 == 0

    @property
    def effective_mode(self) -> int:
        """The mode on disk: a secret owned by a container user stays 0600 only if we can chown it;
        otherwise it becomes 0644, still private to us through its 0700 directory on the host."""
        if self.is_secret and self.owner is not None and not _can_chown():
            return 0o644
        return self.mode


def contents(files: Mapping[str, RenderedFile]) -> dict[str, bytes]:
    """The rendered files' bytes by relative path."""
    return {path: file.content for path, file in files.items()}


@dataclass(frozen=True)
class WriteResult:
    """Which files a write created, changed, removed or left alone, and what they held before."""

    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    previous: dict[str, bytes | None] = field(default_factory=dict)

    @property
    def touched(self) -> list[str]:
        """Every path whose content is different after the write."""
        return sorted(self.created + self.changed + self.removed)


def diff_output(files: Mapping[str, RenderedFile], out_dir: Path) -> WriteResult:
    """What write_output would do, without touching anything."""
    created, changed, unchanged = [], [], []
    previous: dict[str, bytes | None] = {}
    for path in sorted(files):
        current = _read(out_dir / path)
        if current is None:
            created.append(path)
            previous[path] = None
        elif current != files[path].content or _mode(out_dir / path) != files[path].effective_mode:
            changed.append(path)
            previous[path] = current
        else:
            unchanged.append(path)
    removed = sorted(p for p in _manifest_paths(out_dir) if p not in files and (out_dir / p).is_file())
    for path in removed:
        previous[path] = _read(out_dir / path)
    return WriteResult(created, changed, removed, unchanged, previous)


def write_output(files: Mapping[str, RenderedFile], out_dir: Path) -> WriteResult:
    """Write `files` under `out_dir`; only changed files are replaced, each by an atomic rename."""
    result = diff_output(files, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".stackgen-", dir=out_dir.parent))
    try:
        for path in result.created + result.changed:
            _stage(staging / path, files[path])
        for path in result.created + result.changed:
            target = out_dir / path
            _ensure_dir(target.parent, out_dir, files[path].owner)
            os.replace(staging / path, target)
        for path in result.removed:
            (out_dir / path).unlink(missing_ok=True)
        _prune_empty_dirs(out_dir, result.removed)
        _write_manifest(out_dir, files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def restore_output(out_dir: Path, previous: Mapping[str, bytes | None]) -> None:
    """Undo a write: put back each file's previous bytes (None: the file did not exist)."""
    _manifest_after_restore(out_dir, previous)
    for path, content in sorted(previous.items()):
        target = out_dir / path
        if content is None:
            target.unlink(missing_ok=True)
            continue
        mode, owner = 0o644, None
        if target.exists():  # keep the owner and mode a container needs to read the file
            status = target.stat()
            mode, owner = status.st_mode & 0o777, status.st_uid
        elif path.startswith(SECRET_DIR + "/"):
            mode = 0o600
        _ensure_dir(target.parent, out_dir, owner)
        write_file_atomically(target, content, mode, owner)


def _manifest_after_restore(out_dir: Path, previous: Mapping[str, bytes | None]) -> None:
    """The manifest lists what is on disk: drop files a restore deletes, add back files it recreates."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return
    files = data.get("files", {})
    for path, content in previous.items():
        if content is None:
            files.pop(path, None)
        else:
            files[path] = (
                "secret" if path.startswith(SECRET_DIR + "/") else hashlib.sha256(content).hexdigest()[:16]
            )
    text = json.dumps(
        {"generated_by": "stackgen", "files": dict(sorted(files.items()))}, indent=1, sort_keys=True
    )
    write_file_atomically(out_dir / MANIFEST, (text + "\n").encode(), 0o644)


def _stage(path: Path, file: RenderedFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(file.content)
    if file.owner is not None and _can_chown():
        os.chown(path, file.owner, file.owner)
    os.chmod(path, file.effective_mode)  # owner and mode are right before the file becomes visible


def _can_chown() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def write_file_atomically(target: Path, content: bytes, mode: int = 0o644, owner: int | None = None) -> None:
    """Write `content` to `target` through a temporary file beside it and a rename: a reader sees the old
    file or the new one, never a part; owner and mode are set before the file becomes visible."""
    descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        if owner is not None and _can_chown():
            os.chown(temporary, owner, owner)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _ensure_dir(directory: Path, out_dir: Path, owner: int | None = None) -> None:
    """Create a directory; under secrets/ the top stays 0700 (private on the host) and a service's own
    directory belongs to the container user that must enter it (0755 where we cannot chown)."""
    relative = directory.relative_to(out_dir).parts if directory != out_dir else ()
    directory.mkdir(parents=True, exist_ok=True)
    if not relative or relative[0] != SECRET_DIR:
        return
    os.chmod(out_dir / SECRET_DIR, 0o700)
    probe = out_dir / SECRET_DIR
    for part in relative[1:]:
        probe = probe / part
        if owner is not None and _can_chown():
            os.chown(probe, owner, owner)
            os.chmod(probe, 0o700)
        else:
            os.chmod(probe, 0o755 if owner is not None else 0o700)


def _prune_empty_dirs(out_dir: Path, removed: list[str]) -> None:
    for path in removed:
        parent = (out_dir / path).parent
        while parent != out_dir and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _manifest_paths(out_dir: Path) -> list[str]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return [path for path in files if isinstance(path, str) and ".." not in path.split("/")]


def _write_manifest(out_dir: Path, files: Mapping[str, RenderedFile]) -> None:
    # Secrets are listed without a digest: a hash of a weak password is a password.
    entries = {
        path: ("secret" if file.is_secret else hashlib.sha256(file.content).hexdigest()[:16])
        for path, file in sorted(files.items())
    }
    content = (
        json.dumps({"generated_by": "stackgen", "files": entries}, indent=1, sort_keys=True) + "\n"
    ).encode()
    if _read(out_dir / MANIFEST) != content:
        write_file_atomically(out_dir / MANIFEST, content, 0o644)


def read_existing_secrets(out_dir: Path) -> dict[str, bytes]:
    """The secret files of a previous render, by relative path (empty when there is none)."""
    root = out_dir / SECRET_DIR
    found: dict[str, bytes] = {}
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found[path.relative_to(out_dir).as_posix()] = path.read_bytes()
    return found
