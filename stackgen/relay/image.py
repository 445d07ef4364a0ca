"""Build the relay's image locally from the installed stackgen: no image of ours is on any registry.

The build context is made in memory: a Dockerfile `FROM <base>` plus the pure-Python packages the
relay runs on, copied from this interpreter's installed copies (stackgen itself, jinja2, markupsafe
— its pure fallback —, prometheus_client, ruamel.yaml for YAML relay.yml, click so that
`python3 -m stackgen relay` works too, tzdata for message times in any zone whatever the base
image has, bcrypt for web config passwords). Compiled extensions are left out, except
bcrypt's stable-ABI one (any CPython >= 3.10 base of the same platform works). The image's label
carries a hash of the copied sources: a changed stackgen gets a new tag from `relay_image_tag`, and
`ensure_relay_image` rebuilds an image whose label differs.

This module never imports docker: the client is passed in by runtime/.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from stackgen import __version__
from stackgen.errors import RuntimeFailure

REPOSITORY = "stackgen/relay"
DEFAULT_BASE_IMAGE = "python:3.12-slim"
SOURCE_HASH_LABEL = "io.stackgen.relay.source-hash"
SITE = "/opt/stackgen/site"
CONFIG = "/etc/stackgen-relay/relay.yml"
# Import names of the packages copied beside stackgen (all pure Python, or with a pure fallback).
PACKAGES = (
    "stackgen",
    "jinja2",
    "markupsafe",
    "prometheus_client",
    "ruamel.yaml",
    "click",
    "tzdata",
    "bcrypt",
)
# Compiled extensions kept: bcrypt's is built for CPython's stable ABI (abi3), so it loads in any
# CPython 3 of the same platform; the relay checks web config passwords with it.
_KEPT_EXTENSIONS = (".abi3.so",)
_SKIPPED_SUFFIXES = (".so", ".pyd", ".pyc", ".pyo", ".c", ".h")
_SKIPPED_DIRS = {"__pycache__", "_blueprints", "tests"}


@dataclass(frozen=True)
class BuildContext:
    """The tar to send to the engine and the hash of what it contains."""

    tar: bytes
    source_hash: str


def dockerfile(base_image: str) -> str:
    """The relay image's Dockerfile."""
    probe = "import urllib.request; urllib.request.urlopen('http://localhost:9095/-/healthy', timeout=4)"
    return "\n".join(
        [
            f"FROM {base_image}",
            f"COPY site {SITE}",
            # Our copies first, so the image runs exactly what was tested, whatever the base carries.
            f"ENV PYTHONPATH={SITE} PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
            "USER 65534:65534",
            "EXPOSE 9095",
            "HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=5 "
            f'CMD ["python3", "-c", "{probe}"]',
            f'ENTRYPOINT ["python3", "-m", "stackgen.relay", "--config", "{CONFIG}"]',
            "",
        ]
    )


def package_files() -> list[tuple[str, Path]]:
    """(path inside site/, file on disk) for every file copied, sorted."""
    files: list[tuple[str, Path]] = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeFailure(
                f"cannot build the relay image: package {name} is not installed",
                hint=f"pip install {name.replace('_', '-')}",
            )
        root = Path(next(iter(spec.submodule_search_locations)))
        prefix = name.replace(".", "/")
        for path in sorted(_walk(root)):
            files.append((f"{prefix}/{path.relative_to(root).as_posix()}", path))
    return sorted(files)


def _walk(root: Path) -> Iterator[Path]:
    for path in root.iterdir():
        if path.is_dir():
            if path.name not in _SKIPPED_DIRS:
                yield from _walk(path)
        elif path.name.endswith(_KEPT_EXTENSIONS) or not path.name.endswith(_SKIPPED_SUFFIXES):
            yield path


def build_context(base_image: str) -> BuildContext:
    """The in-memory build context; deterministic for the same sources and base image."""
    files = package_files()
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        entries = [("Dockerfile", dockerfile(base_image).encode())]
        entries += [(f"site/{name}", path.read_bytes()) for name, path in files]
        for name, data in entries:
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return BuildContext(buffer.getvalue(), digest.hexdigest()[:12])


@lru_cache(maxsize=8)
def relay_image_tag(base_image: str = DEFAULT_BASE_IMAGE, repository: str = REPOSITORY) -> str:
    """`stackgen/relay:<version>-<hash>`: changes whenever the copied sources or the base change."""
    return f"{repository}:{__version__}-{build_context(base_image).source_hash}"


def ensure_relay_image(client: Any, tag: str, base_image: str, pull: str) -> None:
    """Build `tag` unless an image with that tag and the same sources exists.

    `pull` is the apply policy for the base image: missing (pull it only if absent), always,
    never (it must be present locally).
    """
    context = build_context(base_image)
    existing = _local_image(client, tag)
    if existing is not None and (existing.labels or {}).get(SOURCE_HASH_LABEL) == context.source_hash:
        return
    _ensure_base(client, base_image, pull)
    try:
        client.images.build(
            fileobj=io.BytesIO(context.tar),
            custom_context=True,
            tag=tag,
            pull=False,
            rm=True,
            forcerm=True,
            labels={SOURCE_HASH_LABEL: context.source_hash, "io.stackgen.role": "relay"},
        )
    except Exception as error:
        raise RuntimeFailure(
            f"building the relay image {tag} from {base_image} failed: {_build_failure(error)}"
        ) from error


def _local_image(client: Any, reference: str) -> Any | None:
    images = client.images.list(filters={"reference": reference})
    return images[0] if images else None


def _ensure_base(client: Any, base_image: str, pull: str) -> None:
    present = _local_image(client, base_image) is not None
    if pull == "never" or (pull == "missing" and present):
        if not present:
            raise RuntimeFailure(
                f"the relay's base image {base_image} is not present locally and --pull is never",
                hint="load it (`docker load`) or apply with --pull missing",
            )
        return
    repository, _, tag = (
        base_image.rpartition(":") if ":" in base_image.rsplit("/", 1)[-1] else (base_image, "", "latest")
    )
    try:
        client.images.pull(repository, tag=tag)
    except Exception as error:
        raise RuntimeFailure(
            f"cannot pull the relay's base image {base_image}: {error}",
            hint="set images.relay-base to a local Python 3.10+ image",
        ) from error


def _build_failure(error: Exception) -> str:
    log = getattr(error, "build_log", None)
    if log:
        lines = [str(chunk.get("stream") or chunk.get("error") or "").strip() for chunk in log]
        tail = [line for line in lines if line][-5:]
        if tail:
            return f"{error}: " + " | ".join(tail)
    return str(error)
