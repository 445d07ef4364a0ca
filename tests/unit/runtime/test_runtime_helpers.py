from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from stackgen.errors import ReloadRefused, RuntimeFailure
from stackgen.runtime.compose_file import parse_project
from stackgen.runtime.converge import grafana_password_reset_command, prometheus_config_path
from stackgen.runtime.engine import connection_failure
from stackgen.runtime.health import prometheus_jobs
from stackgen.runtime.lock import stack_lock
from stackgen.runtime.progress import RecordingReporter, SilentReporter
from stackgen.runtime.reload import reload_confirmed, reload_service
from stackgen.runtime.state import read_applied, write_applied


def test_prometheus_config_path_follows_the_mount(tmp_path: Path) -> None:
    compose = {
        "x-stackgen": {"project": "p"},
        "services": {
            "prometheus-2": {
                "image": "prom",
                "command": ["--config.file=/etc/prometheus/prometheus-2.yml"],
                "volumes": ["./prometheus:/etc/prometheus:ro"],
                "labels": {"io.stackgen.role": "prometheus"},
            }
        },
    }
    service = parse_project(compose, tmp_path / "docker-compose.yml").service("prometheus-2")
    assert prometheus_config_path(service) == "prometheus/prometheus-2.yml"


def test_reload_confirmed_reads_the_metric() -> None:
    text = "# HELP x\nprometheus_config_last_reload_successful 1\n"
    assert reload_confirmed("prometheus", text) is True
    assert reload_confirmed("prometheus", "prometheus_config_last_reload_successful 0\n") is False
    assert reload_confirmed("blackbox-exporter", text) is None


def test_prometheus_jobs() -> None:
    assert prometheus_jobs("scrape_configs:\n- job_name: a\n- job_name: b\n") == {"a", "b"}


def test_refused_reload_carries_the_upstream_message(tmp_path: Path) -> None:
    import http.server
    import threading

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"failed to reload config: bad things\n"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(
            ReloadRefused, match=r"^prometheus refused the new config: failed to reload config: bad things$"
        ):
            reload_service("prometheus", "prometheus", f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()


def test_grafana_password_reset_command() -> None:
    assert grafana_password_reset_command("s3cret") == [
        "grafana",
        "cli",
        "admin",
        "reset-admin-password",
        "s3cret",
    ]


def test_connection_failures_say_what_to_do() -> None:
    denied = connection_failure(OSError("('Connection aborted.', PermissionError(13, 'Permission denied'))"))
    assert denied.message == "permission denied on the Docker socket"
    assert "docker group" in str(denied)
    missing = connection_failure(FileNotFoundError(2, "No such file or directory"))
    assert missing.message == "cannot reach the Docker engine"
    assert "DOCKER_HOST" in str(missing)


def test_applied_state_round_trip(tmp_path: Path) -> None:
    assert read_applied(tmp_path, "p") is None
    write_applied(tmp_path, "p", {"a": "1"})
    assert read_applied(tmp_path, "p") == {"a": "1"}
    assert read_applied(tmp_path, "other") is None
    (tmp_path / ".stackgen-state.json").write_text("{not json")
    assert read_applied(tmp_path, "p") is None


def _hold(spec: str, seconds: float, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    with stack_lock(Path(spec), 0, SilentReporter()):
        ready.set()
        time.sleep(seconds)


def test_second_holder_waits_then_fails_naming_the_first(tmp_path: Path) -> None:
    spec = tmp_path / "stack.yaml"
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(spec), 1.5, ready))
    holder.start()
    try:
        assert ready.wait(10)
        reporter = RecordingReporter()
        with pytest.raises(
            RuntimeFailure, match=rf"another stackgen \(pid {holder.pid}\) is changing this stack"
        ), stack_lock(spec, 0.3, reporter):
            pass
        assert reporter.events == [f"waiting for another stackgen (pid {holder.pid}) to finish"]
    finally:
        holder.join(10)
    with stack_lock(spec, 0, SilentReporter()):  # released when the holder exited
        pass
