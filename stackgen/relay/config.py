"""Load relay.yml (format in ARCHITECTURE.md) into frozen values; secrets come only from *_file paths.

The relay runs from a minimal image, so this module needs nothing but the standard library when
relay.yml is JSON (a subset of YAML); block-style YAML is read with ruamel.yaml, which is pure
Python and copied into the relay image with stackgen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from pathlib import Path
from typing import Any

from stackgen.errors import RelayConfigError

CHANNELS = ("dingtalk", "wecom_robot", "wecom", "feishu")
LANGUAGES = ("zh", "en")
DEFAULT_WECOM_API = "https://qyapi.weixin.qq.com"


class Secret:
    """A value read from a secret file; its repr never shows it, so logging it by mistake is harmless."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only for building a request."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Common:
    """What every channel of a receiver has."""

    receiver: str
    index: int  # position in the receiver's list, for log lines and metrics
    template: Path | None
    send_resolved: bool
    api_url: str | None

    @property
    def where(self) -> str:
        """`receivers.<name>[<index>]`, for messages."""
        return f"receivers.{self.receiver}[{self.index}]"


@dataclass(frozen=True)
class DingTalkChannel(Common):
    """A DingTalk custom robot (钉钉自定义机器人)."""

    url: Secret
    secret: Secret | None
    mention_all: bool
    mobiles: tuple[str, ...]
    keywords: tuple[str, ...]
    kind: str = "dingtalk"


@dataclass(frozen=True)
class WeComRobotChannel(Common):
    """A WeCom group robot (企业微信群机器人)."""

    key: Secret
    mentioned_list: tuple[str, ...]
    mentioned_mobile_list: tuple[str, ...]
    msgtype: str  # markdown | text
    kind: str = "wecom_robot"


@dataclass(frozen=True)
class WeComAppChannel(Common):
    """A WeCom application (企业微信应用消息)."""

    corp_id: str
    agent_id: str
    secret: Secret
    to_user: str
    to_party: str
    to_tag: str
    msgtype: str  # markdown | text
    kind: str = "wecom"


@dataclass(frozen=True)
class FeishuChannel(Common):
    """A Feishu/Lark custom bot (飞书自定义机器人)."""

    url: Secret
    secret: Secret | None
    kind: str = "feishu"


Channel = DingTalkChannel | WeComRobotChannel | WeComAppChannel | FeishuChannel


@dataclass(frozen=True)
class RelayConfig:
    """The whole relay.yml."""

    host: str
    port: int
    language: str
    links: Mapping[str, str]
    receivers: Mapping[str, tuple[Channel, ...]]
    source: Path | None = field(default=None, compare=False)
    timezone: str = "UTC"  # IANA name; message times are shown in it
    web_config_file: Path | None = None  # exporter-toolkit web config: HTTPS and basic auth

    @property
    def zone(self) -> tzinfo:
        """The time zone of message times."""
        return load_zone(self.timezone)


PathMap = Callable[[Path], Path]


def load_config(path: Path, read_secrets: bool = True, path_map: PathMap | None = None) -> RelayConfig:
    """Read and check relay.yml; raises RelayConfigError naming the key at fault.

    `read_secrets=False` leaves secrets unread (previews need none); `path_map` turns the paths the
    container sees into paths on this host.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RelayConfigError(f"{path}: cannot read: {error.strerror or error}") from error
    data = parse_document(text, str(path))
    return build_config(data, base_dir=path.parent, source=path, read_secrets=read_secrets, path_map=path_map)


def parse_document(text: str, name: str) -> Any:
    """JSON when it is JSON (no library needed), otherwise YAML through ruamel.yaml (safe, pure)."""
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        pass
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError
    except ImportError as error:
        raise RelayConfigError(f"{name}: not JSON, and ruamel.yaml is not installed to read YAML") from error
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        raise RelayConfigError(f"{name}: not valid YAML: {error}") from error


_COMMON_KEYS = {"channel", "template", "send_resolved", "api_url"}
_CHANNEL_KEYS = {
    "dingtalk": {"url_file", "secret_file", "mention_all", "mobiles", "keywords"},
    "wecom_robot": {"key_file", "mentioned_list", "mentioned_mobile_list", "msgtype"},
    "wecom": {"corp_id", "agent_id", "secret_file", "to_user", "to_party", "to_tag", "msgtype"},
    "feishu": {"url_file", "secret_file"},
}
_TOP_KEYS = {"listen", "language", "timezone", "links", "receivers", "web_config_file"}


def build_config(
    data: Any,
    base_dir: Path,
    source: Path | None = None,
    read_secrets: bool = True,
    path_map: PathMap | None = None,
) -> RelayConfig:
    """Check parsed relay.yml data and read the secret files it names."""
    reader = _Reader(base_dir, read_secrets, path_map)
    if data is None:
        data = {}
    top = reader.mapping(data, "relay.yml")
    reader.known_keys(top, _TOP_KEYS, "")
    host, port = _parse_listen(str(top.get("listen", ":9095")))
    language = str(top.get("language", "zh"))
    if language not in LANGUAGES:
        raise RelayConfigError(f"language: must be one of {', '.join(LANGUAGES)}, not {language!r}")
    zone_name = str(top.get("timezone", "UTC"))
    try:
        load_zone(zone_name)
    except ValueError as error:
        raise RelayConfigError(f"timezone: {error}") from error
    links = {str(k): str(v).rstrip("/") for k, v in reader.mapping(top.get("links") or {}, "links").items()}
    receivers: dict[str, tuple[Channel, ...]] = {}
    for name, entries in reader.mapping(top.get("receivers") or {}, "receivers").items():
        if not isinstance(entries, list):
            raise RelayConfigError(f"receivers.{name}: must be a list of channels")
        receivers[str(name)] = tuple(
            reader.channel(str(name), index, entry) for index, entry in enumerate(entries)
        )
    web_config = top.get("web_config_file")
    return RelayConfig(
        host=host,
        port=port,
        language=language,
        links=links,
        receivers=receivers,
        source=source,
        timezone=zone_name,
        web_config_file=base_dir / str(web_config) if web_config else None,
    )


def load_zone(name: str) -> tzinfo:
    """An IANA time zone (tzdata backs it where the system has no zoneinfo); ValueError if unknown."""
    if name == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from error


def _parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise RelayConfigError(f"listen: expected HOST:PORT or :PORT, not {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class _Reader:
    """Type checks with the path of the value in every message."""

    def __init__(self, base_dir: Path, read_secrets: bool = True, path_map: PathMap | None = None) -> None:
        self.base_dir = base_dir
        self.read_secrets = read_secrets
        self.path_map = path_map

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise RelayConfigError(f"{where}: must be a mapping")
        return value

    def known_keys(self, value: dict[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            prefix = f"{where}: " if where else ""
            raise RelayConfigError(
                f"{prefix}unknown key {unknown[0]!r} (expected one of {', '.join(sorted(allowed))})"
            )

    def channel(self, receiver: str, index: int, entry: Any) -> Channel:
        where = f"receivers.{receiver}[{index}]"
        entry = self.mapping(entry, where)
        kind = entry.get("channel")
        if kind not in CHANNELS:
            raise RelayConfigError(f"{where}.channel: must be one of {', '.join(CHANNELS)}, not {kind!r}")
        self.known_keys(entry, _COMMON_KEYS | _CHANNEL_KEYS[kind], where)
        template = entry.get("template")
        common: dict[str, Any] = {
            "receiver": receiver,
            "index": index,
            "template": self.path(template) if template else None,
            "send_resolved": self.boolean(entry.get("send_resolved", True), f"{where}.send_resolved"),
            "api_url": str(entry["api_url"]).rstrip("/") if entry.get("api_url") else None,
        }
        if kind == "dingtalk":
            return DingTalkChannel(
                **common,
                url=self.secret(entry, "url_file", where),
                secret=self.optional_secret(entry, "secret_file", where),
                mention_all=self.boolean(entry.get("mention_all", False), f"{where}.mention_all"),
                mobiles=self.strings(entry.get("mobiles"), f"{where}.mobiles"),
                keywords=self.strings(entry.get("keywords"), f"{where}.keywords"),
            )
        if kind == "wecom_robot":
            return WeComRobotChannel(
                **common,
                key=self.secret(entry, "key_file", where),
                mentioned_list=self.strings(entry.get("mentioned_list"), f"{where}.mentioned_list"),
                mentioned_mobile_list=self.strings(
                    entry.get("mentioned_mobile_list"), f"{where}.mentioned_mobile_list"
                ),
                msgtype=self.msgtype(entry, where),
            )
        if kind == "wecom":
            for required in ("corp_id", "agent_id"):
                if not entry.get(required):
                    raise RelayConfigError(f"{where}.{required}: required for channel wecom")
            if not any(entry.get(k) for k in ("to_user", "to_party", "to_tag")):
                raise RelayConfigError(f"{where}: channel wecom needs one of to_user, to_party, to_tag")
            return WeComAppChannel(
                **common,
                corp_id=str(entry["corp_id"]),
                agent_id=str(entry["agent_id"]),
                secret=self.secret(entry, "secret_file", where),
                to_user=str(entry.get("to_user") or ""),
                to_party=str(entry.get("to_party") or ""),
                to_tag=str(entry.get("to_tag") or ""),
                msgtype=self.msgtype(entry, where),
            )
        return FeishuChannel(
            **common,
            url=self.secret(entry, "url_file", where),
            secret=self.optional_secret(entry, "secret_file", where),
        )

    def path(self, value: Any) -> Path:
        path = Path(str(value))
        if path.is_absolute():
            return self.path_map(path) if self.path_map else path
        return self.base_dir / path

    def secret(self, entry: dict[str, Any], key: str, where: str) -> Secret:
        if not entry.get(key):
            raise RelayConfigError(f"{where}.{key}: required for channel {entry['channel']}")
        return self._read_secret(entry[key], f"{where}.{key}")

    def optional_secret(self, entry: dict[str, Any], key: str, where: str) -> Secret | None:
        return self._read_secret(entry[key], f"{where}.{key}") if entry.get(key) else None

    def _read_secret(self, value: Any, where: str) -> Secret:
        if not self.read_secrets:
            return Secret(f"<{where}>")
        path = self.path(value)
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            # The path is not secret; the content is, and is never put in a message.
            raise RelayConfigError(f"{where}: cannot read {path}: {error.strerror or error}") from error
        if not text:
            raise RelayConfigError(f"{where}: {path} is empty")
        return Secret(text)

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise RelayConfigError(f"{where}: must be true or false")
        return value

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise RelayConfigError(f"{where}: must be a list")
        return tuple(str(item) for item in value)

    def msgtype(self, entry: dict[str, Any], where: str) -> str:
        value = str(entry.get("msgtype", "markdown"))
        if value not in ("markdown", "text"):
            raise RelayConfigError(f"{where}.msgtype: must be markdown or text, not {value!r}")
        return value
