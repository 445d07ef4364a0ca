"""`stackgen notify preview`: the exact request bodies a receiver's channels would send."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackgen.errors import InvalidInput


def sample_payload(receiver: str) -> dict[str, Any]:
    """One firing alert, as Alertmanager would send it."""
    return {
        "version": "4",
        "status": "firing",
        "receiver": receiver,
        "groupKey": '{}:{alertname="Example"}',
        "groupLabels": {"alertname": "Example"},
        "commonLabels": {"alertname": "Example", "severity": "warning", "job": "api"},
        "commonAnnotations": {"summary": "示例告警 / example alert"},
        "externalURL": "",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "Example",
                    "severity": "warning",
                    "job": "api",
                    "instance": "api-1:8080",
                },
                "annotations": {
                    "summary": "示例告警 / example alert",
                    "description": "stackgen notify preview",
                },
                "startsAt": "2024-05-01T12:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": "0",
            }
        ],
    }


def preview_requests(
    config_path: Path, receiver: str, payload: Any, path_map: Callable[[Path], Path] | None
) -> list[tuple[str, list[dict[str, Any]]]]:
    """(channel description, request bodies) for each channel of receiver."""
    from stackgen.relay.config import load_config
    from stackgen.relay.dispatch import Relay
    from stackgen.relay.notification import BadPayload, parse_notification

    config = load_config(config_path, read_secrets=False, path_map=path_map)
    if receiver not in config.receivers:
        known = ", ".join(sorted(config.receivers)) or "none"
        raise InvalidInput(f"receiver {receiver!r} is not delivered by the relay (relay receivers: {known})")
    if payload is None:
        payload = sample_payload(receiver)
    elif isinstance(payload, list):
        payload = {
            **sample_payload(receiver),
            "alerts": payload,
            "commonLabels": {},
            "groupLabels": {},
            "commonAnnotations": {},
        }
    try:
        notification = parse_notification(payload)
    except BadPayload as error:
        raise InvalidInput(f"--alerts: {error}") from error
    relay = Relay(config)
    try:
        results = []
        for route in relay.routes[receiver]:
            shown = notification if route.channel.send_resolved else notification.without_resolved()
            bodies = route.sender.bodies(route.renderer.render(shown)) if shown.alerts else []
            results.append((f"{route.channel.where} {route.channel.kind}", bodies))
        return results
    finally:
        relay.stop()
