"""Renderers: pure functions from the model to file contents, one module per output."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stackgen.model import Stack
from stackgen.output import SECRET_DIR, RenderedFile

if TYPE_CHECKING:
    from stackgen.render.web import Overlap


def render_stack(
    stack: Stack,
    existing_secrets: Mapping[str, bytes],
    now: dt.datetime | None = None,
    overlap: Overlap | None = None,
) -> dict[str, RenderedFile]:
    """Every file of the stack by relative path. `existing_secrets` keeps generated secrets stable;
    `now` decides which certificates are due for renewal (default: the current time); `overlap`: a
    step of rotating the internal user (render/web.py rotation_steps)."""
    from stackgen.render.alertmanager import render_alertmanager
    from stackgen.render.blackbox import render_blackbox
    from stackgen.render.engines import engine_renderer
    from stackgen.render.grafana import render_grafana
    from stackgen.render.prometheus import render_prometheus
    from stackgen.render.relay import render_relay
    from stackgen.render.rules import render_rules
    from stackgen.render.tracing import render_tracing
    from stackgen.render.web import render_web, web_client

    if now is None:
        from stackgen.clock import utc_now

        now = utc_now()
    if stack.web.enabled or stack.fleet is not None:
        # One CA for everything signed in this render (web servers, fleet hosts): made first, then
        # read by each of them as the one kept from before.
        from stackgen.render.ca import CA_CERT_PATH, CA_KEY_PATH, stack_ca_files

        ca, _ = stack_ca_files(stack.name, existing_secrets, now)
        existing_secrets = {**existing_secrets, CA_CERT_PATH: ca.cert_pem, CA_KEY_PATH: ca.key_pem}
    internal = web_client(stack, existing_secrets)  # once: a first render generates its password
    client = overlap.client if overlap else internal
    files: dict[str, RenderedFile] = {}
    files.update(engine_renderer(stack).orchestration(stack))
    fleet_files, fleet_jobs = _fleet(stack, existing_secrets, now)
    files.update(fleet_files)
    files.update(render_prometheus(stack, client, fleet_jobs))
    files.update(render_rules(stack))
    files.update(render_alertmanager(stack, watchdog="watchdog" in stack.rule_packs.include, client=client))
    if stack.exporters.blackbox.enabled:
        files.update(render_blackbox(stack))
    if stack.grafana.enabled:
        files.update(render_grafana(stack, dict(existing_secrets), client))
    files.update(render_relay(stack))
    files.update(render_web(stack, internal, existing_secrets, now, overlap))
    files.update(render_tracing(stack))
    _keep_secret_dirs(stack, files)
    return dict(sorted(files.items()))


def _fleet(
    stack: Stack, existing: Mapping[str, bytes], now: dt.datetime
) -> tuple[dict[str, RenderedFile], tuple[dict[str, Any], ...]]:
    """The fleet's files (ansible/, host certificates, Prometheus' side) and its scrape job."""
    if stack.fleet is None:
        return {}, ()
    from stackgen.render import fleet
    from stackgen.render.ansible import render_ansible
    from stackgen.render.ca import stack_ca_files

    ca, files = stack_ca_files(stack.name, existing, now)
    password, password_files = fleet.scrape_password(stack.fleet, existing)
    credentials = fleet.scrape_credentials(password, existing.get(fleet.CREDENTIALS_PATH))
    files.update(password_files)
    files[fleet.CREDENTIALS_PATH] = RenderedFile(credentials.to_bytes(), 0o600)
    certificates = fleet.host_certificates(stack.fleet, ca, existing, now)
    files.update(certificates)
    files.update(fleet.prometheus_fleet_files(stack.fleet, ca, credentials))
    host_tls = {}
    for host in stack.fleet.hosts:
        stem = f"{SECRET_DIR}/fleet/hosts/{fleet.host_file_stem(host)}"
        host_tls[host.name] = (certificates[f"{stem}.crt"].content, certificates[f"{stem}.key"].content)
    files.update(render_ansible(stack.fleet, credentials, host_tls))
    return files, (fleet.fleet_scrape_config(stack.fleet, credentials),)


def _keep_secret_dirs(stack: Stack, files: dict[str, RenderedFile]) -> None:
    """Every mounted secrets/<service>/ exists even when empty, so adding a secret later reloads
    the service instead of changing its mounts (and recreating it)."""
    from stackgen.render.secrets import CONTAINER_UIDS, SECRET_MOUNTING_ROLES
    from stackgen.render.topology import services

    for role in sorted({service.role for service in services(stack)} & set(SECRET_MOUNTING_ROLES)):
        directory = f"{SECRET_DIR}/{role}"
        if not any(path.startswith(directory + "/") for path in files):
            files[f"{directory}/.keep"] = RenderedFile(b"", 0o600, CONTAINER_UIDS[role])
