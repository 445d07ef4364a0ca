"""`stackgen notify test`: a marked test alert per receiver through the running Alertmanager, and
for each a verdict taken from the relay's delivery records or Alertmanager's own counters."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from stackgen.alerting.alertmanager_api import AlertmanagerAPI, rfc3339
from stackgen.relay.notification import TEST_ID_LABEL, TEST_ROUTE_LABEL
from stackgen.runtime.web_access import WebAccess

TEST_ALERTNAME = "StackgenNotifyTest"
SUMMARY = "stackgen 测试通知，无需处理 / stackgen test notification, no action needed"
# Alertmanager integrations by the receiver keys of alertmanager.yml.
INTEGRATIONS = {
    "email_configs": "email",
    "webhook_configs": "webhook",
    "wechat_configs": "wechat",
    "slack_configs": "slack",
    "pagerduty_configs": "pagerduty",
}


@dataclass(frozen=True)
class Verdict:
    """Whether a receiver got its test notification, and why not."""

    receiver: str
    delivered: bool
    detail: str


@dataclass(frozen=True)
class Target:
    """A receiver to test and how to find out whether it was delivered."""

    name: str
    via_relay: bool
    integrations: tuple[str, ...]


def targets_from_config(
    alertmanager_config: Mapping[str, Any], relay_receivers: Iterable[str], wanted: Iterable[str]
) -> list[Target]:
    """The receivers to test (all but the null one when none are named), from alertmanager.yml."""
    relay = set(relay_receivers)
    configured = {str(r["name"]): r for r in alertmanager_config.get("receivers") or []}
    names = list(wanted) or [name for name, config in configured.items() if len(config) > 1 or name in relay]
    return [
        Target(
            name,
            name in relay,
            tuple(
                sorted(
                    {
                        INTEGRATIONS.get(key, key)
                        for key in configured.get(name, {})
                        if key.endswith("_configs")
                    }
                )
            ),
        )
        for name in names
    ]


def run_notify_test(
    am: AlertmanagerAPI,
    relay_url: str | None,
    targets: list[Target],
    timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Verdict]:
    """Send one test alert per target and wait (up to timeout) for each verdict (the relay is read
    with Alertmanager's access: one stack, one CA and user)."""
    known = set(am.receivers())
    verdicts: dict[str, Verdict] = {}
    for target in targets:
        if target.name not in known:
            verdicts[target.name] = Verdict(target.name, False, "not a receiver of the running Alertmanager")
    live = [t for t in targets if t.name not in verdicts]
    run_id = uuid.uuid4().hex[:12]
    before = _integration_counts(am) if any(not t.via_relay for t in live) else {}
    now = datetime.now(timezone.utc)
    am.post_alerts(
        [
            {
                "labels": {
                    "alertname": TEST_ALERTNAME,
                    TEST_ROUTE_LABEL: t.name,
                    TEST_ID_LABEL: run_id,
                    "severity": "info",
                },
                "annotations": {"summary": SUMMARY, "description": f"stackgen notify test {run_id}"},
                "startsAt": rfc3339(now),
                "endsAt": rfc3339(now + timedelta(minutes=5)),
            }
            for t in live
        ]
    )
    deadline = clock() + timeout
    pending = {t.name: t for t in live}
    routing_checked = False
    last_error: dict[str, str] = {}
    while pending:
        if not routing_checked:
            routing_checked = _check_routing(am, run_id, pending, verdicts)
        for name, target in list(pending.items()):
            verdict = (
                _relay_verdict(relay_url, target, run_id, last_error, am.access)
                if target.via_relay and relay_url
                else _alertmanager_verdict(am, target, before)
            )
            if verdict is not None:
                verdicts[name] = verdict
                del pending[name]
        if not pending or clock() >= deadline:
            break
        sleep(0.5)
    for name in pending:
        reason = last_error.get(name) or "no delivery recorded"
        verdicts[name] = Verdict(name, False, f"{reason} (waited {timeout:.0f}s)")
    return [verdicts[t.name] for t in targets]


def _check_routing(
    am: AlertmanagerAPI, run_id: str, pending: dict[str, Target], verdicts: dict[str, Verdict]
) -> bool:
    alerts = am.alerts([f'{TEST_ID_LABEL}="{run_id}"'])
    if not alerts:
        return False  # not ingested yet: look again next round
    for alert in alerts:
        name = alert.get("labels", {}).get(TEST_ROUTE_LABEL)
        routed = sorted(str(r.get("name")) for r in alert.get("receivers") or [])
        if name in pending and name not in routed:
            verdicts[name] = Verdict(
                name,
                False,
                f"Alertmanager routes the test alert to {', '.join(routed)}, not to this "
                "receiver: its alertmanager.yml has no notify-test route (apply with this stackgen)",
            )
            del pending[name]
    return True


def _relay_verdict(
    relay_url: str, target: Target, run_id: str, last_error: dict[str, str], access: WebAccess
) -> Verdict | None:
    url = f"{relay_url.rstrip('/')}/api/v1/deliveries?receiver={quote(target.name, safe='')}"
    try:
        with access.urlopen(url, 10) as response:
            records = json.loads(response.read().decode("utf-8")).get("deliveries", [])
    except (urllib.error.URLError, OSError, ValueError) as error:
        last_error[target.name] = f"cannot read the relay's records at {relay_url}: {error}"
        return None
    mine = [r for r in records if run_id in r.get("test_ids", [])]
    if any(r["result"] == "sent" for r in mine):
        channels = sorted({r["channel"] for r in mine if r["result"] == "sent"})
        failed = [r for r in mine if r["result"] == "failed"]
        if failed and len({r["channel"] for r in failed} - set(channels)):
            detail = f"delivered by {', '.join(channels)}; failed: {failed[-1]['error']}"
            return Verdict(target.name, False, detail)
        return Verdict(target.name, True, f"delivered ({', '.join(channels)})")
    for record in mine:
        if record["result"] == "failed":
            last_error[target.name] = record["error"]
            if not record.get("retryable"):
                return Verdict(target.name, False, record["error"])
    if any(r["result"] == "queued" for r in mine):
        last_error[target.name] = "queued behind the robot's rate limit"
    return None


_SAMPLE = re.compile(r"^(alertmanager_notifications(?:_failed)?_total)\{([^}]*)\}\s+([0-9.eE+-]+)", re.M)


def _integration_counts(am: AlertmanagerAPI) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = {}
    for name, labels, value in _SAMPLE.findall(am.metrics()):
        found = re.search(r'integration="([^"]*)"', labels)
        if found:
            key = (name, found.group(1))
            counts[key] = counts.get(key, 0.0) + float(value)
    return counts


def _alertmanager_verdict(
    am: AlertmanagerAPI, target: Target, before: dict[tuple[str, str], float]
) -> Verdict | None:
    # Alertmanager counts per integration, not per receiver: good enough for one test run.
    now = _integration_counts(am)
    for integration in target.integrations:
        sent = now.get(("alertmanager_notifications_total", integration), 0.0) - before.get(
            ("alertmanager_notifications_total", integration), 0.0
        )
        failed = now.get(("alertmanager_notifications_failed_total", integration), 0.0) - before.get(
            ("alertmanager_notifications_failed_total", integration), 0.0
        )
        if failed > 0:
            return Verdict(
                target.name,
                False,
                f"Alertmanager's {integration} notification failed (the "
                "reason is in the log of the alertmanager container)",
            )
        if sent > 0:
            return Verdict(target.name, True, f"delivered by Alertmanager ({integration})")
    return None
