"""Where notify and silence find a running stack: the URLs given, else the rendered files in generated/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stackgen.errors import InvalidInput
from stackgen.rendered import RenderedStack, read_rendered
from stackgen.roles import REGISTRY, Role

RELAY_SERVICE = ("relay",)
ALERTMANAGER_SERVICES = ("alertmanager", "alertmanager-1")


def alertmanager_endpoint(directory: Path, url: str | None) -> tuple[RenderedStack, str]:
    """The rendered files in `directory` (read only when needed) and Alertmanager's URL: `url`, else
    the address its published port answers on."""
    if url:
        return RenderedStack(directory, {}), url
    files = read_rendered(directory)
    return files, _published_alertmanager(files)


def endpoints(
    directory: Path, alertmanager_url: str | None, relay_url: str | None
) -> tuple[RenderedStack, str, str | None]:
    """The rendered files in `directory`, Alertmanager's URL and the relay's (None if it is not
    published)."""
    if alertmanager_url and relay_url:
        return RenderedStack(directory, {}), alertmanager_url, relay_url
    files = read_rendered(directory)
    am = alertmanager_url or _published_alertmanager(files)
    return files, am, relay_url or files.published_url(REGISTRY[Role.RELAY].port, *RELAY_SERVICE)


def _published_alertmanager(files: RenderedStack) -> str:
    url = files.published_url(REGISTRY[Role.ALERTMANAGER].port, *ALERTMANAGER_SERVICES)
    if not url:
        raise InvalidInput(
            "Alertmanager's port is not published by this stack",
            hint="give its address with --alertmanager-url",
        )
    return url


def relay_paths(directory: Path, relay_config: Path | None) -> tuple[Path, Any]:
    """relay.yml on this host (in `directory` unless given), and a function from the container's
    paths to this host's."""
    if relay_config is not None:
        return relay_config, None
    config = directory / "relay" / "relay.yml"
    if not config.exists():
        raise InvalidInput(
            f"{config} does not exist: this stack has no relay receivers, or was not rendered",
            hint="stackgen render first, or give --relay-config",
        )
    try:
        files = read_rendered(directory)
    except InvalidInput:
        return config, None

    def to_host(path: Path) -> Path:
        return files.host_path(RELAY_SERVICE, str(path)) or path

    return config, to_host


def read_yaml(path: Path, missing_ok: bool = False) -> dict[str, Any]:
    """A rendered YAML file as data."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        if missing_ok:
            return {}
        raise InvalidInput(
            f"{path}: cannot read ({error.strerror or error})", hint="render or apply the stack first"
        ) from error
    from stackgen.spec.load import read_yaml_data

    try:
        data = read_yaml_data(text, path.name) or {}
    except ValueError as error:
        raise InvalidInput(f"{path} is not readable YAML: {error}") from error
    return data if isinstance(data, dict) else {}
