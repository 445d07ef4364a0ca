"""Checks of what Prometheus scrapes: scrape jobs (`targets:`, one discovery each, addresses, names),
blackbox probes and their modules, scrape timeouts against intervals, targets on the Docker host
(`localhost` rewritten to host-gateway), and docker discovery's socket."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stackgen.roles import REGISTRY
from stackgen.spec.addresses import BUILTIN_PROBERS, probe_target_problem, scrape_target_problem
from stackgen.spec.build import LOCAL_ENDPOINT_KEYS, rewrite_local_address
from stackgen.spec.load import LoadedSpec
from stackgen.spec.meaning_common import duplicates, duration_seconds, items, section
from stackgen.spec.problems import Problem, Severity
from stackgen.spec.schema_errors import closest

# Jobs stackgen adds itself to scrape the stack; a user job of the same name would collide.
INTERNAL_JOBS = (*(str(role) for role in REGISTRY), "docker-discovery")
BUILTIN_PROBE_MODULES = ("http_2xx", "http_post_2xx", "http_any", "tcp_connect", "icmp", "dns")


def job_and_probe_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Scrape jobs and probes: each well formed, and their names unique and not the stack's own."""
    for index, job in items(data, "targets"):
        yield from _job(spec, index, job)
    yield from _probes(spec, data)
    named = [(("targets", index, "job"), job.get("job")) for index, job in items(data, "targets")]
    named += [(("probes", index, "name"), probe.get("name")) for index, probe in items(data, "probes")]
    names: list[tuple[tuple[Any, ...], str]] = [(path, name) for path, name in named if isinstance(name, str)]
    for path, name in names:
        if name in INTERNAL_JOBS:
            yield spec.problem(
                path, f"job name '{name}' is taken by the stack's own scrape job", "pick another name"
            )
    yield from duplicates(spec, names, "job")


def _job(spec: LoadedSpec, index: int, job: Mapping[str, Any]) -> Iterator[Problem]:
    sources = [key for key in ("targets", "consul", "dns") if key in job]
    if not sources:
        yield spec.problem(("targets", index), "a job needs `targets`, `consul` or `dns`")
    elif len(sources) > 1:
        yield spec.problem(
            ("targets", index, sources[1]),
            f"a job takes one of `targets`, `consul` or `dns`, not {' and '.join(sources)}",
            "split it into two jobs",
        )
    targets = job.get("targets")
    for t_index, target in enumerate(targets if isinstance(targets, list) else []):
        wrong = scrape_target_problem(target) if isinstance(target, str) else None
        if wrong:
            yield spec.problem(("targets", index, "targets", t_index), wrong.message, wrong.hint)
    metrics_path = job.get("metrics_path")
    if isinstance(metrics_path, str) and "?" in metrics_path:
        from urllib.parse import parse_qs

        bare_path, _, query = metrics_path.partition("?")
        params = ", ".join(f"{key}: [{', '.join(values)}]" for key, values in parse_qs(query).items())
        yield spec.problem(
            ("targets", index, "metrics_path"),
            "Prometheus escapes '?' in metrics_path: the query never reaches the target",
            f"write `metrics_path: {bare_path}` and `params: {{{params}}}`",
        )


def _probes(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    custom_modules = section(section(data, "blackbox"), "modules")
    modules = set(BUILTIN_PROBE_MODULES) | set(custom_modules)
    for index, probe in items(data, "probes"):
        module = probe.get("module")
        if isinstance(module, str) and module not in modules:
            yield spec.problem(
                ("probes", index, "module"),
                f"unknown blackbox module '{module}'",
                closest(module, modules) or "define it under blackbox.modules",
            )
        custom = custom_modules.get(module) if isinstance(module, str) else None
        prober = custom.get("prober") if isinstance(custom, Mapping) else BUILTIN_PROBERS.get(str(module))
        targets = probe.get("targets")
        for t_index, target in enumerate(targets if isinstance(targets, list) else []):
            wrong = probe_target_problem(target, str(prober)) if isinstance(target, str) else None
            if wrong:
                yield spec.problem(("probes", index, "targets", t_index), wrong.message, wrong.hint)
    if list(items(data, "probes")):
        blackbox = section(data, "exporters").get("blackbox", True)
        if blackbox is False or (isinstance(blackbox, Mapping) and blackbox.get("enabled") is False):
            yield spec.problem(
                ("exporters", "blackbox"), "probes need the blackbox exporter, which is disabled"
            )


def scrape_timeout_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """A scrape must end before the next begins: scrape_timeout no longer than scrape_interval."""
    prometheus = section(data, "prometheus")
    interval = duration_seconds(str(prometheus.get("scrape_interval", "15s")))
    timeout = duration_seconds(str(prometheus.get("scrape_timeout", "10s")))
    if interval is not None and timeout is not None:
        if "scrape_timeout" not in prometheus and timeout > interval:
            timeout = interval  # the default timeout follows a short interval down
        elif timeout > interval:
            yield spec.problem(
                ("prometheus", "scrape_timeout"), "scrape_timeout is longer than scrape_interval"
            )
    for index, job in items(data, "targets"):
        job_interval = duration_seconds(str(job.get("scrape_interval", ""))) or interval
        job_timeout = duration_seconds(str(job.get("scrape_timeout", "")))
        if job_timeout and job_interval and job_timeout > job_interval:
            yield spec.problem(
                ("targets", index, "scrape_timeout"), "scrape_timeout is longer than scrape_interval"
            )


def local_target_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """With host_access: auto, say which addresses on this machine are reached through host-gateway."""
    if data.get("host_access", "auto") != "auto":
        return
    addresses: list[tuple[tuple[Any, ...], Any]] = []
    for list_key, key in (("targets", "targets"), ("probes", "targets")):
        for index, item in items(data, list_key):
            addresses += [
                ((list_key, index, key, t_index), address)
                for t_index, address in enumerate(item.get(key) or [])
            ]
    for index, receiver in items(data, "receivers"):
        for kind, value in receiver.items():
            if isinstance(value, Mapping):
                addresses += [
                    (("receivers", index, kind, key), value.get(key)) for key in LOCAL_ENDPOINT_KEYS
                ]
    for path, address in addresses:
        rewritten = rewrite_local_address(address) if isinstance(address, str) else None
        if rewritten:
            verb = "scraped as" if path[0] in ("targets", "probes") else "reached as"
            yield spec.problem(
                path,
                f"{address} is the Docker host: {verb} {rewritten} (host-gateway)",
                "the service must listen on 0.0.0.0 or the docker bridge, not only on 127.0.0.1; "
                "set host_access: off to keep it as written",
                severity=Severity.NOTICE,
            )


def docker_socket_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """docker discovery reads the engine API: say when its socket is not here (nothing is discovered)."""
    import os

    docker = section(data, "discovery").get("docker")
    if not docker:
        return
    if section(data, "deploy").get("engine") == "swarm":
        yield spec.problem(
            ("discovery", "docker"),
            "docker discovery watches the containers of one engine "
            "and reaches them through host.docker.internal, which swarm tasks do not have",
            "with deploy.engine: swarm, run your services as swarm services and scrape them "
            "with targets or dns discovery",
            severity=Severity.WARNING,
        )
    host = (
        docker.get("host", "unix:///var/run/docker.sock")
        if isinstance(docker, Mapping)
        else "unix:///var/run/docker.sock"
    )
    if not isinstance(host, str) or not host.startswith("unix://"):
        return
    socket = host[len("unix://") :]
    given = isinstance(docker, Mapping) and "host" in docker
    path = ("discovery", "docker", "host") if given else ("discovery", "docker")
    if not os.path.exists(socket):
        yield spec.problem(
            path,
            f"no Docker socket at {socket} on this machine: Prometheus discovers "
            "nothing until it exists (render reads its group from it)",
            "render and apply on the Docker host, or give host: tcp://... for a remote engine",
            severity=Severity.WARNING,
        )
