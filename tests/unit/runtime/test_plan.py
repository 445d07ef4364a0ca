from __future__ import annotations

from dataclasses import replace

from stackgen.runtime.compose_file import parse_project
from stackgen.runtime.plan import (
    ActionKind,
    DesiredService,
    ObservedContainer,
    ServiceAction,
    changed_files,
    desired_services,
    plan,
    watched_files,
)

PROMETHEUS = DesiredService(
    "prometheus",
    "prometheus",
    "prom:2",
    "hash-p",
    frozenset({"prometheus/prometheus.yml", "prometheus/rules/a.yml"}),
    can_reload=True,
)
NODE = DesiredService("node-exporter", "node-exporter", "node:1", "hash-n")


def running(
    service: str, config_hash: str | None, *, state: str = "running", number: int = 1, image: str = ""
) -> ObservedContainer:
    return ObservedContainer(
        f"id-{service}-{number}", f"x_{service}_{number}", service, number, state, None, config_hash, image
    )


def test_missing_container_is_created() -> None:
    result = plan([PROMETHEUS], [], frozenset())
    assert result.actions == (ServiceAction("prometheus", ActionKind.CREATE, ("not running",)),)


def test_matching_container_is_left_alone() -> None:
    result = plan(
        [PROMETHEUS, NODE], [running("prometheus", "hash-p"), running("node-exporter", "hash-n")], frozenset()
    )
    assert [action.kind for action in result.actions] == [ActionKind.NOOP, ActionKind.NOOP]
    assert not result.changes_anything


def test_changed_definition_recreates_and_names_the_image() -> None:
    result = plan([PROMETHEUS], [running("prometheus", "old", image="prom:1")], frozenset())
    assert result.actions == (
        ServiceAction("prometheus", ActionKind.RECREATE, ("image prom:1 -> prom:2",), ("id-prometheus-1",)),
    )
    result = plan([PROMETHEUS], [running("prometheus", "old", image="prom:2")], frozenset())
    assert result.actions[0].reasons == ("definition changed",)


def test_container_without_stackgen_hash_is_adopted_by_recreating() -> None:
    result = plan([NODE], [running("node-exporter", None)], frozenset())
    assert result.actions[0].kind is ActionKind.RECREATE
    assert result.actions[0].reasons == ("adopting a container stackgen did not create",)


def test_changed_config_file_reloads() -> None:
    changed = frozenset({"prometheus/rules/a.yml", "alertmanager/alertmanager.yml"})
    result = plan([PROMETHEUS], [running("prometheus", "hash-p")], changed)
    assert result.actions == (
        ServiceAction(
            "prometheus",
            ActionKind.RELOAD,
            ("1 config file changed",),
            ("id-prometheus-1",),
            ("prometheus/rules/a.yml",),
        ),
    )


def test_stopped_container_is_started_not_reloaded() -> None:
    result = plan(
        [PROMETHEUS],
        [running("prometheus", "hash-p", state="exited")],
        frozenset({"prometheus/prometheus.yml"}),
    )
    assert result.actions[0].kind is ActionKind.START
    assert result.actions[0].reasons == ("container is exited",)


def test_dead_container_is_recreated() -> None:
    assert (
        plan([NODE], [running("node-exporter", "hash-n", state="dead")], frozenset()).actions[0].kind
        is ActionKind.RECREATE
    )


def test_service_gone_from_the_stack_is_removed() -> None:
    result = plan([], [running("pushgateway", "h")], frozenset())
    assert result.actions == (
        ServiceAction("pushgateway", ActionKind.REMOVE, ("no longer in the stack",), ("id-pushgateway-1",)),
    )


def test_extra_containers_are_removed_keeping_the_matching_one() -> None:
    observed = [running("node-exporter", "old", number=1), running("node-exporter", "hash-n", number=2)]
    result = plan([NODE], observed, frozenset())
    assert [(a.kind, a.container_ids) for a in result.actions] == [
        (ActionKind.NOOP, ("id-node-exporter-2",)),
        (ActionKind.REMOVE, ("id-node-exporter-1",)),
    ]


def test_grafana_password_change_asks_for_a_reset() -> None:
    grafana = DesiredService(
        "grafana", "grafana", "g", "hash-g", frozenset({"grafana/dashboards/a.json"}), True
    )
    result = plan([grafana], [running("grafana", "hash-g")], frozenset({"secrets/grafana/admin_password"}))
    assert result.actions[0].kind is ActionKind.NOOP
    assert result.actions[0].reset_admin_password
    assert result.actions[0].reasons == ("admin password changed",)
    assert result.changes_anything
    result = plan([grafana], [running("grafana", "hash-g")], frozenset({"grafana/dashboards/a.json"}))
    assert result.actions[0].kind is ActionKind.RELOAD
    assert not result.actions[0].reset_admin_password


def test_plan_data_is_what_json_prints() -> None:
    result = plan([PROMETHEUS], [running("prometheus", "hash-p")], frozenset({"prometheus/prometheus.yml"}))
    assert result.to_data() == [
        {
            "service": "prometheus",
            "action": "reload",
            "reasons": ["1 config file changed"],
            "changed_files": ["prometheus/prometheus.yml"],
        }
    ]


def test_changed_files() -> None:
    assert changed_files({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == {"b", "c"}
    assert changed_files({"a": "1"}, None) == {"a"}


COMPOSE = {
    "name": "shop",
    "services": {
        "prometheus": {
            "image": "prom",
            "volumes": ["./prometheus:/etc/prometheus:ro", "./secrets/prometheus:/etc/prometheus/secrets:ro"],
            "labels": {"io.stackgen.role": "prometheus"},
        },
        "otel-collector": {
            "image": "otel",
            "volumes": ["./otel-collector:/etc/otel:ro"],
            "labels": {"io.stackgen.role": "otel-collector"},
        },
    },
}
FILES = {
    "docker-compose.yml": "h0",
    ".stackgen-manifest.json": "hm",
    "prometheus/prometheus.yml": "h1",
    "prometheus/targets/api.json": "h2",
    "prometheus/rules/a.yml": "h3",
    "secrets/prometheus/token": "h4",
    "otel-collector/config.yml": "h5",
}


def test_watched_files_skip_targets_and_bookkeeping(tmp_path) -> None:
    project = parse_project(COMPOSE, tmp_path / "docker-compose.yml")
    assert watched_files(project.service("prometheus"), FILES) == {
        "prometheus/prometheus.yml",
        "prometheus/rules/a.yml",
        "secrets/prometheus/token",
    }


def test_target_edit_changes_nothing_and_otel_config_edit_recreates(tmp_path) -> None:
    project = parse_project(COMPOSE, tmp_path / "docker-compose.yml")
    before = {d.name: d for d in desired_services(project, FILES, {"prom": "sha256:1", "otel": "sha256:2"})}
    edited = dict(FILES, **{"prometheus/targets/api.json": "h2b", "otel-collector/config.yml": "h5b"})
    after = {d.name: d for d in desired_services(project, edited, {"prom": "sha256:1", "otel": "sha256:2"})}
    assert before["prometheus"].config_hash == after["prometheus"].config_hash
    assert before["otel-collector"].config_hash != after["otel-collector"].config_hash
    assert not after["otel-collector"].can_reload
    observed = [
        running("prometheus", before["prometheus"].config_hash),
        running("otel-collector", before["otel-collector"].config_hash),
    ]
    result = plan(list(after.values()), observed, changed_files(edited, FILES))
    assert [(a.service, a.kind) for a in result.actions] == [
        ("otel-collector", ActionKind.RECREATE),
        ("prometheus", ActionKind.NOOP),
    ]


def compose_made(
    service: str, compose_hash: str, image_id: str, *, legacy: bool = False
) -> ObservedContainer:
    """A container `docker compose up` made: Compose's labels, none of stackgen's."""
    return ObservedContainer(f"id-{service}", f"x-{service}-1", service, 1, "running", None, None,
                             compose_hash=compose_hash, image_id=image_id, legacy_name=legacy)


ASKED = replace(NODE, compose_hash="compose-n", image_id="sha256:n")


def test_container_compose_made_from_the_same_definition_is_adopted_not_recreated() -> None:
    result = plan([ASKED], [compose_made("node-exporter", "compose-n", "sha256:n")], frozenset())
    assert result.actions == (
        ServiceAction("node-exporter", ActionKind.NOOP, ("adopted from Compose",), ("id-node-exporter",),
                      adopted=True),
    )
    assert result.adopted_containers == {"id-node-exporter": "node-exporter"}
    assert result.to_data()[0]["adopted"] is True


def test_adopted_container_still_gets_its_reload() -> None:
    prometheus = replace(PROMETHEUS, compose_hash="compose-p", image_id="sha256:p")
    result = plan([prometheus], [compose_made("prometheus", "compose-p", "sha256:p")],
                  frozenset({"prometheus/prometheus.yml"}))
    assert result.actions[0].kind is ActionKind.RELOAD
    assert result.actions[0].adopted


def test_compose_container_of_another_definition_or_image_is_recreated() -> None:
    for container in (compose_made("node-exporter", "other", "sha256:n"),
                      compose_made("node-exporter", "compose-n", "sha256:old")):
        result = plan([ASKED], [container], frozenset())
        assert result.actions[0].kind is ActionKind.RECREATE, container
        assert not result.actions[0].adopted
    # Compose not asked (not installed): nothing to compare with
    result = plan([NODE], [compose_made("node-exporter", "compose-n", "sha256:n")], frozenset())
    assert result.actions[0].kind is ActionKind.RECREATE


def test_container_with_compose_1_name_is_migrated_once() -> None:
    legacy = replace(running("node-exporter", "hash-n"), legacy_name=True)
    result = plan([NODE], [legacy], frozenset())
    assert result.actions == (
        ServiceAction("node-exporter", ActionKind.RECREATE,
                      ("renaming to Compose v2's name (volumes are kept)",), ("id-node-exporter-1",)),
    )
    # a legacy-named container made by Compose 1.29 is never adopted, whatever its labels say
    result = plan([ASKED], [compose_made("node-exporter", "compose-n", "sha256:n", legacy=True)], frozenset())
    assert result.actions[0].kind is ActionKind.RECREATE


WEB_COMPOSE = {
    "name": "shop",
    "services": {
        role: {"image": role, "volumes": [f"./secrets/{role}:/run/secrets/stackgen:ro"],
               "labels": {"io.stackgen.role": role}}
        for role in ("prometheus", "node-exporter", "grafana")
    },
}


def test_web_configs_and_certificates_are_read_by_the_services_themselves_except_grafanas_certificate(
        tmp_path) -> None:
    """A new password or certificate needs no reload where the exporter-toolkit re-reads its web config,
    and never recreates such a service; Grafana loads its certificate at start only."""
    project = parse_project(WEB_COMPOSE, tmp_path / "docker-compose.yml")
    server = ("web.yml", "web.crt", "web.key", "web-authorization")
    client = ("stackgen-1.password", "web-ca.pem")  # what render/web.py gives the clients
    names = {"prometheus": server + client, "node-exporter": server,
             "grafana": ("web.crt", "web.key", *client)}
    files = {f"secrets/{role}/{name}": "h1" for role, found in names.items() for name in found}
    rotated = {path: "h2" for path in files}
    images = {role: "sha256:1" for role in ("prometheus", "node-exporter", "grafana")}
    before = {d.name: d for d in desired_services(project, files, images)}
    after = {d.name: d for d in desired_services(project, rotated, images)}
    observed = [running(name, desired.config_hash) for name, desired in before.items()]
    result = plan(list(after.values()), observed, changed_files(rotated, files))
    assert [(a.service, a.kind) for a in result.actions] == [
        ("grafana", ActionKind.RECREATE),
        ("node-exporter", ActionKind.NOOP),
        ("prometheus", ActionKind.NOOP),
    ]
