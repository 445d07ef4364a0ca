"""Fleet roll-out times: `stackgen fleet apply` (first, second) beside a plain playbook doing the same
steps without stackgen's tuning (fact gathering, no pipelining, interpreter discovery, 5 forks, every
task on every host: no skipping of hosts already in sync).

Hosts are containers of this bench (scripts/build-fleet-host-image.sh). Prints figures, asserts none.
Usage: python bench/fleet.py [HOSTS...]   (default: 3 8)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.fleet_hosts import BENCH_SUBNET, release_tarball, start_fleet


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.monotonic() - started


def plain_copy(generated: Path) -> Path:
    """generated/ansible with stackgen's tuning taken out."""
    inventory = yaml.safe_load((generated / "ansible" / "inventory.yml").read_text())
    shared = inventory["all"]["vars"]
    shared["ansible_pipelining"] = False
    shared.pop("ansible_python_interpreter")
    shared["ansible_ssh_common_args"] = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    (generated / "ansible" / "plain-inventory.yml").write_text(yaml.safe_dump(inventory))
    play = yaml.safe_load((generated / "ansible" / "fleet.yml").read_text())
    play[0]["gather_facts"] = True
    for task in play[0]["tasks"]:
        task.pop("when", None)  # every task on every host, as a plain playbook does
    (generated / "ansible" / "plain.yml").write_text(yaml.safe_dump(play))
    return generated / "ansible"


def bench(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sgfleet-bench-") as temp:
        directory = Path(temp)
        tarball = release_tarball(directory / "release")
        for fleet in start_fleet(count, directory, BENCH_SUBNET):
            spec = {
                "version": 1,
                "name": "sgfleet-bench",
                "fleet": {
                    "hosts": [
                        {"name": n, "address": a, "groups": ["bench"]} for n, a in fleet.addresses.items()
                    ],
                    "ssh": {"user": "root", "private_key_file": str(fleet.key), "host_key_checking": "no"},
                    "node_exporter": {
                        "version": "1.5.0",
                        "source": str(tarball),
                        "scrape_password": "bench-password",
                    },
                },
            }
            (directory / "stack.yaml").write_text(yaml.safe_dump(spec))
            env = {**os.environ, "STACKGEN_FLEET_CACHE": str(directory / "cache")}
            stackgen = [sys.executable, "-m", "stackgen", "fleet", "apply", "-f", "stack.yaml"]
            first = timed(stackgen, directory, env)
            second_full = timed([*stackgen, "--full"], directory, env)
            second = timed(stackgen, directory, env)
            ansible = plain_copy(directory / "generated")
            for name in fleet.addresses:  # back to a bare host for the plain first run
                fleet.exec(
                    name,
                    "sh",
                    "-c",
                    "systemctl disable --now node_exporter; rm -rf /usr/local/bin/"
                    "node_exporter /etc/node_exporter /etc/systemd/system/node_exporter.service",
                )
            plain = [
                sys.executable,
                "-m",
                "ansible.cli.playbook",
                "-i",
                str(ansible / "plain-inventory.yml"),
                str(ansible / "plain.yml"),
            ]
            plain_first = timed(plain, directory, env)
            plain_second = timed(plain, directory, env)
            print(
                f"{count:3} hosts | stackgen first {first:5.1f} s, second {second_full:5.1f} s (--full), "
                f"{second:4.1f} s (recorded state) | plain playbook first {plain_first:5.1f} s, "
                f"second {plain_second:5.1f} s | no-change speed-up "
                f"{plain_second / second_full:.1f}x (--full), "
                f"{plain_second / second:.0f}x (default)",
                flush=True,
            )


if __name__ == "__main__":
    for hosts in [int(a) for a in sys.argv[1:]] or [3, 8]:
        bench(hosts)
