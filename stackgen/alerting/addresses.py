"""Where a running stack's services answer, read from the rendered docker-compose.yml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackgen.errors import InvalidInput
from stackgen.runtime.web_access import WebAccess, read_web_access


@dataclass(frozen=True)
class StackFiles:
    """The rendered files of one stack."""

    out_dir: Path
    compose: Mapping[str, Any]

    def service(self, *names: str) -> Mapping[str, Any] | None:
        """The first of `names` that the compose file defines."""
        services = self.compose.get("services") or {}
        for name in names:
            if name in services:
                return services[name]
        return None

    @property
    def access(self) -> WebAccess:
        """How stackgen reaches this stack's endpoints (scheme, internal user, CA)."""
        return read_web_access(self.out_dir)

    def published_url(self, container_port: int, *names: str) -> str | None:
        """`http(s)://host:port` of a service's published container port, or None if not published."""
        service = self.service(*names)
        if service is None:
            return None
        for port in service.get("ports") or []:
            url = url_of_port(str(port), container_port)
            if url:
                return url.replace("http://", f"{self.access.scheme}://", 1)
        return None

    def host_path(self, service_names: tuple[str, ...], container_path: str) -> Path | None:
        """The file on this host that a service sees at `container_path` (through its bind mounts)."""
        service = self.service(*service_names)
        for volume in (service or {}).get("volumes") or []:
            parts = str(volume).split(":")
            if len(parts) < 2 or not parts[0].startswith((".", "/")):
                continue
            source, target = parts[0], parts[1].rstrip("/")
            if container_path == target or container_path.startswith(target + "/"):
                relative = container_path[len(target):].lstrip("/")
                base = (self.out_dir / source).resolve() if not source.startswith("/") else Path(source)
                return base / relative if relative else base
        return None


def url_of_port(spec: str, container_port: int) -> str | None:
    """`http://127.0.0.1:9093` from "127.0.0.1:9093:9093" when it publishes container_port."""
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]:")
        host = f"[{host}]"
    else:
        pieces = spec.split(":")
        host, rest = (pieces[0], ":".join(pieces[1:])) if len(pieces) == 3 else ("127.0.0.1", spec)
    host_port, _, target = rest.partition(":")
    if target.split("/")[0] != str(container_port) or not host_port.isdigit():
        return None
    if host in ("0.0.0.0", "", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{host_port}"


def load_stack_files(out_dir: Path) -> StackFiles:
    """Read out_dir/docker-compose.yml; a missing file means the stack was never rendered."""
    path = out_dir / "docker-compose.yml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read ({error.strerror or error})",
                           hint="render or apply the stack first, or pass the address") from error
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(text) or {}
    return StackFiles(out_dir, data)
