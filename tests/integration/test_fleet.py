"""The fleet, live: 3 Debian hosts with systemd (containers of this test), node_exporter rolled out by
`stackgen fleet apply`, scraped by a real stack over TLS with basic auth, rotated, broken and repaired."""

from __future__ import annotations

import functools
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import remove_compose_project, wait_until
from tests.integration.fleet_hosts import SLOW_SUBNET, FleetHosts, release_tarball, ssh_answers, start_fleet
from tests.integration.runtime_stack import TestStack, base_spec, get_json

pytestmark = pytest.mark.integration
HOSTS = 3
PASSWORD = "first-scrape-password"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback HTTP mirror of the release (tarball + sha256sums.txt)."""
    directory = tmp_path_factory.mktemp("mirror")
    release_tarball(directory)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/node_exporter-1.5.0.linux-amd64.tar.gz"
    server.shutdown()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetHosts]:
    yield from start_fleet(HOSTS, tmp_path_factory.mktemp("fleet"))


@pytest.fixture(scope="module")
def stack(
    fleet: FleetHosts,
    mirror: str,
    local_images: dict[str, str],
    docker_client: Any,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch_module: Any,
) -> Iterator[TestStack]:
    directory = tmp_path_factory.mktemp("stack")
    write_inventory(directory, fleet, ["h1", "h2"])
    spec = base_spec(fleet.run, local_images)
    # TLS and a bcrypt check per new connection: on a loaded CI machine a 2 s timeout fails scrapes that
    # have nothing to do with rotation
    spec["prometheus"].update(scrape_interval="3s", scrape_timeout="3s")
    spec["fleet"] = {
        "inventory": "inventory.ini",  # h1 (db) and h2 (web) from an inventory, h3 written in the spec
        "hosts": [{"name": "h3", "address": fleet.addresses["h3"], "groups": ["web"]}],
        # host keys: ssh's accept-new into generated/.fleet/known_hosts (the default)
        "ssh": {"user": "root", "private_key_file": str(fleet.key)},
        "node_exporter": {
            "version": "1.5.0",
            "source": mirror,
            "collectors": {"enable": ["systemd"]},
            "scrape_password": PASSWORD,
        },
    }
    monkeypatch_module.setenv("STACKGEN_FLEET_CACHE", str(directory / "cache"))
    test_stack = TestStack(directory, spec)
    try:
        test_stack.apply()
        names = [
            c.name
            for c in docker_client.containers.list(
                filters={"label": f"com.docker.compose.project={test_stack.project}"}
            )
        ]
        prometheus = next(n for n in names if "prometheus" in n)
        subprocess.run(["docker", "network", "connect", fleet.network, prometheus], check=True)
        yield test_stack
    finally:
        failures = remove_compose_project(docker_client, test_stack.project)
        assert not failures, failures


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def write_inventory(directory: Path, fleet: FleetHosts, names: list[str]) -> None:
    groups = {"db": [n for n in names if n == "h1"], "web": [n for n in names if n != "h1"]}
    lines = []
    for group, members in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{name} ansible_host={fleet.addresses[name]}" for name in members]
    lines += ["", "[prod:children]", "db", "web"]
    (directory / "inventory.ini").write_text("\n".join(lines) + "\n")


def fleet_apply(stack: TestStack, *args: str) -> subprocess.CompletedProcess[str]:
    return stack.cli("fleet", "apply", *args)


def summary(output: str) -> dict[str, str]:
    """host -> state from the per-host summary lines."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if (
            len(parts) >= 2
            and parts[0].startswith("h")
            and parts[0][1:].isdigit()
            and parts[1] in ("ok", "changed", "failed", "unreachable", "unchanged")
        ):
            found[parts[0]] = parts[1]
    return found


def fleet_targets(stack: TestStack) -> dict[str, dict[str, Any]]:
    return {
        t["labels"]["instance"]: t
        for t in get_json(stack.prometheus_url + "/api/v1/targets")["data"]["activeTargets"]
        if t["labels"]["job"] == "fleet"
    }


def all_up(stack: TestStack, names: set[str]) -> bool:
    targets = fleet_targets(stack)
    return set(targets) == names and all(t["health"] == "up" for t in targets.values())


def query(stack: TestStack, promql: str) -> list[dict[str, Any]]:
    url = f"{stack.prometheus_url}/api/v1/query?query={urllib.parse.quote(promql)}"
    return list(get_json(url)["data"]["result"])


def main_pids(fleet: FleetHosts) -> dict[str, str]:
    return {
        name: fleet.exec(name, "systemctl", "show", "-p", "MainPID", "--value", "node_exporter").strip()
        for name in fleet.addresses
    }


def https_status(address: str, ca: Path | None, auth: tuple[str, str] | None) -> int:
    context = ssl.create_default_context(cafile=str(ca)) if ca else ssl.create_default_context()
    request = urllib.request.Request(f"https://{address}:9100/metrics")
    if auth:
        import base64

        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_first_roll_out_then_nothing_to_change(stack: TestStack, fleet: FleetHosts) -> None:
    started = time.monotonic()
    first = fleet_apply(stack)
    first_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stdout + first.stderr
    assert "checked against the release's sha256sums" in first.stdout
    assert summary(first.stdout) == {name: "changed" for name in fleet.addresses}, first.stdout
    second = fleet_apply(stack, "--full")  # every host contacted: the playbook itself is idempotent
    assert second.returncode == 0, second.stdout + second.stderr
    assert summary(second.stdout) == {name: "ok" for name in fleet.addresses}, second.stdout
    assert "changed 0" in second.stdout and "nothing to change" in second.stdout
    wait_until(lambda: all_up(stack, set(fleet.addresses)), timeout=60, message="fleet targets up")
    third = fleet_apply(stack)  # recorded state matches and every target is up: no host contacted
    assert summary(third.stdout) == {name: "unchanged" for name in fleet.addresses}, third.stdout
    print(f"first roll-out {first_seconds:.1f} s")


def test_targets_up_over_tls_with_labels(stack: TestStack, fleet: FleetHosts) -> None:
    wait_until(lambda: all_up(stack, set(fleet.addresses)), timeout=60)
    targets = fleet_targets(stack)
    assert {name: t["scrapeUrl"] for name, t in targets.items()} == {
        name: f"https://{address}:9100/metrics" for name, address in fleet.addresses.items()
    }
    assert targets["h1"]["labels"]["group"] == "db" and targets["h2"]["labels"]["group"] == "web"
    status = stack.cli("fleet", "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    hosts = {h["name"]: h for h in json.loads(status.stdout)["hosts"]}
    assert {h["health"] for h in hosts.values()} == {"up"} and hosts["h1"]["version"] == "1.5.0"


def test_exporters_refuse_no_credentials_and_another_ca(stack: TestStack, fleet: FleetHosts) -> None:
    ca = stack.out_dir / "secrets" / "ca" / "ca.pem"
    address = fleet.addresses["h2"]
    assert https_status(address, ca, None) == 401
    assert https_status(address, ca, ("scrape-1", PASSWORD)) == 200
    with pytest.raises(urllib.error.URLError) as failure:
        https_status(address, None, ("scrape-1", PASSWORD))  # the system CAs do not know the stack CA
    assert isinstance(failure.value.reason, ssl.SSLCertVerificationError)


def test_unit_is_hardened(fleet: FleetHosts, stack: TestStack) -> None:
    shown = fleet.exec(
        "h1",
        "systemctl",
        "show",
        "node_exporter",
        "-p",
        "NoNewPrivileges",
        "-p",
        "ProtectSystem",
        "-p",
        "User",
        "-p",
        "CapabilityBoundingSet",
    )
    assert set(shown.split()) == {
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=node-exp",
        "CapabilityBoundingSet=",
    }
    pid = main_pids(fleet)["h1"]
    status = fleet.exec("h1", "cat", f"/proc/{pid}/status")
    assert "CapEff:\t0000000000000000" in status
    assert fleet.exec("h1", "stat", "-c", "%a %U", "/etc/node_exporter/tls.key").split() == [
        "400",
        "node-exp",
    ]


def test_password_and_certificate_rotation_without_a_failed_scrape(
    stack: TestStack, fleet: FleetHosts
) -> None:
    wait_until(lambda: all_up(stack, set(fleet.addresses)), timeout=60)
    pids = main_pids(fleet)
    started = time.time()
    stack.edit(lambda spec: spec["fleet"]["node_exporter"].update(scrape_password="second-scrape-password"))
    (stack.out_dir / "secrets" / "fleet" / "hosts" / "h2.crt").unlink()  # h2 gets a new certificate too
    rotated = fleet_apply(stack)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "scrape password rotated" in rotated.stdout
    time.sleep(4)  # two more scrape intervals with the new user only
    window = f"{int(time.time() - started) + 2}s"
    lowest = {
        r["metric"]["instance"]: r["value"][1]
        for r in query(stack, f'min_over_time(up{{job="fleet"}}[{window}])')
    }
    slowest = query(stack, f'max_over_time(scrape_duration_seconds{{job="fleet"}}[{window}])')
    assert lowest == {name: "1" for name in fleet.addresses}, (rotated.stdout, slowest)
    assert main_pids(fleet) == pids  # web config and certificate are read per request: no restart
    ca = stack.out_dir / "secrets" / "ca" / "ca.pem"
    assert https_status(fleet.addresses["h2"], ca, ("scrape-1", PASSWORD)) == 401
    assert https_status(fleet.addresses["h2"], ca, ("scrape-2", "second-scrape-password")) == 200


def test_check_mode_reports_and_changes_nothing(stack: TestStack, fleet: FleetHosts) -> None:
    stack.edit(lambda spec: spec["fleet"]["node_exporter"]["collectors"].update(disable=["wifi"]))
    checked = fleet_apply(stack, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert summary(checked.stdout) == {name: "changed" for name in fleet.addresses}, checked.stdout
    assert "would change" in checked.stdout
    assert "no-collector.wifi" not in fleet.exec("h2", "cat", "/etc/systemd/system/node_exporter.service")


def test_a_host_down_does_not_stop_the_others(
    stack: TestStack, fleet: FleetHosts, docker_client: Any
) -> None:
    subprocess.run(["docker", "stop", "-t", "5", fleet.container("h3")], check=True, capture_output=True)
    # the spec already disables the wifi collector (previous test): every host's unit must change
    broken = fleet_apply(stack)
    assert broken.returncode == 1
    assert "h3" in broken.stderr and summary(broken.stdout)["h3"] == "unreachable"
    assert summary(broken.stdout)["h1"] == summary(broken.stdout)["h2"] == "changed"
    subprocess.run(["docker", "start", fleet.container("h3")], check=True, capture_output=True)
    wait_until(lambda: ssh_answers(fleet.addresses["h3"]), timeout=60, message="h3's sshd back")
    repaired = fleet_apply(stack)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    states = summary(repaired.stdout)
    assert states["h3"] == "changed"
    # the others are skipped, or contacted (changing nothing) when their target was caught down mid-restart
    assert {states["h1"], states["h2"]} <= {"unchanged", "ok"}, repaired.stdout


def reload_timestamp(stack: TestStack) -> str:
    return str(query(stack, "prometheus_config_last_reload_success_timestamp_seconds")[0]["value"][1])


def test_a_host_removed_from_the_inventory_leaves_the_targets_without_a_reload(
    stack: TestStack, fleet: FleetHosts
) -> None:
    reloads = reload_timestamp(stack)
    write_inventory(stack.directory, fleet, ["h1"])
    result = fleet_apply(stack)
    assert result.returncode == 0, result.stdout + result.stderr
    wait_until(lambda: set(fleet_targets(stack)) == {"h1", "h3"}, timeout=30, message="h2 gone from targets")
    assert reload_timestamp(stack) == reloads


def test_a_new_host_is_scraped_without_a_reload(stack: TestStack, fleet: FleetHosts) -> None:
    reloads = reload_timestamp(stack)
    write_inventory(stack.directory, fleet, ["h1", "h2"])
    started = time.monotonic()
    result = fleet_apply(stack)
    assert result.returncode == 0, result.stdout + result.stderr
    wait_until(lambda: all_up(stack, set(fleet.addresses)), timeout=60, message="h2 back and up")
    print(f"fleet apply to the new host's target up: {time.monotonic() - started:.1f} s")
    assert reload_timestamp(stack) == reloads


@pytest.mark.slow
def test_eight_hosts_roll_out_then_change_nothing(mirror: str, tmp_path: Path) -> None:
    """The slow lane: a fleet of 8 without a stack (no Prometheus: state alone decides what is skipped)."""
    for big in start_fleet(8, tmp_path, SLOW_SUBNET):
        spec = {
            "version": 1,
            "name": "sgfleet-eight",
            "fleet": {
                "hosts": [{"name": n, "address": a} for n, a in big.addresses.items()],
                "ssh": {"private_key_file": str(big.key)},
                "node_exporter": {"version": "1.5.0", "source": mirror, "scrape_password": PASSWORD},
            },
        }
        (tmp_path / "stack.yaml").write_text(json.dumps(spec))
        env = {**os.environ, "STACKGEN_FLEET_CACHE": str(tmp_path / "cache")}
        argv = [sys.executable, "-m", "stackgen", "fleet", "apply", "-f", "stack.yaml"]
        first = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert first.returncode == 0, first.stdout + first.stderr
        assert set(summary(first.stdout).values()) == {"changed"} and len(summary(first.stdout)) == 8
        second = subprocess.run(
            [*argv, "--full"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert second.returncode == 0 and "nothing to change" in second.stdout, second.stdout
