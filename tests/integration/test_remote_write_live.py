"""remote_write live: series that Prometheus scrapes arrive in VictoriaMetrics (Debian's 1.79 binary).

A stack brought up by `apply` (Prometheus 2.42, Alertmanager 0.25) whose spec sends samples to
`http://victoria-metrics:8428/api/v1/write` with basic auth (the password lives only in a 0600 secret
file, read by Prometheus through `password_file`). VictoriaMetrics is not part of stackgen's stack:
the test starts it on the stack's network, under the alias the spec names and with the compose project
label, so the project's cleanup removes it. It requires the same basic auth, so a series there proves
Prometheus wrote it with the secret file's password; the `cluster` external label, which Prometheus
adds only to what leaves it, proves the path too. Traffic: loopback and the stack's own containers.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import COMPOSE_PROJECT_LABEL, remove_compose_project, wait_until
from tests.integration.runtime_stack import TestStack, free_port, get_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VM_ALIAS = "victoria-metrics"
VM_USER = "stackgen"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class RemoteWriteStack:
    stack: TestStack
    vm_url: str
    password: str

    def vm_query(self, expr: str, auth: bool = True) -> list[dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.vm_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        )
        if auth:
            token = base64.b64encode(f"{VM_USER}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with _NO_PROXY.open(request, timeout=10) as answer:
            return list(json.loads(answer.read())["data"]["result"])

    def prometheus_value(self, expr: str) -> float | None:
        url = f"{self.stack.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        result = get_json(url)["data"]["result"]
        return float(result[0]["value"][1]) if result else None


def start_victoria_metrics(docker_client: Any, project: str, image: str, password: str) -> str:
    """VictoriaMetrics on the project's network as `victoria-metrics`; returns its URL on 127.0.0.1."""
    port = free_port()
    docker_client.containers.run(
        image,
        command=[
            "-storageDataPath=/tmp/victoria-metrics-data",
            "-httpListenAddr=:8428",
            # queries otherwise leave out the last 30 s, which is all this test has
            "-search.latencyOffset=1s",
            "-search.disableCache",
            f"-httpAuth.username={VM_USER}",
            f"-httpAuth.password={password}",
        ],
        name=f"{project}-{VM_ALIAS}-1",
        labels={COMPOSE_PROJECT_LABEL: project, "com.docker.compose.service": VM_ALIAS},
        ports={"8428/tcp": ("127.0.0.1", port)},
        detach=True,
    )
    # connected after the start: the SDK's run() takes one network but no alias for it
    container = docker_client.containers.get(f"{project}-{VM_ALIAS}-1")
    docker_client.networks.get(f"{project}_default").connect(container, aliases=[VM_ALIAS])
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def remote_write(
    docker_client: Any, local_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RemoteWriteStack]:
    project = f"sgt-rw{uuid.uuid4().hex[:8]}"
    password = secrets.token_hex(12)
    spec = {
        "version": 1,
        "name": project,
        "images": {role: local_images[role] for role in ("prometheus", "alertmanager")},
        "prometheus": {
            "port": free_port(),
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "evaluation_interval": "1s",
            "external_labels": {"cluster": project},
            "remote_write": [
                {
                    "name": "longterm",
                    "url": f"http://{VM_ALIAS}:8428/api/v1/write",
                    "basic_auth": {"username": VM_USER, "password": password},
                    "queue_config": {"batch_send_deadline": "1s"},
                }
            ],
        },
        "alertmanager": {"port": free_port()},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "tracing": {"enabled": False},
        "receivers": [{"name": "nobody"}],
        "route": {"receiver": "nobody"},
    }
    try:
        stack = TestStack(tmp_path_factory.mktemp("remote-write"), spec)
        stack.apply()
        vm_url = start_victoria_metrics(docker_client, project, local_images["victoria-metrics"], password)
        yield RemoteWriteStack(stack, vm_url, password)
    finally:
        failures = remove_compose_project(docker_client, project)
        assert not failures, failures


def test_series_written_by_prometheus_are_queryable_in_victoria_metrics(
    remote_write: RemoteWriteStack,
) -> None:
    project = remote_write.stack.project
    series = wait_until(
        lambda: remote_write.vm_query(f'up{{job="prometheus", cluster="{project}"}} == 1'),
        timeout=60,
        interval=1,
        message="up of Prometheus itself in VictoriaMetrics",
    )
    assert series[0]["metric"]["instance"] == "prometheus:9090"
    # more than one job's series made the trip, samples after samples
    wait_until(
        lambda: (
            {s["metric"]["job"] for s in remote_write.vm_query(f'up{{cluster="{project}"}}')}
            >= {"prometheus", "alertmanager"}
        ),
        timeout=30,
        message="up of every job in VictoriaMetrics",
    )
    wait_until(
        lambda: remote_write.vm_query(
            f'count_over_time(up{{job="prometheus", cluster="{project}"}}[1m]) > 3'
        ),
        timeout=30,
        message="a run of samples, not one",
    )


def test_prometheus_reports_the_queue_healthy(remote_write: RemoteWriteStack) -> None:
    wait_until(
        lambda: (
            (
                remote_write.prometheus_value(
                    'sum(prometheus_remote_storage_samples_total{remote_name="longterm"})'
                )
                or 0
            )
            > 0
        ),
        timeout=60,
        message="samples sent by the longterm queue",
    )
    failed = remote_write.prometheus_value(
        'sum(prometheus_remote_storage_samples_failed_total{remote_name="longterm"})'
    )
    assert failed == 0


def test_victoria_metrics_refuses_without_the_password(remote_write: RemoteWriteStack) -> None:
    # the write above went through auth: the sink is not open to anyone
    with pytest.raises(urllib.error.HTTPError) as refused:
        remote_write.vm_query("up", auth=False)
    assert refused.value.code == 401


def test_the_password_is_only_in_a_secret_file(remote_write: RemoteWriteStack) -> None:
    out_dir = remote_write.stack.out_dir
    config = (out_dir / "prometheus" / "prometheus.yml").read_text()
    assert remote_write.password not in config
    assert "password_file: /run/secrets/stackgen/" in config
    holders = [
        p
        for p in out_dir.rglob("*")
        if p.is_file() and remote_write.password in p.read_text("utf-8", "replace")
    ]
    assert [p.relative_to(out_dir).parts[0] for p in holders] == ["secrets"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in holders)


def test_the_built_in_victoria_metrics_keeps_what_prometheus_scrapes(
    docker_client: Any, local_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`victoria_metrics: {enabled: true}`: the role the registry adds, run by apply, remote-written to and
    self-scraped, its published port on loopback only."""
    project = f"sgt-vm{uuid.uuid4().hex[:8]}"
    port = free_port()
    spec = {
        "version": 1,
        "name": project,
        "images": {role: local_images[role] for role in ("prometheus", "alertmanager", "victoria-metrics")},
        "prometheus": {"port": free_port(), "scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
        "alertmanager": {"port": free_port()},
        "victoria_metrics": {"enabled": True, "port": port, "retention": "2d"},
        "grafana": {"enabled": False},
        "exporters": {"node": False, "cadvisor": False, "blackbox": False, "pushgateway": False},
        "receivers": [{"name": "nobody"}],
        "route": {"receiver": "nobody"},
    }
    vm_url = f"http://127.0.0.1:{port}"
    try:
        stack = TestStack(tmp_path_factory.mktemp("victoria-metrics"), spec)
        stack.apply()

        def jobs_in_vm() -> set[str]:
            query = urllib.parse.urlencode({"query": "up == 1"})
            with _NO_PROXY.open(f"{vm_url}/api/v1/query?{query}", timeout=10) as answer:
                return {series["metric"]["job"] for series in json.loads(answer.read())["data"]["result"]}

        # Prometheus' own series arrive through remote_write, and VictoriaMetrics is itself a target
        wait_until(lambda: jobs_in_vm() >= {"prometheus", "alertmanager", "victoria-metrics"}, timeout=60,
                   interval=1, message="the stack's series in the built-in VictoriaMetrics")
        ports = docker_client.containers.list(filters={"label": [f"{COMPOSE_PROJECT_LABEL}={project}",
                                                                 "io.stackgen.role=victoria-metrics"]})
        bindings = ports[0].attrs["HostConfig"]["PortBindings"]["8428/tcp"]
        assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    finally:
        failures = remove_compose_project(docker_client, project)
        assert not failures, failures
