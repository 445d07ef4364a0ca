"""Every local image built from Debian packages starts and answers its health endpoint.

The images stand in for the upstream ones in every other integration test, so each is checked the
way a compose healthcheck would check it: busybox `wget` inside the container, on its own loopback.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import COMPOSE_PROJECT_LABEL, remove_compose_project, unique_project_name, wait_until

pytestmark = pytest.mark.compat

# A config that makes Alertmanager read what Debian's binary loads from the file system at start:
# the default templates (for the email receiver) and the zoneinfo database (for the location).
ALERTMANAGER_CONFIG = """\
route:
  receiver: mail
  routes:
    - receiver: mail
      active_time_intervals: [office-hours]
receivers:
  - name: mail
    email_configs:
      - to: ops@example.invalid
        from: alertmanager@example.invalid
        smarthost: 127.0.0.1:25
time_intervals:
  - name: office-hours
    time_intervals:
      - weekdays: ["monday:friday"]
        times: [{start_time: "09:00", end_time: "18:00"}]
        location: Asia/Shanghai
"""


@pytest.fixture(scope="module")
def project(docker_client: Any) -> Iterator[str]:
    """One compose-labelled project and network shared by this module's containers."""
    name = unique_project_name()
    docker_client.networks.create(
        f"{name}_default",
        labels={COMPOSE_PROJECT_LABEL: name, "com.docker.compose.network": "default"},
    )
    yield name
    failures = remove_compose_project(docker_client, name)
    assert not failures, failures


def start(docker_client: Any, project: str, image: str, service: str, **options: Any) -> Any:
    """Create and start a container of the project, with compose's labels."""
    files = options.pop("files", None)
    container = docker_client.containers.create(
        image,
        name=f"{project}-{service}-1",
        network=f"{project}_default",
        labels={COMPOSE_PROJECT_LABEL: project, "com.docker.compose.service": service},
        **options,
    )
    if files:
        for directory, content in files.items():
            container.put_archive(directory, content)
    container.start()
    return container


def tar_of(files: dict[str, str], owner: int = 65534) -> bytes:
    """A tar of text files, owned by the image's user, for put_archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, owner, owner
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fetch(container: Any, url: str) -> str:
    """The body of `wget -q -O- URL` run inside the container; raises while it fails."""
    result = container.exec_run(["wget", "-q", "-O-", url])
    if result.exit_code != 0:
        container.reload()
        if container.status != "running":
            raise AssertionError(
                f"{container.name} stopped: {container.logs(tail=20).decode(errors='replace')}"
            )
        raise ConnectionError(f"wget {url} exited {result.exit_code}")
    return str(result.output.decode(errors="replace"))


def healthy(container: Any, url: str, timeout: float = 30) -> str:
    """Poll the URL from inside the container until it answers; its body."""
    try:
        return wait_until(
            lambda: fetch(container, url), timeout=timeout, message=f"{url} in {container.name}"
        )
    except AssertionError as error:
        logs = container.logs(tail=30).decode(errors="replace")
        raise AssertionError(f"{error}\n--- {container.name} log ---\n{logs}") from None


def user_of(container: Any) -> str:
    """`id -u` inside the container."""
    return str(container.exec_run(["id", "-u"]).output.decode().strip())


def test_prometheus(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    # a named volume on /prometheus, as compose gives it: the TSDB must be writable by nobody
    docker_client.volumes.create(f"{project}_prometheus-data", labels={COMPOSE_PROJECT_LABEL: project})
    container = start(
        docker_client,
        project,
        local_images["prometheus"],
        "prometheus",
        volumes={f"{project}_prometheus-data": {"bind": "/prometheus", "mode": "rw"}},
    )
    assert "Healthy" in healthy(container, "http://localhost:9090/-/healthy")
    assert user_of(container) == "65534"
    # it scrapes itself: a sample in the TSDB proves the volume is written
    wait_until(
        lambda: '"value"' in fetch(container, "http://localhost:9090/api/v1/query?query=up"),
        timeout=30,
        message="a sample of `up` in the TSDB",
    )
    assert container.exec_run(["promtool", "--version"]).exit_code == 0


def test_alertmanager(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    container = start(
        docker_client,
        project,
        local_images["alertmanager"],
        "alertmanager",
        files={"/etc/alertmanager": tar_of({"alertmanager.yml": ALERTMANAGER_CONFIG})},
    )
    assert "OK" in healthy(container, "http://localhost:9093/-/healthy")
    assert "OK" in healthy(container, "http://localhost:9093/-/ready")
    status = fetch(container, "http://localhost:9093/api/v2/status")
    assert "Asia/Shanghai" in status  # the config it runs is the one with the location
    assert user_of(container) == "65534"
    check = container.exec_run(["amtool", "check-config", "/etc/alertmanager/alertmanager.yml"])
    assert check.exit_code == 0, check.output.decode()


def test_node_exporter(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    # the flags the stack's tests pass; the image's own CMD is --no-collector.systemd alone
    container = start(
        docker_client,
        project,
        local_images["node-exporter"],
        "node-exporter",
        command=["--no-collector.systemd"],
    )
    metrics = healthy(container, "http://localhost:9100/metrics")
    assert "node_exporter_build_info" in metrics
    assert 'collector="systemd"' not in metrics
    assert user_of(container) == "65534"


def test_node_exporter_default_command(
    docker_client: Any, local_images: dict[str, str], project: str
) -> None:
    container = start(docker_client, project, local_images["node-exporter"], "node-exporter-default")
    metrics = healthy(container, "http://localhost:9100/metrics")
    assert 'node_scrape_collector_success{collector="cpu"} 1' in metrics
    assert 'collector="systemd"' not in metrics


def test_blackbox_exporter(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    container = start(docker_client, project, local_images["blackbox-exporter"], "blackbox-exporter")
    healthy(container, "http://localhost:9115/-/healthy")
    # a probe of its own port on the container's loopback; 127.0.0.1, not localhost: blackbox
    # prefers IPv6, and /etc/hosts lists ::1 where the engine gives the container no IPv6 at all
    probe = fetch(container, "http://localhost:9115/probe?target=127.0.0.1:9115&module=tcp_connect")
    assert "probe_success 1" in probe


def test_pushgateway(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    container = start(docker_client, project, local_images["pushgateway"], "pushgateway")
    healthy(container, "http://localhost:9091/-/healthy")
    assert "pushgateway_build_info" in fetch(container, "http://localhost:9091/metrics")
    assert user_of(container) == "65534"


def test_victoria_metrics(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    container = start(docker_client, project, local_images["victoria-metrics"], "victoria-metrics")
    assert "OK" in healthy(container, "http://localhost:8428/health")


def test_registry(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    container = start(docker_client, project, local_images["registry"], "registry")
    assert healthy(container, "http://localhost:5000/v2/").strip() == "{}"


def test_python(docker_client: Any, local_images: dict[str, str], project: str) -> None:
    code = (
        "import ssl, json, http.server, zoneinfo, jinja2, markupsafe, prometheus_client, yaml; "
        "zoneinfo.ZoneInfo('Asia/Shanghai'); "
        "print(jinja2.Template('{{ x }}').render(x='ok'), ssl.OPENSSL_VERSION)"
    )
    output = docker_client.containers.run(
        local_images["python"],
        ["python3", "-c", code],
        user="65534:65534",
        remove=True,
        labels={COMPOSE_PROJECT_LABEL: project},
    )
    assert output.decode().startswith("ok OpenSSL")
    assert local_images["relay-base"] == local_images["python"]
