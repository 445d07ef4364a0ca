"""What docker discovery makes of each labelled container (runtime/discovered.py)."""

# ruff: noqa: E501  (whole messages are asserted)

from __future__ import annotations

from typing import Any

import pytest

from stackgen.runtime.discovered import discovered, labelled, with_health


def summary(labels: dict[str, str], ports: list[dict[str, Any]] | None = None, state: str = "running",
            network_mode: str = "app_default") -> dict[str, Any]:
    """A GET /containers/json entry."""
    return {"Id": "c1", "Names": ["/app-api-1"], "State": state, "Labels": labels, "Ports": ports or [],
            "HostConfig": {"NetworkMode": network_mode}}


COMPOSE = {"com.docker.compose.project": "app", "com.docker.compose.service": "api"}
SCRAPE = {**COMPOSE, "io.stackgen.scrape": "true", "io.stackgen.port": "8000"}
PUBLISHED = [{"IP": "0.0.0.0", "PrivatePort": 8000, "PublicPort": 49153, "Type": "tcp"},
             {"IP": "::", "PrivatePort": 8000, "PublicPort": 49153, "Type": "tcp"},
             {"PrivatePort": 9000, "Type": "tcp"}]


def test_a_published_port_is_reached_on_the_docker_host() -> None:
    found = discovered(summary(SCRAPE, PUBLISHED))
    assert (found.container, found.project, found.service, found.job) == ("app-api-1", "app", "api", "api")
    assert (found.address, found.metrics_path, found.reason) == ("host.docker.internal:49153", "/metrics", None)


def test_labels_name_the_job_and_path_stackgen_s_first() -> None:
    labels = {**COMPOSE, "prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/m",
              "io.stackgen.path": "/metrics/app", "io.stackgen.job": "shop-api"}
    found = discovered(summary(labels, PUBLISHED))
    assert (found.job, found.metrics_path, found.address) == ("shop-api", "/metrics/app", "host.docker.internal:49153")


@pytest.mark.parametrize(("labels", "ports", "state", "mode", "reason"), [
    ({**SCRAPE, "io.stackgen.port": "9000"}, PUBLISHED, "running", "bridge",
     'port 9000 is not published: containers of other networks cannot reach it; add ports: ["9000"] (any free host port)'),
    ({**SCRAPE, "io.stackgen.port": "7000"}, PUBLISHED, "running", "bridge",
     'port 7000 is neither exposed nor published: publish it (ports: ["7000"])'),
    ({**COMPOSE, "io.stackgen.scrape": "true"}, [], "running", "bridge",
     'exposes no TCP port: set io.stackgen.port and publish it (ports: ["PORT"])'),
    (SCRAPE, [{"IP": "127.0.0.1", "PrivatePort": 8000, "PublicPort": 8000, "Type": "tcp"}], "running", "bridge",
     "port 8000 is published on 127.0.0.1 only, which containers cannot reach: publish it on 0.0.0.0, or on the docker bridge's address to keep it off the network"),
    (SCRAPE, PUBLISHED, "exited", "bridge", "exited: Prometheus lists running containers only"),
    ({**SCRAPE, "io.stackgen.role": "prometheus"}, PUBLISHED, "running", "bridge",
     "a service of a stackgen stack: its own jobs scrape it"),
    ({**COMPOSE, "io.stackgen.scrape": "true"}, [], "running", "host",
     "host networking: set io.stackgen.port to the port it listens on"),
])
def test_why_a_labelled_container_has_no_target(labels: dict[str, str], ports: list[dict[str, Any]], state: str,
                                                mode: str, reason: str) -> None:
    found = discovered(summary(labels, ports, state, mode))
    assert (found.address, found.reason) == (None, reason)


def test_host_networking_is_reached_at_the_port_label() -> None:
    assert discovered(summary(SCRAPE, [], network_mode="host")).address == "host.docker.internal:8000"


def test_only_true_asks_to_be_scraped() -> None:
    assert labelled(summary({"prometheus.io/scrape": "true"}))
    assert not labelled(summary({"io.stackgen.scrape": "false", "prometheus.io/scrape": "yes"}))


def test_health_comes_from_the_target_with_the_container_label() -> None:
    found = discovered(summary(SCRAPE, PUBLISHED))
    targets = [{"labels": {"container": "other"}, "health": "up"},
               {"labels": {"container": "app-api-1"}, "health": "down", "lastError": "connection refused"}]
    assert (with_health(found, targets).health, with_health(found, targets).last_error) == ("down", "connection refused")
    assert with_health(found, []).health is None
