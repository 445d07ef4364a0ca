"""relay/relay.yml: what the notification relay delivers where; its secrets are files it reads."""

from __future__ import annotations

from typing import Any

from stackgen.model import Stack
from stackgen.output import RenderedFile
from stackgen.render.dump import yaml_bytes
from stackgen.render.secrets import SecretFiles
from stackgen.render.topology import INTERNAL_PORTS, SECRETS_MOUNT, public_url, slug

RELAY_CONFIG_DIR = "/etc/stackgen-relay"
# Per channel: which settings are secrets (stored as files, passed as <key>_file) and which pass as is.
SECRET_KEYS = {
    "dingtalk": ("url", "secret"),
    "wecom_robot": ("key",),
    "wecom": ("secret",),
    "feishu": ("url", "secret"),
}


def render_relay(stack: Stack) -> dict[str, RenderedFile]:
    """relay/relay.yml, the receivers' message templates, and the relay's secrets."""
    if not stack.needs_relay:
        return {}
    secrets = SecretFiles("relay")
    files: dict[str, RenderedFile] = {}
    receivers: dict[str, list[dict[str, Any]]] = {}
    for receiver in stack.receivers:
        channels = []
        for index, channel in enumerate(c for c in receiver.channels if c.via_relay):
            entry: dict[str, Any] = {"channel": channel.kind}
            for key, value in channel.settings.items():
                if key in SECRET_KEYS[channel.kind]:
                    entry[f"{key}_file"] = secrets.put(
                        f"{receiver.name}.{channel.kind}-{index}.{key}", str(value)
                    )
                elif key == "template":
                    name = f"templates/{slug(receiver.name)}-{channel.kind}-{index}.j2"
                    files[f"relay/{name}"] = RenderedFile(stack.read(value))
                    entry["template"] = f"{RELAY_CONFIG_DIR}/{name}"
                else:
                    entry[key] = value
            channels.append(entry)
        if channels:
            receivers[receiver.name] = channels
    config: dict[str, Any] = {
        "listen": f":{INTERNAL_PORTS['relay']}",
        "language": stack.language,
        "timezone": stack.relay_timezone,
        "links": links(stack),
        "receivers": receivers,
    }
    if stack.web.enabled:
        from stackgen.render.web import WEB_CONFIG

        config["web_config_file"] = f"{SECRETS_MOUNT}/{WEB_CONFIG}"
    files["relay/relay.yml"] = RenderedFile(yaml_bytes(config))
    files.update(secrets.files)
    return files


def links(stack: Stack) -> dict[str, str]:
    """Where people open Alertmanager and Grafana from a message."""
    found = {"alertmanager": stack.alertmanager.external_url or public_url(stack, stack.alertmanager.port)}
    if stack.grafana.enabled:
        found["grafana"] = stack.grafana.root_url or public_url(stack, stack.grafana.port)
    return found
