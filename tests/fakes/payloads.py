"""Alertmanager-shaped webhook payloads (version 4) for tests and benchmarks."""

from __future__ import annotations

from typing import Any


def alert(
    name: str = "HighErrorRate", status: str = "firing", summary: str = "支付服务错误率过高", **labels: str
) -> dict[str, Any]:
    """One alert as Alertmanager sends it."""
    all_labels = {"alertname": name, "severity": "critical", **labels}
    resolved = status == "resolved"
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": summary, "description": f"error ratio is 7% on {labels}"},
        "startsAt": "2024-05-01T12:00:00.123456789Z",
        "endsAt": "2024-05-01T12:30:00Z" if resolved else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": f"{abs(hash(tuple(sorted(all_labels.items())))):016x}"[:16],
    }


def notification(receiver: str, alerts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A webhook body grouping `alerts` (group and common labels computed as Alertmanager does)."""
    common = dict(alerts[0]["labels"]) if alerts else {}
    for item in alerts[1:]:
        common = {k: v for k, v in common.items() if item["labels"].get(k) == v}
    firing = any(a["status"] == "firing" for a in alerts)
    body = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{common.get("alertname", "")}"}}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {"alertname": common["alertname"]} if "alertname" in common else {},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }
    body.update(extra)
    return body


def big_group(receiver: str, count: int = 300, name: str = "InstanceDown") -> dict[str, Any]:
    """`count` firing alerts in one group, each with Chinese text."""
    return notification(
        receiver,
        [
            alert(
                name,
                instance=f"node-{index:03d}.internal:9100",
                job="node",
                summary=f"节点 node-{index:03d} 无法访问，请检查网络与电源",
            )
            for index in range(count)
        ],
    )
