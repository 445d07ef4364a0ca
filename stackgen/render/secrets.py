"""Secrets: every password, key and token goes into its own 0600 file under secrets/<service>/, mounted
read-only at /run/secrets/stackgen in that service; config files only ever name the file."""

from __future__ import annotations

import secrets as random_source
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackgen.model import Stack
from stackgen.output import SECRET_DIR, RenderedFile
from stackgen.render.topology import SECRETS_MOUNT, slug
from stackgen.roles import REGISTRY, secret_owners

# The users the upstream images run as: a secret must be readable by its container's user.
CONTAINER_UIDS = secret_owners()

# Services whose compose definition mounts secrets/<role>/ (compose.py).
SECRET_MOUNTING_ROLES = tuple(str(role) for role, entry in REGISTRY.items() if entry.mounts_secrets)


@dataclass
class SecretFiles:
    """Collects secret files for one service while a renderer runs; gives back in-container paths."""

    service: str
    files: dict[str, RenderedFile] = field(default_factory=dict)
    stack: Stack | None = None  # whose spec files `copy` reads (certificates, keys)

    def put(self, name: str, value: str | bytes) -> str:
        """Store `value` as a secret file; return the path the container reads it from."""
        file_name = slug(name)
        content = value.encode("utf-8") if isinstance(value, str) else value
        self.files[f"{SECRET_DIR}/{self.service}/{file_name}"] = RenderedFile(
            content, 0o600, CONTAINER_UIDS.get(self.service)
        )
        return f"{SECRETS_MOUNT}/{file_name}"

    def copy(self, name: str, path: str) -> str:
        """Store a copy of the spec's file `path` (relative to the spec) as a secret file."""
        if self.stack is None:
            raise ValueError(f"SecretFiles({self.service!r}) has no stack to copy {path} from")
        return self.put(name, self.stack.read(path))


TLS_FILE_KEYS = ("ca_file", "cert_file", "key_file")


def tls_files(settings: Mapping[str, Any], name: str, secrets: SecretFiles) -> dict[str, Any]:
    """A spec tls_config for the upstream config: its files copied into the service's secrets."""
    return {
        key: secrets.copy(f"{name}.{key.removesuffix('_file')}.pem", value) if key in TLS_FILE_KEYS else value
        for key, value in settings.items()
    }


def generated_secret(existing: Mapping[str, bytes], path: str) -> str:
    """A random secret generated once and kept across renders (read back from the last output)."""
    if path in existing and existing[path].strip():
        return existing[path].decode("utf-8")
    return random_source.token_urlsafe(18)
