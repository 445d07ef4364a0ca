"""The OpenTelemetry Collector's config: OTLP in, traces to Jaeger, span metrics to Prometheus."""

from __future__ import annotations

from typing import Any

from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render.dump import yaml_bytes

SPANMETRICS_PORT = 8889


def render_tracing(stack: Stack) -> dict[str, RenderedFile]:
    """otel-collector/config.yml when tracing is on."""
    if not stack.tracing.enabled:
        return {}
    return {"otel-collector/config.yml": RenderedFile(yaml_bytes(collector_config()))}


def collector_config() -> dict[str, Any]:
    return {
        "receivers": {
            "otlp": {
                "protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}
            }
        },
        "processors": {
            "batch": {},
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
        },
        "connectors": {
            "spanmetrics": {
                "histogram": {
                    "explicit": {
                        "buckets": [
                            "5ms",
                            "10ms",
                            "25ms",
                            "50ms",
                            "100ms",
                            "250ms",
                            "500ms",
                            "1s",
                            "2.5s",
                            "5s",
                        ]
                    }
                },
                "exemplars": {"enabled": True},
            }
        },
        "exporters": {
            # `otlp` is only a deprecated alias of `otlp_grpc` since collector 0.144 (it logs a warning)
            "otlp_grpc/jaeger": {"endpoint": "jaeger:4317", "tls": {"insecure": True}},
            "prometheus": {"endpoint": f"0.0.0.0:{SPANMETRICS_PORT}", "enable_open_metrics": True},
        },
        "extensions": {"health_check": {"endpoint": "0.0.0.0:13133"}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "batch"],
                    "exporters": ["otlp_grpc/jaeger", "spanmetrics"],
                },
                "metrics/spanmetrics": {
                    "receivers": ["spanmetrics"],
                    "processors": ["batch"],
                    "exporters": ["prometheus"],
                },
            },
            "telemetry": {
                "metrics": {
                    "readers": [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": 8888}}}}]
                }
            },
        },
    }
