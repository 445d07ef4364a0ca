"""The node_exporter binary: fetched once on this machine, checked against the release's sha256sums,
unpacked into a cache the playbook copies from. Hosts never download anything."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from stackgen.errors import RuntimeFailure
from stackgen.fleet.model import NodeExporterSettings
from stackgen.render.ansible import CACHE_ENV, binary_dir_name

CHECKSUMS_NAME = "sha256sums.txt"
MAX_TARBALL = 200 * 2**20


@dataclass(frozen=True)
class CachedBinary:
    """The verified binary in the cache, and the tarball digest it came from."""

    path: Path
    tarball_sha256: str
    fetched: bool  # False: it was in the cache already


def cache_dir() -> Path:
    """$STACKGEN_FLEET_CACHE, else ~/.cache/stackgen/fleet (the inventory names the same place)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "stackgen" / "fleet")


def ensure_binary(settings: NodeExporterSettings, timeout: float = 60.0) -> CachedBinary:
    """The cached binary of `settings.version`, fetching and verifying the source when it is not there."""
    target = cache_dir() / binary_dir_name(settings.version)
    binary, digest_file = target / "node_exporter", target / "tarball.sha256"
    # the binary's own digest, beside it: the playbook compares it with what a host has
    binary_digest = target / "node_exporter.sha256"
    if binary.is_file() and digest_file.is_file() and binary_digest.is_file():
        return CachedBinary(binary, digest_file.read_text().strip(), fetched=False)
    tarball_name = settings.source.rstrip("/").rsplit("/", 1)[-1]
    content = _read(settings.source, timeout)
    digest = hashlib.sha256(content).hexdigest()
    expected = _expected_digest(settings, tarball_name, timeout)
    if expected is None:
        raise RuntimeFailure(
            f"no checksum for {tarball_name}: {settings.source} has no {CHECKSUMS_NAME} beside it",
            hint="set fleet.node_exporter.checksums to the release's sha256sums.txt",
        )
    if expected != digest:
        raise RuntimeFailure(
            f"{tarball_name}: sha256 {digest} does not match the release's {expected}",
            hint="the download is corrupt or the mirror serves another file; nothing was installed",
        )
    member = f"{binary_dir_name(settings.version)}/node_exporter"
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
            extracted = archive.extractfile(member)
            if extracted is None:
                raise KeyError(member)
            data = extracted.read()
    except (tarfile.TarError, KeyError) as error:
        raise RuntimeFailure(f"{tarball_name} has no {member}: {error}") from error
    target.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    partial.write_bytes(data)
    partial.chmod(0o755)
    os.replace(partial, binary)
    binary_digest.write_text(hashlib.sha256(data).hexdigest() + "\n")
    digest_file.write_text(digest + "\n")
    return CachedBinary(binary, digest, fetched=True)


def _read(source: str, timeout: float) -> bytes:
    try:
        if "://" not in source:
            return Path(source).read_bytes()
        with urllib.request.urlopen(source, timeout=timeout) as response:
            return bytes(response.read(MAX_TARBALL + 1))[:MAX_TARBALL]
    except (OSError, ValueError) as error:
        raise RuntimeFailure(f"cannot fetch {source}: {error}") from error


def _expected_digest(settings: NodeExporterSettings, tarball_name: str, timeout: float) -> str | None:
    checksums = settings.checksums or f"{settings.source.rstrip('/').rsplit('/', 1)[0]}/{CHECKSUMS_NAME}"
    if "://" not in checksums and not Path(checksums).is_file():
        return None
    text = _read(checksums, timeout).decode("utf-8", "replace")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == tarball_name:
            return parts[0].lower()
    return None
