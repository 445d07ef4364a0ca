"""apply, plan and down on one real stack (Prometheus 2.42, Alertmanager 0.25, blackbox), in order.

The tests share one running stack (module scope) to keep CI fast; each leaves it converged for the
next. Traffic goes only to 127.0.0.1 and to the stack's own containers.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from stackgen.errors import ReloadRefused
from stackgen.output import RenderedFile, write_output
from stackgen.runtime.engine import Engine
from stackgen.runtime.engine_socket import SocketReader, socket_path_from_env
from stackgen.runtime.plan import ActionKind
from tests.helpers import remove_compose_project, wait_until
from tests.integration.runtime_stack import (
    TestStack,
    base_spec,
    container_ids,
    free_port,
    get_json,
    targets_by_job,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.compat]


@pytest.fixture(scope="module")
def stack(
    docker_client: Any, local_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestStack]:
    project = f"sgapply{uuid.uuid4().hex[:8]}"
    try:
        yield TestStack(tmp_path_factory.mktemp("apply"), base_spec(project, local_images))
    finally:
        failures = remove_compose_project(docker_client, project)
        assert not failures, f"cleanup of project {project} left: {failures}"


def started_at(docker_client: Any, container_id: str) -> str:
    return str(docker_client.api.inspect_container(container_id)["State"]["StartedAt"])


def kinds(report: Any) -> dict[str, list[str]]:
    return {kind: names for kind, names in report.result.summary().items() if names}


def test_cold_apply_brings_every_internal_target_up(stack: TestStack) -> None:
    report, _ = stack.apply()
    assert kinds(report) == {"create": ["alertmanager", "blackbox-exporter", "prometheus"]}

    def all_up() -> bool:
        jobs = targets_by_job(stack.prometheus_url)
        return set(jobs) >= {"prometheus", "alertmanager", "blackbox-exporter", "stack-self"} and all(
            target["health"] == "up" for targets in jobs.values() for target in targets
        )

    wait_until(all_up, timeout=60, message="every internal target up")


def test_second_apply_recreates_nothing_and_says_so(stack: TestStack, docker_client: Any) -> None:
    before = container_ids(docker_client, stack.project)
    result = stack.cli("apply")
    assert result.returncode == 0, result.stderr
    assert (
        "0 created, 0 recreated, 0 started, 0 reloaded, 0 removed, 3 unchanged; 0 files written"
        in result.stdout
    )
    assert container_ids(docker_client, stack.project) == before


def test_reads_without_the_sdk_answer_as_the_sdk(
    stack: TestStack, docker_client: Any, local_images: dict[str, str]
) -> None:
    path = socket_path_from_env(os.environ)
    if path is None:
        pytest.skip("the engine is not on a local unix socket: the SDK does every read")
    by_socket, by_sdk = Engine(reader=SocketReader(path)), Engine(docker_client)
    observed = by_sdk.containers(stack.project)
    assert len(observed) == 3
    assert by_socket.containers(stack.project) == observed
    for container in observed:
        inspected, expected = by_socket.inspect(container.id), by_sdk.inspect(container.id)
        assert (inspected["Name"], inspected["Config"], inspected["HostConfig"]) == (
            expected["Name"], expected["Config"], expected["HostConfig"])
    for image in (local_images["prometheus"], "stackgen-test/absent:1"):
        assert by_socket.image_id(image) == by_sdk.image_id(image)


def test_cli_apply_sees_containers_changed_out_of_band(
    stack: TestStack, docker_client: Any, local_images: dict[str, str]
) -> None:
    def applied() -> dict[str, list[str]]:
        result = stack.cli("apply", "--json")
        assert result.returncode == 0, result.stderr
        return {kind: names for kind, names in json.loads(result.stdout)["services"].items() if names}

    unchanged = ["alertmanager", "prometheus"]
    docker_client.api.stop(container_ids(docker_client, stack.project)["blackbox-exporter"])
    assert applied() == {"start": ["blackbox-exporter"], "noop": unchanged}
    blackbox = container_ids(docker_client, stack.project)["blackbox-exporter"]
    docker_client.api.remove_container(blackbox, force=True)
    assert applied() == {"create": ["blackbox-exporter"], "noop": unchanged}

    # the same tag, moved to another image: the running container is of the old image
    import io

    alias = f"{stack.project}/blackbox:retagged"
    docker_client.images.get(local_images["blackbox-exporter"]).tag(alias)
    try:
        stack.edit(lambda spec: spec["images"].update({"blackbox-exporter": alias}))
        assert applied() == {"recreate": ["blackbox-exporter"], "noop": unchanged}
        assert applied() == {"noop": ["alertmanager", "blackbox-exporter", "prometheus"]}
        dockerfile = f"FROM {local_images['blackbox-exporter']}\nLABEL io.stackgen.test=retagged\n"
        docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=alias, pull=False, rm=True)
        assert applied() == {"recreate": ["blackbox-exporter"], "noop": unchanged}
    finally:
        stack.edit(
            lambda spec: spec["images"].update({"blackbox-exporter": local_images["blackbox-exporter"]})
        )
        stack.apply()
        docker_client.images.remove(alias, force=True)


def test_plan_shows_nothing_to_do_then_a_reload(stack: TestStack) -> None:
    result = stack.cli("plan")
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    stack.edit(
        lambda spec: spec.setdefault("rules", {}).update(
            groups=[{"name": "planned", "rules": [{"record": "planned:up", "expr": "sum(up)"}]}]
        )
    )
    result = stack.cli("plan", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "prometheus/rules/planned.yml" in data["files"]["created"]
    actions = {item["service"]: item["action"] for item in data["services"]}
    assert actions == {"alertmanager": "noop", "blackbox-exporter": "noop", "prometheus": "reload"}
    result = stack.cli("plan", "--diff")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "+++ b/prometheus/rules/planned.yml" in lines
    assert any(line.startswith("+") and "planned:up" in line for line in lines), result.stdout
    assert "\x1b[" not in result.stdout  # no colour when stdout is not a terminal


def test_new_rule_appears_after_a_reload_without_restart(stack: TestStack, docker_client: Any) -> None:
    before = container_ids(docker_client, stack.project)
    started = started_at(docker_client, before["prometheus"])
    report, _ = stack.apply()  # the rule group added by the previous test
    assert kinds(report) == {"reload": ["prometheus"], "noop": ["alertmanager", "blackbox-exporter"]}
    groups = get_json(stack.prometheus_url + "/api/v1/rules")["data"]["groups"]
    assert "planned:up" in [rule["name"] for group in groups for rule in group["rules"]]
    assert container_ids(docker_client, stack.project) == before
    assert started_at(docker_client, before["prometheus"]) == started


def test_adding_a_target_restarts_nothing(stack: TestStack, docker_client: Any) -> None:
    before = container_ids(docker_client, stack.project)
    started = started_at(docker_client, before["prometheus"])
    stack.edit(lambda spec: spec["targets"][0]["targets"].append("alertmanager:9093"))
    report, _ = stack.apply()
    assert report.files.changed == ["prometheus/targets/stack-self.json"]
    assert kinds(report) == {"noop": ["alertmanager", "blackbox-exporter", "prometheus"]}

    def instances() -> set[str]:
        return {t["labels"]["instance"] for t in targets_by_job(stack.prometheus_url).get("stack-self", [])}

    wait_until(
        lambda: instances() == {"prometheus:9090", "alertmanager:9093"},
        timeout=30,
        message="the new target in /api/v1/targets",
    )
    assert container_ids(docker_client, stack.project) == before
    assert started_at(docker_client, before["prometheus"]) == started


def test_receiver_change_reloads_alertmanager_without_restart(stack: TestStack, docker_client: Any) -> None:
    before = container_ids(docker_client, stack.project)
    started = started_at(docker_client, before["alertmanager"])

    def change(spec: dict[str, Any]) -> None:
        spec["receivers"].append({"name": "hook-two", "webhook": {"url": "http://127.0.0.1:9/two"}})
        spec["route"]["receiver"] = "hook-two"

    stack.edit(change)
    report, _ = stack.apply()
    assert "alertmanager" in report.result.summary()["reload"]
    assert report.result.summary()["recreate"] == []
    config = get_json(stack.alertmanager_url + "/api/v2/status")["config"]["original"]
    assert "hook-two" in config
    assert container_ids(docker_client, stack.project) == before
    assert started_at(docker_client, before["alertmanager"]) == started


def test_interrupted_apply_is_converged_by_the_next(stack: TestStack) -> None:
    # An apply stopped between writing the files and reloading: the files are new, the service not.
    stack.edit(
        lambda spec: spec["rules"]["groups"].append(
            {"name": "interrupted", "rules": [{"record": "interrupted:up", "expr": "count(up)"}]}
        )
    )
    write_output(stack.rendered(), stack.out_dir)
    report, _ = stack.apply()
    assert report.files.touched == []
    assert report.result.summary()["reload"] == ["prometheus"]
    groups = get_json(stack.prometheus_url + "/api/v1/rules")["data"]["groups"]
    assert "interrupted:up" in [rule["name"] for group in groups for rule in group["rules"]]


def test_refused_config_is_rolled_back_and_the_stack_still_answers(
    stack: TestStack, docker_client: Any
) -> None:
    before = container_ids(docker_client, stack.project)
    files = stack.rendered()
    good = files["prometheus/prometheus.yml"].content
    # Something only Prometheus itself can refuse at load time: a duration it cannot parse.
    files["prometheus/prometheus.yml"] = RenderedFile(
        good.replace(b"scrape_interval: 2s", b"scrape_interval: soon", 1)
    )
    with pytest.raises(ReloadRefused) as refused:
        stack.apply(files)
    assert refused.value.exit_code == 1
    assert 'not a valid duration string: "soon"' in str(refused.value)
    assert "rolled back" in str(refused.value)
    assert (stack.out_dir / "prometheus/prometheus.yml").read_bytes() == good
    assert (
        get_json(stack.prometheus_url + "/api/v1/status/config")["data"]["yaml"].count("scrape_interval: 2s")
        >= 1
    )
    metrics = get_json(stack.prometheus_url + "/api/v1/query?query=prometheus_config_last_reload_successful")
    assert metrics["status"] == "success"
    assert container_ids(docker_client, stack.project) == before
    report, _ = stack.apply()
    assert kinds(report) == {"noop": ["alertmanager", "blackbox-exporter", "prometheus"]}


def test_port_change_recreates_only_prometheus_and_keeps_its_data(
    stack: TestStack, docker_client: Any
) -> None:
    before = container_ids(docker_client, stack.project)
    mark = time.time()

    def up_at_mark(url: str) -> list[Any]:
        query = f"/api/v1/query?query=up%7Bjob%3D%22prometheus%22%7D&time={mark:.3f}"
        return list(get_json(url + query)["data"]["result"])

    wait_until(lambda: up_at_mark(stack.prometheus_url), timeout=30, message="a sample before the change")
    stack.edit(lambda spec: spec["prometheus"].update(port=free_port()))
    report, _ = stack.apply()
    assert kinds(report) == {"recreate": ["prometheus"], "noop": ["alertmanager", "blackbox-exporter"]}
    after = container_ids(docker_client, stack.project)
    assert after["prometheus"] != before["prometheus"]
    assert {s: i for s, i in after.items() if s != "prometheus"} == {
        s: i for s, i in before.items() if s != "prometheus"
    }
    assert up_at_mark(stack.prometheus_url), "the TSDB written before the recreate is gone"


def test_image_change_recreates_only_that_service(
    stack: TestStack, docker_client: Any, local_images: dict[str, str]
) -> None:
    alias = f"{stack.project}/blackbox:alias"
    docker_client.images.get(local_images["blackbox-exporter"]).tag(alias)
    try:
        before = container_ids(docker_client, stack.project)
        stack.edit(lambda spec: spec["images"].update({"blackbox-exporter": alias}))
        report, _ = stack.apply()
        assert kinds(report) == {"recreate": ["blackbox-exporter"], "noop": ["alertmanager", "prometheus"]}
        assert report.plan.of_kind(ActionKind.RECREATE)[0].reasons == (
            f"image {local_images['blackbox-exporter']} -> {alias}",
        )
        after = container_ids(docker_client, stack.project)
        assert after["prometheus"] == before["prometheus"]
        assert after["alertmanager"] == before["alertmanager"]
    finally:
        stack.edit(
            lambda spec: spec["images"].update({"blackbox-exporter": local_images["blackbox-exporter"]})
        )
        stack.apply()
        docker_client.images.remove(alias)


def test_docker_compose_sees_the_stack(stack: TestStack) -> None:
    # Compose v2 where it is installed (the reference), else Debian 12's docker-compose 1.29
    command = ["docker", "compose"]
    if subprocess.run([*command, "version"], capture_output=True, check=False).returncode != 0:
        command = ["docker-compose"]
    result = subprocess.run(
        [*command, "-p", stack.project, "-f", str(stack.out_dir / "docker-compose.yml"), "ps", "--services"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["alertmanager", "blackbox-exporter", "prometheus"]


def test_logs_prints_lines_by_service_and_follows_new_ones(stack: TestStack) -> None:
    result = stack.cli("logs", "prometheus", "alertmanager", "-n", "5")
    assert result.returncode == 0, result.stderr
    services = {line.split("|", 1)[0].strip() for line in result.stdout.splitlines()}
    assert services == {"prometheus", "alertmanager"}, result.stdout
    assert "msg=" in result.stdout  # what the containers themselves printed (logfmt)

    unknown = stack.cli("logs", "grafanna")
    assert unknown.returncode == 2 and "no service grafanna" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    follower = subprocess.Popen(stack.cli_argv("logs", "--follow", "-n", "0", "alertmanager"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=stack.directory, env=stack.cli_env())
    try:
        time.sleep(2)  # attached before the line is printed
        request = urllib.request.Request(stack.alertmanager_url + "/-/reload", method="POST")
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10).close()
        assert follower.stdout is not None
        line = follower.stdout.readline()  # -n 0: only what came after attaching
        assert line.startswith("alertmanager") and "Loading configuration file" in line, line
    finally:
        follower.terminate()
        follower.wait(10)


def test_status_reports_healthy_services_and_targets(stack: TestStack) -> None:
    # Prometheus was recreated by an earlier test: its discovery needs a few seconds to list targets
    wait_until(
        lambda: "stack-self" in targets_by_job(stack.prometheus_url), timeout=30, message="targets listed"
    )
    result = stack.cli("status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["healthy"] is True
    assert {s["service"]: s["state"] for s in data["services"]} == {
        "alertmanager": "running",
        "blackbox-exporter": "running",
        "prometheus": "running",
    }
    assert {job["job"] for job in data["targets"]} >= {"prometheus", "stack-self"}


def test_down_keeps_volumes_unless_asked(stack: TestStack, docker_client: Any) -> None:
    label = {"label": f"com.docker.compose.project={stack.project}"}
    volumes = {volume.name for volume in docker_client.volumes.list(filters=label)}
    assert f"{stack.project}_prometheus-data" in volumes
    result = stack.cli("down")
    assert result.returncode == 0, result.stderr
    assert docker_client.containers.list(all=True, filters=label) == []
    assert docker_client.networks.list(filters=label) == []
    assert {volume.name for volume in docker_client.volumes.list(filters=label)} == volumes
    result = stack.cli("status")
    assert result.returncode == 1
    result = stack.cli("down", "--volumes")
    assert result.returncode == 0, result.stderr
    assert docker_client.volumes.list(filters=label) == []
