"""The relay's own Prometheus metrics, in a registry of its own (tests run several relays at once)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PREFIX = "stackgen_relay"


class RelayMetrics:
    """Every metric the relay exposes on /metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.notifications = Counter(
            f"{PREFIX}_notifications_total",
            "Webhook calls from Alertmanager, by receiver and the HTTP code answered.",
            ["receiver", "code"],
            registry=r,
        )
        self.messages_sent = Counter(
            f"{PREFIX}_messages_sent_total",
            "Messages (split parts count one each) the chat API accepted.",
            ["receiver", "channel"],
            registry=r,
        )
        self.messages_failed = Counter(
            f"{PREFIX}_messages_failed_total",
            "Messages the chat API did not accept, by reason (retryable or permanent).",
            ["receiver", "channel", "reason"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            f"{PREFIX}_delivery_duration_seconds",
            "Time to deliver one message to a chat API, signing and retries of the token included.",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_queue_depth",
            "Notifications waiting for a robot's rate limit, to be merged and sent.",
            ["receiver", "channel"],
            registry=r,
        )
        self.rate_limit_waits = Counter(
            f"{PREFIX}_rate_limit_waits_total",
            "Notifications queued because the robot's rate limit was reached.",
            ["receiver", "channel"],
            registry=r,
        )
        self.template_errors = Counter(
            f"{PREFIX}_template_errors_total",
            "Renders where a user template failed and the default template was used.",
            ["receiver", "channel"],
            registry=r,
        )
        self.reload_success = Gauge(
            f"{PREFIX}_config_last_reload_successful",
            "Whether the last configuration (re)load succeeded.",
            registry=r,
        )
        self.reload_timestamp = Gauge(
            f"{PREFIX}_config_last_reload_success_timestamp_seconds",
            "Time of the last successful configuration (re)load.",
            registry=r,
        )
