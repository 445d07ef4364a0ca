"""The one reader of a rendered stack: its docker-compose.yml, parsed once, as the runtime and the
alerting commands need it (project name, service definitions, published addresses, mounted files);
and, for a swarm stack, its docker-stack.yml as data (runtime/swarm/stack_file.py makes records of it).

It reads either what `render` just produced in memory (apply, plan) or what an earlier render left on
disk (status, logs, down, notify, silence), with one YAML reader (libyaml by YAML 1.2 rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from stackgen.errors import InvalidInput, RuntimeFailure
from stackgen.output import RenderedFile
from stackgen.runtime.compose_file import ProjectDefinition, parse_project
from stackgen.runtime.web_access import WebAccess, read_web_access

COMPOSE_FILE = "docker-compose.yml"


@dataclass(frozen=True)
class RenderedStack:
    """A rendered stack: where its files are and what its compose file says."""

    out_dir: Path
    compose: Mapping[str, Any]

    @property
    def compose_path(self) -> Path:
        """Where the compose file is (or will be) on disk."""
        return self.out_dir / COMPOSE_FILE

    @property
    def project_name(self) -> str | None:
        """The compose project the file names (`x-stackgen.project`, or a top-level `name:`)."""
        name = (self.compose.get("x-stackgen") or {}).get("project") or self.compose.get("name")
        return str(name) if name else None

    @cached_property
    def project(self) -> ProjectDefinition:
        """The services as the runtime converges them."""
        return parse_project(self.compose, self.compose_path)

    def project_as(self, name: str | None) -> ProjectDefinition:
        """The project under another name (`--project`), or its own when `name` is None."""
        return (
            self.project
            if name is None or name == self.project_name
            else parse_project(self.compose, self.compose_path, name)
        )

    @property
    def service_names(self) -> list[str]:
        """The compose services, in the file's order."""
        return [str(name) for name in self.compose.get("services") or {}]

    def service(self, *names: str) -> Mapping[str, Any] | None:
        """The first of `names` that the compose file defines."""
        services = self.compose.get("services") or {}
        for name in names:
            if name in services:
                service: Mapping[str, Any] = services[name]
                return service
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
                relative = container_path[len(target) :].lstrip("/")
                base = (self.out_dir / source).resolve() if not source.startswith("/") else Path(source)
                return base / relative if relative else base
        return None


def from_files(files: Mapping[str, RenderedFile], out_dir: Path) -> RenderedStack:
    """The stack `render` just produced (not yet written)."""
    if COMPOSE_FILE not in files:
        raise RuntimeFailure(f"nothing to apply: the rendered files have no {COMPOSE_FILE}")
    return RenderedStack(out_dir, _parse(files[COMPOSE_FILE].content, out_dir / COMPOSE_FILE, RuntimeFailure))


def read_rendered(out_dir: Path) -> RenderedStack:
    """The stack an earlier render wrote to `out_dir`; InvalidInput when there is none."""
    path = out_dir / COMPOSE_FILE
    return RenderedStack(out_dir, _parse(_read(path), path, InvalidInput))


def read_rendered_if_any(out_dir: Path) -> RenderedStack | None:
    """Like read_rendered, None when the stack was never rendered there."""
    return read_rendered(out_dir) if (out_dir / COMPOSE_FILE).is_file() else None


def swarm_document(files: Mapping[str, RenderedFile]) -> Mapping[str, Any]:
    """The docker-stack.yml `render` just produced, as data."""
    from stackgen.runtime.swarm import STACK_FILE

    if STACK_FILE not in files:
        raise RuntimeFailure(f"nothing to apply: the rendered files have no {STACK_FILE}")
    return _parse(files[STACK_FILE].content, Path(STACK_FILE), RuntimeFailure)


def read_swarm_document(out_dir: Path) -> Mapping[str, Any]:
    """The docker-stack.yml an earlier render wrote to `out_dir`, as data."""
    from stackgen.runtime.swarm import STACK_FILE

    path = out_dir / STACK_FILE
    return _parse(_read(path), path, InvalidInput)


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


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"{path}: cannot read ({error.strerror or error})", hint="render or apply the stack first"
        ) from error


def _parse(
    content: bytes, path: Path, error_class: type[InvalidInput] | type[RuntimeFailure]
) -> Mapping[str, Any]:
    from stackgen.spec.load import read_yaml_data

    try:
        data = read_yaml_data(content.decode("utf-8"), path.name) or {}
    except (ValueError, UnicodeDecodeError) as error:
        raise error_class(f"{path} is not readable YAML: {error}") from error
    if not isinstance(data, Mapping):
        raise error_class(f"{path} is not a compose or stack file (a mapping of services)")
    return data
