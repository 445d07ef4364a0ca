"""Secrets: every password, key and token goes into its own 0600 file under secrets/<service>/, mounted
read-only at /run/secrets/stackgen in that service; config files only ever name the file."""

from __future__ import annotations

import secrets as random_source
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackgen.output import SECRET_DIR, RenderedFile
from stackgen.render.topology import SECRETS_MOUNT, slug

# The users the upstream images run as: a secret must be readable by its container's user.
CONTAINER_UIDS = {
    "prometheus": 65534, "alertmanager": 65534, "blackbox-exporter": 65534, "grafana": 472, "relay": 65534,
    "node-exporter": 65534, "pushgateway": 65534,
}

# Services whose compose definition mounts secrets/<role>/ (compose.py).
SECRET_MOUNTING_ROLES = ("prometheus", "alertmanager", "grafana", "relay", "blackbox-exporter")


@dataclass
class SecretFiles:
    """Collects secret files for one service while a renderer runs; gives back in-container paths."""

    service: str
    files: dict[str, RenderedFile] = field(default_factory=dict)
    spec_dir: Path = Path(".")  # where the spec's relative file paths (certificates, keys) start

    def put(self, name: str, value: str | bytes) -> str:
        """Store `value` as a secret file; return the path the container reads it from."""
        file_name = slug(name)
        content = value.encode("utf-8") if isinstance(value, str) else value
        self.files[f"{SECRET_DIR}/{self.service}/{file_name}"] = RenderedFile(
            content, 0o600, CONTAINER_UIDS.get(self.service))
        return f"{SECRETS_MOUNT}/{file_name}"

    def copy(self, name: str, path: str) -> str:
        """Store a copy of the spec's file `path` (relative to the spec) as a secret file."""
        return self.put(name, (self.spec_dir / path).read_bytes())


TLS_FILE_KEYS = ("ca_file", "cert_file", "key_file")


def tls_files(settings: Mapping[str, Any], name: str, secrets: SecretFiles) -> dict[str, Any]:
    """A spec tls_config for the upstream config: its files copied into the service's secrets."""
    return {key: secrets.copy(f"{name}.{key.removesuffix('_file')}.pem", value)
            if key in TLS_FILE_KEYS else value for key, value in settings.items()}


def generated_secret(existing: Mapping[str, bytes], path: str) -> str:
    """A random secret generated once and kept across renders (read back from the last output)."""
    if path in existing and existing[path].strip():
        return existing[path].decode("utf-8")
    return random_source.token_urlsafe(18)


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
