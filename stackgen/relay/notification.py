"""Alertmanager's webhook payload (version 4) as plain values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# Labels of the alerts `stackgen notify test` sends: the route label picks the receiver (a route per
# receiver in alertmanager.yml), the id lets the relay's records be matched to one run.
TEST_ROUTE_LABEL = "stackgen_notify_test"
TEST_ID_LABEL = "stackgen_test_id"


class BadPayload(ValueError):
    """The request body is not an Alertmanager webhook notification."""


@dataclass(frozen=True)
class Alert:
    """One alert of a notification."""

    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str
    fingerprint: str


@dataclass(frozen=True)
class Notification:
    """One webhook call: a group of alerts for one receiver."""

    receiver: str
    status: str
    alerts: tuple[Alert, ...]
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    external_url: str
    group_key: str
    truncated_alerts: int
    merged: int = 1  # how many notifications this one stands for (robot rate limits)

    def without_resolved(self) -> Notification:
        """The same notification with its resolved alerts left out (for send_resolved: false)."""
        firing = tuple(alert for alert in self.alerts if alert.status != "resolved")
        return Notification(
            receiver=self.receiver,
            status="firing" if firing else "resolved",
            alerts=firing,
            group_labels=self.group_labels,
            common_labels=self.common_labels,
            common_annotations=self.common_annotations,
            external_url=self.external_url,
            group_key=self.group_key,
            truncated_alerts=self.truncated_alerts,
            merged=self.merged,
        )


def parse_notification(data: Any) -> Notification:
    """Check and convert a decoded webhook body; raises BadPayload saying what is wrong."""
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise BadPayload("body has no 'alerts' list (is this Alertmanager's webhook, version 4?)")
    return Notification(
        receiver=str(data.get("receiver", "")),
        status=str(data.get("status", "firing")),
        alerts=tuple(_parse_alert(alert, index) for index, alert in enumerate(alerts)),
        group_labels=_labels(data.get("groupLabels"), "groupLabels"),
        common_labels=_labels(data.get("commonLabels"), "commonLabels"),
        common_annotations=_labels(data.get("commonAnnotations"), "commonAnnotations"),
        external_url=str(data.get("externalURL", "")),
        group_key=str(data.get("groupKey", "")),
        truncated_alerts=int(data.get("truncatedAlerts") or 0),
    )


def _parse_alert(data: Any, index: int) -> Alert:
    if not isinstance(data, dict):
        raise BadPayload(f"alerts[{index}] must be an object")
    return Alert(
        status=str(data.get("status", "firing")),
        labels=_labels(data.get("labels"), f"alerts[{index}].labels"),
        annotations=_labels(data.get("annotations"), f"alerts[{index}].annotations"),
        starts_at=parse_time(data.get("startsAt")),
        ends_at=parse_time(data.get("endsAt")),
        generator_url=str(data.get("generatorURL") or ""),
        fingerprint=str(data.get("fingerprint") or ""),
    )


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{where} must be an object")
    return {str(k): str(v) for k, v in value.items()}


_FRACTION = re.compile(r"(\.\d+)")


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 as Alertmanager writes it (nanoseconds, Z); None for Go's zero time or junk."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Go writes up to nine fraction digits; datetime (3.10) takes exactly three or six.
    text = _FRACTION.sub(lambda m: "." + (m.group(1)[1:] + "000000")[:6], text, count=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment.year <= 1:
        return None
    return moment


def merge_notifications(notifications: list[Notification]) -> Notification:
    """One notification holding the alerts of several (latest state of each alert wins)."""
    if len(notifications) == 1:
        return notifications[0]
    alerts: dict[tuple[tuple[str, str], ...], Alert] = {}
    for notification in notifications:
        for alert in notification.alerts:
            alerts[tuple(sorted(alert.labels.items()))] = alert
    merged = tuple(alerts.values())
    return Notification(
        receiver=notifications[-1].receiver,
        status="firing" if any(a.status != "resolved" for a in merged) else "resolved",
        alerts=merged,
        group_labels={},
        common_labels=_common([dict(a.labels) for a in merged]),
        common_annotations=_common([dict(a.annotations) for a in merged]),
        external_url=notifications[-1].external_url,
        group_key="merged",
        truncated_alerts=sum(n.truncated_alerts for n in notifications),
        merged=sum(n.merged for n in notifications),
    )


def _common(mappings: list[dict[str, str]]) -> dict[str, str]:
    if not mappings:
        return {}
    common = dict(mappings[0])
    for mapping in mappings[1:]:
        common = {k: v for k, v in common.items() if mapping.get(k) == v}
    return common
