"""Tracing, statically: the OpenTelemetry Collector config, Grafana's Jaeger link, the compose services.

No Debian package runs the collector, Jaeger or Grafana here, so what they would refuse at start-up
is checked from their documented config structure (collector 0.159, contrib distribution):
- components are `type[/name]`, of types the contrib distribution has, under their current names (the
  `otlp` exporter became `otlp_grpc` in 0.144; the old name only warns, and is on its way out);
- every pipeline names defined components of the right signal; each connector is an exporter of one
  pipeline and a receiver of another, as the collector requires; extensions are defined;
- option keys of the components stackgen configures are ones their Config structs have
  (spanmetrics connector, prometheus exporter, memory_limiter), values well-formed (Go durations,
  increasing buckets, host:port endpoints a container can be reached on);
- internal telemetry uses `service.telemetry.metrics.readers` (the `address` form was removed);
- the ports the collector listens on are the ones compose publishes and Prometheus scrapes;
- Grafana's datasource provisioning (apiVersion 1) has a Jaeger datasource and a Prometheus
  exemplar link (`exemplarTraceIdDestinations`) whose label is the one the collector's exemplars carry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen import api
from stackgen.render.tracing import SPANMETRICS_PORT
from tests.unit.core_helpers import base_spec, write_spec

CONFIG = "otel-collector/config.yml"
DATASOURCES = "grafana/provisioning/datasources/stackgen.yml"
# The compose mount of the collector's config dir (compose: ./otel-collector:/etc/otelcol:ro).
COLLECTOR_CONFIG_DIR = "/etc/otelcol"

# Component types of otelcol-contrib that a stack like this one would use (not the whole list: a type
# outside it needs a look at the distribution's manifest before it is added here).
KNOWN_TYPES = {
    "receivers": {"otlp", "prometheus", "jaeger", "zipkin", "hostmetrics", "filelog", "docker_stats"},
    "processors": {
        "batch",
        "memory_limiter",
        "attributes",
        "resource",
        "resourcedetection",
        "transform",
        "filter",
        "tail_sampling",
        "probabilistic_sampler",
        "k8sattributes",
    },
    "exporters": {"otlp_grpc", "otlp_http", "prometheus", "prometheusremotewrite", "debug", "file"},
    "connectors": {"spanmetrics", "servicegraph", "count", "forward", "routing"},
    "extensions": {"health_check", "pprof", "zpages", "basicauth", "bearertokenauth"},
}
# Old names the collector still accepts with a deprecation warning (renamed in 0.144).
DEPRECATED_TYPES = {"exporters": {"otlp": "otlp_grpc", "otlphttp": "otlp_http"}}
# kind -> type -> (signals it takes as exporter/in a pipeline, signals it emits as a receiver)
CONNECTOR_SIGNALS = {
    "spanmetrics": ({"traces"}, {"metrics"}),
    "servicegraph": ({"traces"}, {"metrics"}),
    "forward": ({"traces", "metrics", "logs"}, {"traces", "metrics", "logs"}),
}
EXPORTER_SIGNALS = {"prometheus": {"metrics"}, "prometheusremotewrite": {"metrics"}}
SIGNALS = {"traces", "metrics", "logs", "profiles"}

# mapstructure keys of the Config structs (contrib, 0.159)
SPANMETRICS_KEYS = {
    "dimensions",
    "calls_dimensions",
    "exclude_dimensions",
    "dimensions_cache_size",
    "resource_metrics_cache_size",
    "resource_metrics_key_attributes",
    "aggregation_temporality",
    "histogram",
    "metrics_flush_interval",
    "metrics_expiration",
    "series_expiration",
    "metric_timestamp_cache_size",
    "namespace",
    "exemplars",
    "events",
    "include_instrumentation_scope",
    "aggregation_cardinality_limit",
    "add_resource_attributes",
    "enable_metrics_sampling_method",
}
SPANMETRICS_HISTOGRAM_KEYS = {"disable", "unit", "exponential", "explicit", "dimensions"}
SPANMETRICS_EXEMPLAR_KEYS = {"enabled", "max_per_data_point"}
PROMETHEUS_EXPORTER_KEYS = {
    "endpoint",
    "tls",
    "const_labels",
    "namespace",
    "send_timestamps",
    "metric_expiration",
    "resource_constant_labels",
    "resource_to_telemetry_conversion",
    "enable_open_metrics",
    "without_scope_info",
    "add_metric_suffixes",
    "translation_strategy",
}
MEMORY_LIMITER_KEYS = {
    "check_interval",
    "limit_mib",
    "spike_limit_mib",
    "limit_percentage",
    "spike_limit_percentage",
    "min_gc_interval_when_soft_limited",
    "min_gc_interval_when_hard_limited",
}

COMPONENT_ID = re.compile(r"^(?P<type>[a-zA-Z][0-9a-zA-Z_]{0,62})(?:/(?P<name>[^/\s]+))?$")
GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
ENDPOINT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$")
UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(duration: str) -> float:
    assert GO_DURATION.match(duration), f"not a Go duration: {duration!r}"
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    return sum(float(number) * UNITS[unit] for number, unit in parts)


def render(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    spec = base_spec(**sections)
    stack = api.load_stack(write_spec(tmp_path, spec), {})
    return api.render_files(stack, tmp_path / "out")


def load(files: dict[str, Any], path: str) -> Any:
    return yaml.safe_load(files[path].content)


@pytest.fixture(scope="module", params=["single", "ha"])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sections: dict[str, Any] = {"tracing": {"enabled": True}}
    if request.param == "ha":
        sections |= {"prometheus": {"replicas": 2}, "alertmanager": {"replicas": 3}}
    return render(tmp_path_factory.mktemp(f"tracing-{request.param}"), **sections)


@pytest.fixture(scope="module")
def collector(rendered: dict[str, Any]) -> dict[str, Any]:
    config = load(rendered, CONFIG)
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="module")
def compose(rendered: dict[str, Any]) -> dict[str, Any]:
    return dict(load(rendered, "docker-compose.yml")["services"])


def component_type(component_id: str) -> str:
    match = COMPONENT_ID.match(component_id)
    assert match, f"not a component ID (type[/name]): {component_id!r}"
    return match["type"]


def pipeline_signal(pipeline_id: str) -> str:
    signal = component_type(pipeline_id)
    assert signal in SIGNALS, f"pipeline {pipeline_id!r}: no such signal"
    return signal


# --- the collector config --------------------------------------------------------------------------


def test_top_level_sections_are_the_collectors(collector: dict[str, Any]) -> None:
    assert set(collector) <= {"receivers", "processors", "exporters", "connectors", "extensions", "service"}
    assert set(collector["service"]) <= {"extensions", "pipelines", "telemetry"}


@pytest.mark.parametrize("kind", ["receivers", "processors", "exporters", "connectors", "extensions"])
def test_component_types_exist_in_contrib_under_current_names(collector: dict[str, Any], kind: str) -> None:
    for component_id in collector.get(kind) or {}:
        kind_type = component_type(component_id)
        renamed = DEPRECATED_TYPES.get(kind, {}).get(kind_type)
        assert renamed is None, f"{kind}.{component_id}: `{kind_type}` is a deprecated alias of `{renamed}`"
        assert kind_type in KNOWN_TYPES[kind], f"{kind}.{component_id}: unknown type"


def test_pipelines_name_defined_components_of_their_signal(collector: dict[str, Any]) -> None:
    pipelines = collector["service"]["pipelines"]
    connectors = collector.get("connectors") or {}
    assert pipelines
    for pipeline_id, pipeline in pipelines.items():
        signal = pipeline_signal(pipeline_id)
        assert set(pipeline) <= {"receivers", "processors", "exporters"}
        assert pipeline.get("receivers") and pipeline.get("exporters"), pipeline_id
        for receiver in pipeline["receivers"]:
            defined = receiver in (collector.get("receivers") or {}) or receiver in connectors
            assert defined, (pipeline_id, receiver)
            if receiver in connectors:
                assert signal in CONNECTOR_SIGNALS[component_type(receiver)][1], (pipeline_id, receiver)
        for processor in pipeline.get("processors") or []:
            assert processor in (collector.get("processors") or {}), (pipeline_id, processor)
        for exporter in pipeline["exporters"]:
            defined = exporter in (collector.get("exporters") or {}) or exporter in connectors
            assert defined, (pipeline_id, exporter)
            if exporter in connectors:
                assert signal in CONNECTOR_SIGNALS[component_type(exporter)][0], (pipeline_id, exporter)
            else:
                takes = EXPORTER_SIGNALS.get(component_type(exporter), SIGNALS)
                assert signal in takes, (pipeline_id, exporter)
        for stage in ("receivers", "processors", "exporters"):
            names = pipeline.get(stage) or []
            assert len(names) == len(set(names)), f"{pipeline_id}.{stage} repeats a component"


def test_every_connector_joins_two_pipelines(collector: dict[str, Any]) -> None:
    pipelines = collector["service"]["pipelines"].values()
    for connector in collector.get("connectors") or {}:
        # the collector refuses a connector that is not used on both sides
        assert any(connector in p["exporters"] for p in pipelines), f"{connector} is no pipeline's exporter"
        assert any(connector in p["receivers"] for p in pipelines), f"{connector} is no pipeline's receiver"


def test_memory_limiter_comes_first(collector: dict[str, Any]) -> None:
    for pipeline_id, pipeline in collector["service"]["pipelines"].items():
        processors = pipeline.get("processors") or []
        if "memory_limiter" in processors:
            assert processors[0] == "memory_limiter", pipeline_id
    limiter = collector["processors"]["memory_limiter"]
    assert set(limiter) <= MEMORY_LIMITER_KEYS
    assert seconds(limiter["check_interval"]) > 0
    assert 0 < limiter["spike_limit_percentage"] < limiter["limit_percentage"] <= 100


def test_extensions_are_defined(collector: dict[str, Any]) -> None:
    for extension in collector["service"].get("extensions") or []:
        assert extension in (collector.get("extensions") or {})


def test_spanmetrics_options_are_the_connectors(collector: dict[str, Any]) -> None:
    spanmetrics = collector["connectors"]["spanmetrics"]
    assert set(spanmetrics) <= SPANMETRICS_KEYS
    histogram = spanmetrics.get("histogram") or {}
    assert set(histogram) <= SPANMETRICS_HISTOGRAM_KEYS
    assert not ("explicit" in histogram and "exponential" in histogram)
    buckets = [seconds(bucket) for bucket in histogram["explicit"]["buckets"]]
    assert buckets == sorted(set(buckets)) and buckets[0] > 0
    assert set(spanmetrics["exemplars"]) <= SPANMETRICS_EXEMPLAR_KEYS
    assert spanmetrics["exemplars"]["enabled"] is True


def test_prometheus_exporter_serves_exemplars(collector: dict[str, Any]) -> None:
    exporter = collector["exporters"]["prometheus"]
    assert set(exporter) <= PROMETHEUS_EXPORTER_KEYS
    # exemplars are only written in the OpenMetrics format
    assert exporter["enable_open_metrics"] is True


def endpoints(collector: dict[str, Any]) -> dict[str, str]:
    """path -> every `endpoint` value in the config."""
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "endpoint" and isinstance(value, str):
                    found[f"{path}.{key}".lstrip(".")] = value
                else:
                    walk(value, f"{path}.{key}")

    walk(collector, "")
    return found


def test_endpoints_are_host_port(collector: dict[str, Any], compose: dict[str, Any]) -> None:
    found = endpoints(collector)
    assert found
    for path, endpoint in found.items():
        match = ENDPOINT.match(endpoint)
        assert match, f"{path}: {endpoint!r} is not host:port"
        assert 0 < int(match["port"]) < 65536, path
        if path.startswith(("receivers.", "extensions.")) or path == "exporters.prometheus.endpoint":
            # a server in a container: on localhost it would be unreachable from the others
            assert match["host"] == "0.0.0.0", f"{path}: {endpoint}"
        else:
            assert match["host"] in compose, f"{path}: {match['host']} is no service of the stack"


def test_otlp_to_jaeger_reaches_its_otlp_grpc_port(collector: dict[str, Any]) -> None:
    jaeger = [e for i, e in collector["exporters"].items() if component_type(i) in ("otlp_grpc", "otlp")]
    assert [e["endpoint"] for e in jaeger] == ["jaeger:4317"]
    # Jaeger's OTLP receiver is plaintext inside the stack
    assert jaeger[0]["tls"] == {"insecure": True}


def test_internal_telemetry_uses_readers(collector: dict[str, Any]) -> None:
    metrics = collector["service"]["telemetry"]["metrics"]
    assert "address" not in metrics  # the pre-0.123 form, removed
    readers = metrics["readers"]
    assert isinstance(readers, list) and readers
    for reader in readers:
        assert len(reader) == 1 and set(reader) <= {"pull", "periodic"}
    pull = next(r["pull"] for r in readers if "pull" in r)
    prometheus = pull["exporter"]["prometheus"]
    assert prometheus["host"] == "0.0.0.0"
    assert isinstance(prometheus["port"], int)


def test_prometheus_scrapes_what_the_collector_serves(
    rendered: dict[str, Any], collector: dict[str, Any]
) -> None:
    readers = collector["service"]["telemetry"]["metrics"]["readers"]
    telemetry_port = readers[0]["pull"]["exporter"]["prometheus"]["port"]
    spanmetrics_port = int(collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1])
    assert spanmetrics_port == SPANMETRICS_PORT
    configs = [path for path in rendered if re.match(r"prometheus/prometheus(-\d+)?\.yml$", path)]
    assert configs
    for path in configs:
        jobs = {job["job_name"]: job for job in load(rendered, path)["scrape_configs"]}
        targets = {t for sc in jobs["otel-collector"].get("static_configs", []) for t in sc["targets"]}
        assert targets == {f"otel-collector:{telemetry_port}", f"otel-collector:{spanmetrics_port}"}, path


# --- compose ---------------------------------------------------------------------------------------


def test_collector_service_runs_the_rendered_config(
    compose: dict[str, Any], collector: dict[str, Any]
) -> None:
    service = compose["otel-collector"]
    assert service["labels"]["io.stackgen.role"] == "otel-collector"
    assert "./otel-collector:/etc/otelcol:ro" in service["volumes"]
    config_flags = [arg for arg in service["command"] if arg.startswith("--config")]
    assert config_flags == [f"--config={COLLECTOR_CONFIG_DIR}/{CONFIG.split('/', 1)[1]}"]
    assert "jaeger" in service["depends_on"]
    published = {port.rsplit(":", 1)[1]: port for port in service["ports"]}
    otlp = collector["receivers"]["otlp"]["protocols"]
    assert set(published) == {otlp[p]["endpoint"].rsplit(":", 1)[1] for p in ("grpc", "http")}
    assert all(port.startswith("127.0.0.1:") for port in published.values())


def test_jaeger_service_publishes_its_ui_on_loopback(compose: dict[str, Any]) -> None:
    service = compose["jaeger"]
    assert service["labels"]["io.stackgen.role"] == "jaeger"
    assert [port.rsplit(":", 1)[1] for port in service["ports"]] == ["16686"]
    assert all(port.startswith("127.0.0.1:") for port in service["ports"])


def test_prometheus_keeps_exemplars_when_tracing_is_on(compose: dict[str, Any]) -> None:
    for name, service in compose.items():
        if service["labels"]["io.stackgen.role"] == "prometheus":
            assert "--enable-feature=exemplar-storage" in service["command"], name


def prometheus_commands(files: dict[str, Any]) -> list[list[str]]:
    services = load(files, "docker-compose.yml")["services"].values()
    return [s["command"] for s in services if s["labels"]["io.stackgen.role"] == "prometheus"]


def test_exemplar_storage_is_off_without_tracing(tmp_path: Path) -> None:
    commands = prometheus_commands(render(tmp_path, tracing={"enabled": False}))
    assert commands and all(not any("exemplar" in arg for arg in command) for command in commands)


def test_exemplar_storage_named_in_extra_args_is_not_repeated(tmp_path: Path) -> None:
    extra = ["--enable-feature=memory-snapshot-on-shutdown,exemplar-storage"]
    commands = prometheus_commands(render(tmp_path, tracing={"enabled": True},
                                          prometheus={"extra_args": extra}))
    for command in commands:
        assert [arg for arg in command if "exemplar" in arg] == extra


# --- Grafana ---------------------------------------------------------------------------------------


def test_grafana_datasources_link_exemplars_to_jaeger(
    rendered: dict[str, Any], compose: dict[str, Any]
) -> None:
    provisioning = load(rendered, DATASOURCES)
    assert provisioning["apiVersion"] == 1
    sources = provisioning["datasources"]
    for source in sources:
        assert {"name", "type", "uid", "access", "url"} <= set(source), source
        assert source["access"] in ("proxy", "direct")
    assert len({s["uid"] for s in sources}) == len(sources)
    assert sum(1 for s in sources if s.get("isDefault")) == 1
    by_type = {s["type"]: s for s in sources}
    jaeger = by_type["jaeger"]
    assert jaeger["url"] == "http://jaeger:16686"  # Jaeger's query service, inside the stack
    prometheus = by_type["prometheus"]
    host = prometheus["url"].removeprefix("http://").split(":")[0]
    assert compose[host]["labels"]["io.stackgen.role"] == "prometheus"
    # the collector's Prometheus exporter writes exemplars with the label trace_id
    assert prometheus["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": "trace_id", "datasourceUid": jaeger["uid"]}
    ]


# --- tracing off -----------------------------------------------------------------------------------


def test_tracing_off_renders_none_of_it(tmp_path: Path) -> None:
    files = render(tmp_path, tracing={"enabled": False})
    assert CONFIG not in files
    services = load(files, "docker-compose.yml")["services"]
    assert not {"jaeger", "otel-collector"} & set(services)
    sources = load(files, DATASOURCES)["datasources"]
    assert "jaeger" not in {s["type"] for s in sources}
    assert all("exemplarTraceIdDestinations" not in (s.get("jsonData") or {}) for s in sources)
    for path in files:
        if re.match(r"prometheus/prometheus(-\d+)?\.yml$", path):
            assert "otel-collector" not in {job["job_name"] for job in load(files, path)["scrape_configs"]}
