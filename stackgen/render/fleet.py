"""The fleet as Prometheus sees it: one `fleet` job over file_sd, and the credentials both sides use.

One job with a `group` label rather than one job per group: adding a host to a new group then only
rewrites targets/fleet.json (no reload, no restart), the TLS and basic auth settings exist once, and
the node rule pack and dashboard select hosts by `group` within one job. A host in several groups
gets `group` = the first group it is directly in and `groups` = ",web,prod," (every group, Prometheus'
own convention for tag lists) so that `groups=~".*,prod,.*"` selects a parent group.

Scrape password rotation keeps two users in the exporters' web config while Prometheus switches
(`scrape-credentials.json`, see `ScrapeCredentials`); host certificates are re-issued from the stack
CA when a host's names change or near expiry, and exporters read them per TLS handshake.
"""

from __future__ import annotations

import json
import secrets as random_source
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackgen import pki
from stackgen.fleet.model import Fleet, FleetHost
from stackgen.output import SECRET_DIR, RenderedFile
from stackgen.render.ca import previous_pair
from stackgen.render.dump import json_bytes
from stackgen.render.secrets import CONTAINER_UIDS
from stackgen.render.topology import SECRETS_MOUNT, slug

FLEET_JOB = "fleet"
TARGETS_FILE = "targets/fleet.json"
CREDENTIALS_PATH = f"{SECRET_DIR}/fleet/scrape-credentials.json"
GENERATED_PASSWORD_PATH = f"{SECRET_DIR}/fleet/scrape.password"
PROMETHEUS_CA = "fleet-ca.pem"


@dataclass(frozen=True)
class ScrapeUser:
    """A basic auth user the exporters accept, and the password Prometheus sends as it."""

    name: str
    bcrypt_hash: str
    password: str


@dataclass(frozen=True)
class ScrapeCredentials:
    """Who the exporters accept and whom Prometheus scrapes as.

    A new password adds a user (`scrape-N+1`) beside the active one; `stackgen fleet apply` rolls the
    pair out, then switches Prometheus (`active`) and finally drops the old user (`retire_others`)."""

    accepted: tuple[ScrapeUser, ...]
    active: str

    @property
    def active_user(self) -> ScrapeUser:
        return next(user for user in self.accepted if user.name == self.active)

    @property
    def rotating(self) -> bool:
        return len(self.accepted) > 1

    def to_bytes(self) -> bytes:
        return json_bytes(
            {
                "active": self.active,
                "accepted": [
                    {"name": u.name, "hash": u.bcrypt_hash, "password": u.password} for u in self.accepted
                ],
            }
        )


def scrape_password(fleet: Fleet, existing: Mapping[str, bytes]) -> tuple[str, dict[str, RenderedFile]]:
    """The spec's password, or one generated once and kept (no default passwords)."""
    if fleet.node_exporter.scrape_password:
        return fleet.node_exporter.scrape_password, {}
    kept = existing.get(GENERATED_PASSWORD_PATH, b"").decode("utf-8").strip()
    password = kept or random_source.token_urlsafe(24)
    return password, {GENERATED_PASSWORD_PATH: RenderedFile(password.encode("utf-8"), 0o600)}


def scrape_credentials(password: str, previous: bytes | None) -> ScrapeCredentials:
    """The previous render's credentials, with a new user added when the password changed."""
    accepted: list[ScrapeUser] = []
    active = ""
    if previous:
        try:
            data = json.loads(previous)
            accepted = [ScrapeUser(u["name"], u["hash"], u["password"]) for u in data["accepted"]]
            active = data["active"]
        except (ValueError, KeyError, TypeError):
            accepted = []
    if accepted and accepted[-1].password == password:
        return ScrapeCredentials(
            tuple(accepted), active if any(u.name == active for u in accepted) else accepted[-1].name
        )
    number = 1 + max(
        (int(u.name.rsplit("-", 1)[-1]) for u in accepted if u.name.rsplit("-", 1)[-1].isdigit()), default=0
    )
    new = ScrapeUser(f"scrape-{number}", pki.password_hash(password, None), password)
    still = [u for u in accepted if u.name == active][:1]  # Prometheus keeps using it until switched
    return ScrapeCredentials((*still, new), still[0].name if still else new.name)


def switched(credentials: ScrapeCredentials) -> ScrapeCredentials:
    """Prometheus scrapes as the newest user (the exporters accept it by now)."""
    return ScrapeCredentials(credentials.accepted, credentials.accepted[-1].name)


def retired(credentials: ScrapeCredentials) -> ScrapeCredentials:
    """Only the active user is accepted any more."""
    return ScrapeCredentials((credentials.active_user,), credentials.active)


def host_file_stem(host: FleetHost) -> str:
    """The file name of a host's certificate and key under secrets/fleet/hosts/."""
    return slug(host.name)


def host_certificates(
    fleet: Fleet, ca: pki.KeyPair, existing: Mapping[str, bytes], now: Any
) -> dict[str, RenderedFile]:
    """A server certificate per host for its inventory name and address, kept while they fit."""
    files: dict[str, RenderedFile] = {}
    for host in fleet.hosts:
        stem = f"{SECRET_DIR}/fleet/hosts/{host_file_stem(host)}"
        previous = previous_pair(existing, f"{stem}.crt", f"{stem}.key")
        pair = pki.server_certificate(ca, host.name, {host.name, host.address}, previous, now)
        files[f"{stem}.crt"] = RenderedFile(pair.cert_pem, 0o600)
        files[f"{stem}.key"] = RenderedFile(pair.key_pem, 0o600)
    return files


def target_groups(fleet: Fleet) -> list[dict[str, Any]]:
    """file_sd entries: one per host, `instance` = its inventory name."""
    port = fleet.node_exporter.port
    entries = []
    for host in fleet.hosts:
        address = f"[{host.address}]" if ":" in host.address else host.address
        labels = {
            **host.labels,
            "instance": host.name,
            "group": host.group,
            "groups": "," + ",".join(host.groups) + "," if host.groups else ",",
        }
        entries.append({"targets": [f"{address}:{port}"], "labels": dict(sorted(labels.items()))})
    return entries


def fleet_scrape_config(fleet: Fleet, credentials: ScrapeCredentials) -> dict[str, Any]:
    """The `fleet` job of prometheus.yml."""
    config: dict[str, Any] = {"job_name": FLEET_JOB}
    if fleet.node_exporter.tls:
        config["scheme"] = "https"
        config["tls_config"] = {"ca_file": f"{SECRETS_MOUNT}/{PROMETHEUS_CA}"}
    config["basic_auth"] = {
        "username": credentials.active,
        "password_file": f"{SECRETS_MOUNT}/{password_file_name(credentials.active)}",
    }
    config["file_sd_configs"] = [{"files": [TARGETS_FILE]}]
    return config


def password_file_name(user: str) -> str:
    """Per user, so that a new password never reaches a Prometheus still configured as the old user
    (Prometheus reads password_file at every scrape, the username only on reload)."""
    return f"fleet-{user}.password"


def prometheus_fleet_files(
    fleet: Fleet, ca: pki.KeyPair, credentials: ScrapeCredentials
) -> dict[str, RenderedFile]:
    """Targets, and Prometheus' copy of the CA and of every accepted user's password."""
    uid = CONTAINER_UIDS["prometheus"]
    files = {
        f"prometheus/{TARGETS_FILE}": RenderedFile(json_bytes(target_groups(fleet))),
        f"{SECRET_DIR}/prometheus/{PROMETHEUS_CA}": RenderedFile(ca.cert_pem, 0o600, uid),
    }
    for user in credentials.accepted:
        files[f"{SECRET_DIR}/prometheus/{password_file_name(user.name)}"] = RenderedFile(
            user.password.encode("utf-8"), 0o600, uid
        )
    return files
