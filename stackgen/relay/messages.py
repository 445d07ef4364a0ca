"""Render a notification into a Message (title, header, one text per alert, footer) with Jinja2.

Templates define the blocks `title`, `header`, `alert` and `footer`; each is rendered on its own so
that a message can be split between alerts. The defaults are `<language>.<md|txt>.j2` beside this
module; a receiver's own template may extend one of them and override any block.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from stackgen.relay.notification import Alert, Notification

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"
FLAVOURS = ("md", "txt")
# Above this many alerts, templates get `compact` and print one line per alert.
COMPACT_AFTER = 10
BLOCKS = ("title", "header", "alert", "footer")


class TemplateProblem(ValueError):
    """A user template cannot be loaded (syntax error, missing file)."""


@dataclass(frozen=True)
class Message:
    """A rendered notification, before it is split into API requests."""

    title: str
    header: str
    alerts: tuple[str, ...]
    footer: str
    status: str  # firing | resolved: channels colour their cards by it


class MessageRenderer:
    """Renders notifications for one channel: its language, links and (optional) own template."""

    def __init__(
        self,
        language: str,
        links: Mapping[str, str],
        flavour: str,
        template: Path | None = None,
        on_error: Callable[[Exception], None] | None = None,
        zone: tzinfo = timezone.utc,
    ) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}")
        self.language = language
        self.zone = zone
        self.links = {"alertmanager": "", "grafana": "", **links}
        self.flavour = flavour
        self.template_path = template
        self.on_error = on_error or (lambda error: None)
        self.default = _environment(None).get_template(f"{language}.{flavour}.j2")
        self.custom = _load_custom(template) if template else None

    def render(self, notification: Notification) -> Message:
        """The message for a notification; a failing user template falls back to the default, loudly."""
        context = template_context(notification, self.language, self.links, self.zone)
        if self.custom is not None:
            try:
                return _render(self.custom, self.default, context, notification.status)
            except Exception as error:
                log.error("template %s failed, using the default template: %s", self.template_path, error)
                self.on_error(error)
                message = _render(self.default, self.default, context, notification.status)
                note = f"(template {self.template_path.name if self.template_path else ''} failed: {error})"
                return Message(
                    message.title,
                    message.header,
                    message.alerts,
                    f"{message.footer}\n{note}".strip(),
                    message.status,
                )
        return _render(self.default, self.default, context, notification.status)


def merge_messages(messages: Sequence[Message], language: str) -> Message:
    """One message standing for several that waited for a robot's rate limit."""
    if len(messages) == 1:
        return messages[0]
    count = len(messages)
    if language == "zh":
        title, header = f"[合并] {count} 条通知", f"### 合并发送 {count} 条通知 (机器人限流)"
    else:
        title = f"[merged] {count} notifications"
        header = f"### {count} notifications merged (robot rate limit)"
    chunks: list[str] = []
    for message in messages:
        # A notification's header stays with its first alert so a split does not orphan it.
        first, rest = (message.alerts[0], message.alerts[1:]) if message.alerts else ("", ())
        chunks.append(f"{message.header}\n\n{first}".strip())
        chunks.extend(rest)
    status = "firing" if any(m.status == "firing" for m in messages) else "resolved"
    return Message(
        title=title, header=header, alerts=tuple(chunks), footer=messages[-1].footer, status=status
    )


def template_context(
    notification: Notification, language: str, links: Mapping[str, str], zone: tzinfo = timezone.utc
) -> dict[str, Any]:
    """The variables a template sees (documented in the default templates); times are shown in `zone`."""
    common = dict(notification.common_labels)
    alerts = [
        _alert_view(alert, index, common, language, zone)
        for index, alert in enumerate(notification.alerts, start=1)
    ]
    return {
        "status": notification.status,
        "receiver": notification.receiver,
        "alertname": _alertname(notification, language),
        "group_labels": dict(notification.group_labels),
        "common_labels": common,
        "shared_labels": {k: v for k, v in common.items() if k != "alertname"},
        "common_annotations": dict(notification.common_annotations),
        "alerts": alerts,
        "compact": len(alerts) > COMPACT_AFTER,
        "firing": [a for a in alerts if a["status"] != "resolved"],
        "resolved": [a for a in alerts if a["status"] == "resolved"],
        "truncated_alerts": notification.truncated_alerts,
        "merged": notification.merged,
        "external_url": notification.external_url,
        "group_key": notification.group_key,
        "links": dict(links),
        "silence_url": _silence_url(links.get("alertmanager", ""), common),
        "language": language,
    }


def _alertname(notification: Notification, language: str) -> str:
    name = notification.group_labels.get("alertname") or notification.common_labels.get("alertname")
    if name:
        return name
    names = sorted({a.labels.get("alertname", "") for a in notification.alerts} - {""})
    if not names:
        return "告警" if language == "zh" else "alert"
    shown = ", ".join(names[:3])
    return shown + ("…" if len(names) > 3 else "")


def _alert_view(
    alert: Alert, index: int, common: Mapping[str, str], language: str, zone: tzinfo
) -> dict[str, Any]:
    return {
        "index": index,
        "status": alert.status,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "own_labels": {k: v for k, v in alert.labels.items() if common.get(k) != v and k != "alertname"},
        "starts_at": format_time(alert.starts_at, zone),
        "ends_at": format_time(alert.ends_at, zone),
        "duration": format_duration(alert.starts_at, alert.ends_at, language),
        "generator_url": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def format_time(moment: datetime | None, zone: tzinfo = timezone.utc) -> str:
    """`2024-05-01 12:00:00 UTC`, or `2024-05-01 20:00:00 UTC+0800` in another zone; empty for no time."""
    if moment is None:
        return ""
    moment = moment.astimezone(zone)
    offset = moment.utcoffset() or timedelta(0)
    shown = "UTC" if not offset else moment.strftime("UTC%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {shown}"


def format_duration(start: datetime | None, end: datetime | None, language: str) -> str:
    """`1h 5m` between two times; empty when either is unknown."""
    if start is None or end is None or end < start:
        return ""
    seconds = int((end - start).total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    units = ("天", "小时", "分", "秒") if language == "zh" else ("d", "h", "m", "s")
    values = (days, hours, minutes, seconds)
    parts = [f"{value}{unit}" for value, unit in zip(values, units, strict=True) if value]
    return " ".join(parts[:2]) or f"0{units[3]}"


def _silence_url(alertmanager: str, labels: Mapping[str, str]) -> str:
    if not alertmanager:
        return ""
    matchers = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{alertmanager}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


_BLANK_LINES = re.compile(r"\n{3,}")


def _render(
    template: jinja2.Template, default: jinja2.Template, context: dict[str, Any], status: str
) -> Message:
    if not template.blocks:
        # A template without blocks is one body: it can only be split between lines.
        body = _tidy(template.render(context))
        return Message(
            title=_block(default, "title", context), header=body, alerts=(), footer="", status=status
        )
    source = {name: (template if name in template.blocks else default) for name in BLOCKS}
    alerts = tuple(
        _block(source["alert"], "alert", {**context, "alert": alert}) for alert in context["alerts"]
    )
    return Message(
        title=_block(source["title"], "title", context).replace("\n", " "),
        header=_block(source["header"], "header", context),
        alerts=tuple(a for a in alerts if a),
        footer=_block(source["footer"], "footer", context),
        status=status,
    )


def _block(template: jinja2.Template, name: str, context: dict[str, Any]) -> str:
    render = template.blocks[name]
    return _tidy("".join(render(template.new_context(context))))


def _tidy(text: str) -> str:
    return _BLANK_LINES.sub("\n\n", text).strip()


def _environment(extra_dir: Path | None) -> jinja2.Environment:
    search: list[str] = [str(extra_dir)] if extra_dir else []
    search.append(str(TEMPLATE_DIR))
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _load_custom(path: Path) -> jinja2.Template:
    try:
        return _environment(path.parent).get_template(path.name)
    except jinja2.TemplateNotFound as error:
        raise TemplateProblem(f"template {path}: not found") from error
    except jinja2.TemplateSyntaxError as error:
        raise TemplateProblem(f"template {path}:{error.lineno}: {error.message}") from error
    except OSError as error:
        raise TemplateProblem(f"template {path}: {error}") from error


def check_templates(paths: Iterable[Path]) -> None:
    """Compile user templates up front, so that a reload with a broken one is refused."""
    for path in paths:
        _load_custom(path)
