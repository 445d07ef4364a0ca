"""Checks of meaning that a schema cannot express: names that must be unique or defined, PromQL that
must parse, matchers, durations that must agree, files that must exist.

Every check reads the raw spec data defensively (the schema may have failed elsewhere), so that one
run reports every problem. `meaning_problems` runs them all; the checks of one part of the spec live
beside this module (meaning_targets, meaning_rules, meaning_alerting, meaning_content, meaning_web,
meaning_fleet), and those that span the whole stack are here: images, published ports, the files the
spec names, the relay's time zone and the Swarm engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackgen.model import DEFAULT_IMAGES, RELAY_CHANNELS
from stackgen.roles import REGISTRY, Role, addon_roles
from stackgen.spec.load import LoadedSpec
from stackgen.spec.meaning_alerting import receiver_and_route_problems
from stackgen.spec.meaning_common import items, section
from stackgen.spec.meaning_content import content_problems
from stackgen.spec.meaning_rules import load_rule_files, rule_file_problems, rule_problems
from stackgen.spec.meaning_targets import (
    docker_socket_problems,
    job_and_probe_problems,
    local_target_problems,
    scrape_timeout_problems,
)
from stackgen.spec.problems import Problem, Severity
from stackgen.spec.schema import default
from stackgen.spec.schema_errors import closest

if TYPE_CHECKING:
    from stackgen.spec.templates import GoTemplateCheck


def meaning_problems(spec: LoadedSpec) -> list[Problem]:
    """Every problem of meaning in the spec."""
    from stackgen.spec.meaning_web import web_problems
    from stackgen.spec.templates import relay_template_problems

    data = spec.data if isinstance(spec.data, dict) else {}
    rule_files = load_rule_files(spec, data)
    templates = _start_template_check(spec, data, rule_files)  # runs while the other checks do
    checks = (
        job_and_probe_problems,
        rule_problems,
        receiver_and_route_problems,
        _images,
        scrape_timeout_problems,
        _ports,
        _files,
        local_target_problems,
        content_problems,
        _timezone,
        relay_template_problems,
        docker_socket_problems,
        web_problems,
        _deploy,
    )
    problems: list[Problem] = list(rule_file_problems(rule_files))
    for check in checks:
        problems.extend(check(spec, data))
    from stackgen.spec.meaning_fleet import fleet_problems

    problems.extend(fleet_problems(spec, data))
    problems.extend(templates.problems())
    return problems


def _start_template_check(
    spec: LoadedSpec, data: Mapping[str, Any], rule_files: list[LoadedSpec]
) -> GoTemplateCheck:
    from stackgen.spec.templates import GoTemplateCheck, alertmanager_templates, rule_templates

    rules = rule_templates(spec, section(data, "rules").get("groups"), ("rules", "groups"))
    for loaded in rule_files:
        if isinstance(loaded.data, dict):
            rules += rule_templates(loaded, loaded.data.get("groups"), ("groups",))
    files: list[tuple[LoadedSpec, tuple[str | int, ...], Path]] = [
        (spec, ("alertmanager", "templates", index), spec.path.parent / name)
        for index, name in enumerate(section(data, "alertmanager").get("templates") or [])
        if isinstance(name, str) and (spec.path.parent / name).is_file()
    ]
    return GoTemplateCheck(rules, alertmanager_templates(spec, data), files)


def _images(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    known = [*DEFAULT_IMAGES, "registry"]
    for key in section(data, "images"):
        if key not in known:
            yield spec.problem(
                ("images", key),
                f"unknown service '{key}' in images",
                closest(key, known) or f"services: {', '.join(DEFAULT_IMAGES)}",
                at_key=True,
            )


def _ports(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    import ipaddress

    listen = data.get("listen")
    if isinstance(listen, str):
        try:
            ipaddress.ip_address(listen)
        except ValueError:
            yield spec.problem(
                ("listen",),
                f"expected an IP address of this host, got {listen!r}",
                "127.0.0.1 (the default) keeps the stack private to this machine",
            )

    def port(name: str, key: str) -> int | None:
        values = section(data, name)
        value = values[key] if key in values else default(name, key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    published: list[tuple[tuple[Any, ...], int | None]] = [
        (("prometheus", "port"), port("prometheus", "port")),
        (("alertmanager", "port"), port("alertmanager", "port")),
    ]
    prom_replicas = section(data, "prometheus").get("replicas", 1)
    am_replicas = section(data, "alertmanager").get("replicas", 1)
    if isinstance(published[0][1], int) and isinstance(prom_replicas, int):
        published += [(("prometheus", "port"), published[0][1] + n) for n in range(1, prom_replicas)]
    if isinstance(published[1][1], int) and isinstance(am_replicas, int):
        published += [(("alertmanager", "port"), published[1][1] + n) for n in range(1, am_replicas)]
    if section(data, "grafana").get("enabled", True) is not False:
        published.append((("grafana", "port"), port("grafana", "port")))
    for addon in addon_roles().values():  # what an add-on role publishes: the ports its entry names
        if section(data, addon.settings).get("enabled", default(addon.settings, "enabled")) is True:
            published += [((addon.settings, key), port(addon.settings, key)) for key in addon.published_ports]
    if section(data, "tracing").get("enabled") is True:
        for key in ("jaeger_port", "otlp_grpc_port", "otlp_http_port"):
            published.append((("tracing", key), port("tracing", key)))
    for key, value in section(data, "exporters").items():
        if isinstance(value, Mapping) and value.get("enabled", True) and isinstance(value.get("port"), int):
            published.append((("exporters", key, "port"), value["port"]))
        elif key == "pushgateway" and value is True:
            published.append((("exporters", key), REGISTRY[Role.PUSHGATEWAY].port))
    if any(kind in receiver for _, receiver in items(data, "receivers") for kind in RELAY_CHANNELS):
        published.append((("relay", "port"), port("relay", "port")))
    seen: dict[int, tuple[Any, ...]] = {}
    for path, number in published:
        if number is None:
            continue
        if number in seen:
            other = ".".join(str(p) for p in seen[number])
            yield spec.problem(path, f"port {number} is already published by {other}")
        else:
            seen[number] = path


def _files(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    base = spec.path.parent
    for part, key in (("rules", "files"), ("dashboards", "files"), ("alertmanager", "templates")):
        for index, name in enumerate(section(data, part).get(key) or []):
            if isinstance(name, str) and not (base / name).is_file():
                yield spec.problem(
                    (part, key, index), f"no such file: {name}", f"paths are relative to {base}"
                )
    yield from _tls_files(spec, data)
    for index, receiver in items(data, "receivers"):
        for kind, value in receiver.items():
            for settings in value if isinstance(value, list) else [value]:
                if (
                    isinstance(settings, Mapping)
                    and isinstance(settings.get("template"), str)
                    and not (base / settings["template"]).is_file()
                ):
                    yield spec.problem(
                        ("receivers", index, kind, "template"),
                        f"no such file: {settings['template']}",
                        f"paths are relative to {base}",
                    )


def _tls_files(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Certificates and keys named by tls_config exist, are PEM, and come in cert/key pairs."""
    base = spec.path.parent
    places: list[tuple[tuple[Any, ...], Any]] = [
        (("targets", index, "tls_config"), job.get("tls_config")) for index, job in items(data, "targets")
    ]
    places += [
        (("prometheus", "remote_write", index, "tls_config"), entry.get("tls_config"))
        for index, entry in items(section(data, "prometheus"), "remote_write")
    ]
    places += [
        (("receivers", index, "email", "tls_config"), receiver["email"].get("tls_config"))
        for index, receiver in items(data, "receivers")
        if isinstance(receiver.get("email"), Mapping)
    ]
    modules = section(section(data, "blackbox"), "modules")
    places += [
        (("blackbox", "modules", name, prober, "tls_config"), module[prober].get("tls_config"))
        for name, module in modules.items()
        if isinstance(module, Mapping)
        for prober in ("http", "tcp", "grpc")
        if isinstance(module.get(prober), Mapping)
    ]
    for path, tls in places:
        if not isinstance(tls, Mapping):
            continue
        if ("cert_file" in tls) != ("key_file" in tls):
            present, missing = ("cert_file", "key_file") if "cert_file" in tls else ("key_file", "cert_file")
            yield spec.problem((*path, present), f"{present} needs {missing}: a client certificate is a pair")
        for key in ("ca_file", "cert_file", "key_file"):
            name = tls.get(key)
            if not isinstance(name, str) or not name:
                continue
            file = base / name
            if not file.is_file():
                yield spec.problem((*path, key), f"no such file: {name}", f"paths are relative to {base}")
            elif b"-----BEGIN " not in file.read_bytes()[:65536]:
                yield spec.problem((*path, key), f"{name} is not a PEM file (no -----BEGIN line)")


def _timezone(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    name = section(data, "relay").get("timezone")
    if not isinstance(name, str) or not name:
        return
    from stackgen.relay.config import load_zone

    try:
        load_zone(name)
    except ValueError as error:
        import zoneinfo

        yield spec.problem(("relay", "timezone"), str(error), closest(name, zoneinfo.available_timezones()))


def _deploy(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Swarm: HA replicas need nodes they can all read their config on; ports cannot stay on loopback."""
    deploy = section(data, "deploy")
    if deploy.get("engine") != "swarm":
        return
    per_node = deploy.get("max_replicas_per_node", 1)
    for role in ("prometheus", "alertmanager"):
        replicas = section(data, role).get("replicas", 1)
        if (
            isinstance(replicas, int)
            and isinstance(per_node, int)
            and replicas > per_node
            and deploy.get("shared_output") is not True
        ):
            yield spec.problem(
                (role, "replicas"),
                f"{replicas} replicas at most {per_node} per node need several nodes, but without "
                "deploy.shared_output every service that reads config is pinned to the node apply runs on",
                "put the output directory on storage every node mounts at the same path and set "
                "deploy.shared_output: true, or raise deploy.max_replicas_per_node",
            )
    listen = data.get("listen", "127.0.0.1")
    if listen in ("127.0.0.1", "::1", "localhost"):
        yield spec.problem(
            ("deploy", "engine"),
            f"Swarm publishes host-mode ports on every address of the node: listen {listen} is not kept",
            "add web.tls: {} and web.users so that what is published asks for a password, or firewall "
            "the published ports",
            severity=Severity.NOTICE,
        )
