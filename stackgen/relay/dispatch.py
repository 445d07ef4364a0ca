"""The relay's core: one Alertmanager notification in, a message per configured channel out.

What Alertmanager is answered decides whether it retries: 200 when every channel took the message
(or queued it behind a robot's rate limit), 503 when any failure may pass (network, 5xx, rate-limit
codes, a receiver relay.yml does not know yet), 422 when a chat API refused it for good.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stackgen.relay.config import Channel, RelayConfig, WeComAppChannel, load_config
from stackgen.relay.delivery import DeliveryError
from stackgen.relay.dingtalk import DingTalkSender
from stackgen.relay.feishu import FeishuSender
from stackgen.relay.messages import Message, MessageRenderer
from stackgen.relay.metrics import RelayMetrics
from stackgen.relay.notification import (
    TEST_ID_LABEL,
    BadPayload,
    Notification,
    merge_notifications,
    parse_notification,
)
from stackgen.relay.ratelimit import RobotQueue, SlidingWindow
from stackgen.relay.wecom_app import TokenCache, WeComAppSender
from stackgen.relay.wecom_robot import WeComRobotSender

log = logging.getLogger(__name__)

HISTORY = 500


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer to Alertmanager."""

    code: int
    detail: str


@dataclass(frozen=True)
class DeliveryRecord:
    """What happened to one notification on one channel (served on /api/v1/deliveries)."""

    time: float
    receiver: str
    channel: str
    index: int
    result: str  # sent | queued | failed
    error: str = ""
    retryable: bool = False
    parts: int = 0
    alerts: int = 0
    status: str = ""
    group_key: str = ""
    test_ids: tuple[str, ...] = field(default_factory=tuple)


class InstrumentedSender:
    """A channel sender that counts and times every request."""

    def __init__(self, sender: Any, receiver: str, metrics: RelayMetrics) -> None:
        self.sender = sender
        self.receiver = receiver
        self.metrics = metrics
        self.kind: str = sender.kind

    def bodies(self, message: Message) -> list[dict[str, Any]]:
        return list(self.sender.bodies(message))

    def send(self, body: dict[str, Any]) -> None:
        started = time.monotonic()
        try:
            self.sender.send(body)
        except DeliveryError as error:
            self.metrics.messages_failed.labels(self.receiver, self.kind, error.reason).inc()
            raise
        finally:
            self.metrics.delivery_seconds.labels(self.kind).observe(time.monotonic() - started)
        self.metrics.messages_sent.labels(self.receiver, self.kind).inc()


@dataclass
class Route:
    """One channel of one receiver, ready to use."""

    channel: Channel
    renderer: MessageRenderer
    sender: InstrumentedSender
    queue: RobotQueue | None


class Relay:
    """Routes notifications to channels; keeps rate-limit state and tokens across reloads."""

    def __init__(
        self,
        config: RelayConfig,
        metrics: RelayMetrics | None = None,
        retry_delays: Sequence[float] = (5.0, 30.0, 120.0),
        clock: Callable[[], float] = time.monotonic,
        rates: dict[str, tuple[int, float]] | None = None,
    ) -> None:
        self.metrics = metrics or RelayMetrics()
        self.retry_delays = tuple(retry_delays)
        self.clock = clock
        self.rates = rates or {}  # kind -> (limit, period), overrides for tests
        self.deliveries: deque[DeliveryRecord] = deque(maxlen=HISTORY)
        self._lock = threading.Lock()
        self._windows: dict[str, SlidingWindow] = {}
        self._queues: dict[tuple[str, int], RobotQueue] = {}
        self._tokens: dict[str, TokenCache] = {}
        self.config = config
        self.routes: dict[str, list[Route]] = {}
        self.apply(config)

    # -- configuration -------------------------------------------------------------------------

    def apply(self, config: RelayConfig) -> None:
        """Switch to a new configuration; raises (leaving the old one in place) if it cannot be used."""
        with self._lock:
            routes = {
                name: [self._route(channel, config) for channel in channels]
                for name, channels in config.receivers.items()
            }
            self.config, self.routes = config, routes
        self.metrics.reload_success.set(1)
        self.metrics.reload_timestamp.set(time.time())

    def reload(self) -> None:
        """Read relay.yml again from where it came from; on failure keep the running configuration."""
        source = self.config.source
        if source is None:
            raise ValueError("this relay was not configured from a file")
        try:
            self.apply(load_config(Path(source)))
        except Exception:
            self.metrics.reload_success.set(0)
            raise

    def _route(self, channel: Channel, config: RelayConfig) -> Route:
        receiver = channel.receiver
        sender: Any
        if isinstance(channel, WeComAppChannel):
            key = WeComAppSender.token_key(channel)
            probe = WeComAppSender(channel, tokens=self._tokens.get(key))
            self._tokens.setdefault(key, probe.tokens)
            sender = probe
        elif channel.kind == "dingtalk":
            sender = DingTalkSender(channel)  # type: ignore[arg-type]
        elif channel.kind == "wecom_robot":
            sender = WeComRobotSender(channel)  # type: ignore[arg-type]
        else:
            sender = FeishuSender(channel)  # type: ignore[arg-type]
        errors = self.metrics.template_errors.labels(receiver, channel.kind)
        renderer = MessageRenderer(
            config.language,
            config.links,
            sender.flavour,
            channel.template,
            on_error=lambda error: errors.inc(),
            zone=config.zone,
        )
        instrumented = InstrumentedSender(sender, receiver, self.metrics)
        rate = self.rates.get(channel.kind, sender.rate)
        queue = None
        if rate is not None:
            # A little more than the robot's period: a robot that sees one too many blocks for ten
            # minutes, and clocks (ours, the API's) are not exact.
            period = rate[1] * 1.02
            burst = getattr(sender, "burst", None)
            if burst is not None:
                burst = (burst[0], burst[1] * 1.02)
            window = self._windows.get(sender.robot_id)
            if window is None or (window.limit, window.period, window.burst) != (rate[0], period, burst):
                window = self._windows[sender.robot_id] = SlidingWindow(rate[0], period, self.clock, burst)
            queue = self._queue(channel, window, instrumented, config.language, renderer)
        return Route(channel, renderer, instrumented, queue)

    def _queue(
        self,
        channel: Channel,
        window: SlidingWindow,
        sender: InstrumentedSender,
        language: str,
        renderer: MessageRenderer,
    ) -> RobotQueue:
        key = (channel.receiver, channel.index)
        queue = self._queues.get(key)
        if queue is None:
            depth = self.metrics.queue_depth.labels(channel.receiver, channel.kind)
            waits = self.metrics.rate_limit_waits.labels(channel.receiver, channel.kind)
            queue = RobotQueue(
                f"{channel.kind} robot of receiver {channel.receiver!r}",
                window,
                sender,
                language,
                report=self._reporter(channel),
                retry_delays=self.retry_delays,
                on_depth=depth.set,
                on_wait=waits.inc,
            )
            self._queues[key] = queue
        # Keep what is queued; send it with the new configuration.
        queue.window, queue.sender, queue.language = window, sender, language
        queue.merge = lambda batch: renderer.render(
            merge_notifications([ticket["notification"] for _, ticket in batch])
        )
        return queue

    def _reporter(self, channel: Channel) -> Callable[[Sequence[Any], DeliveryError | None, int], None]:
        def report(tickets: Sequence[Any], error: DeliveryError | None, parts: int) -> None:
            # One record per queued notification, so that each can be found again (notify test).
            for ticket in tickets:
                details = {k: v for k, v in ticket.items() if k != "notification"}
                self._record(
                    channel,
                    "failed" if error else "sent",
                    error=error,
                    parts=parts,
                    **{**details, "status": f"{details['status']} (merged)"},
                )

        return report

    def stop(self) -> None:
        """Stop the queue workers."""
        for queue in self._queues.values():
            queue.stop()

    # -- notifications -------------------------------------------------------------------------

    def notify(self, receiver: str, body: bytes) -> Outcome:
        """Deliver one webhook call to every channel of `receiver`."""
        outcome = self._notify(receiver, body)
        self.metrics.notifications.labels(receiver, str(outcome.code)).inc()
        return outcome

    def _notify(self, receiver: str, body: bytes) -> Outcome:
        try:
            notification = parse_notification(json.loads(body.decode("utf-8")))
        except (ValueError, UnicodeDecodeError, BadPayload) as error:
            log.error("receiver %r: bad request body: %s", receiver, error)
            return Outcome(400, f"bad request body: {error}")
        with self._lock:
            routes = self.routes.get(receiver)
        if routes is None:
            # Alertmanager may have been reloaded before the relay: let it retry.
            log.error(
                "receiver %r is not in relay.yml (not reloaded yet?); asking Alertmanager to retry", receiver
            )
            return Outcome(503, f"unknown receiver {receiver!r}")
        failures: list[DeliveryError] = []
        for route in routes:
            failure = self._deliver(route, notification)
            if failure is not None:
                failures.append(failure)
        detail = "; ".join(failure.message for failure in failures)
        if any(failure.retryable for failure in failures):
            return Outcome(503, detail)
        if failures:
            return Outcome(422, detail)
        return Outcome(200, "ok")

    def _deliver(self, route: Route, notification: Notification) -> DeliveryError | None:
        channel = route.channel
        if not channel.send_resolved:
            notification = notification.without_resolved()
        if not notification.alerts:
            return None
        test_ids = tuple(
            sorted({a.labels[TEST_ID_LABEL] for a in notification.alerts if TEST_ID_LABEL in a.labels})
        )
        details: dict[str, Any] = {
            "alerts": len(notification.alerts),
            "status": notification.status,
            "group_key": notification.group_key,
            "test_ids": test_ids,
        }
        parts = 0
        try:
            message = route.renderer.render(notification)
            if route.queue is not None:
                if not route.queue.submit(message, ticket={**details, "notification": notification}):
                    self._record(channel, "queued", **details)
                    return None
                parts = len(route.sender.bodies(message))
            else:
                bodies = route.sender.bodies(message)
                parts = len(bodies)
                for body in bodies:
                    route.sender.send(body)
        except DeliveryError as error:
            log.error(
                "%s (%s): not delivered (%s): %s", channel.where, channel.kind, error.reason, error.message
            )
            self._record(channel, "failed", error=error, parts=parts, **details)
            return error
        log.info(
            "%s (%s): delivered %d alert(s) in %d message(s)",
            channel.where,
            channel.kind,
            len(notification.alerts),
            parts,
        )
        self._record(channel, "sent", parts=parts, **details)
        return None

    def _record(
        self, channel: Channel, result: str, error: DeliveryError | None = None, **details: Any
    ) -> None:
        self.deliveries.append(
            DeliveryRecord(
                time=time.time(),
                receiver=channel.receiver,
                channel=channel.kind,
                index=channel.index,
                result=result,
                error=error.message if error else "",
                retryable=bool(error and error.retryable),
                **details,
            )
        )

    def history(self, receiver: str | None = None) -> list[dict[str, Any]]:
        """Recent deliveries, newest last, optionally of one receiver."""
        return [
            asdict(record)
            for record in list(self.deliveries)
            if receiver is None or record.receiver == receiver
        ]
