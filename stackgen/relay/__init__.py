"""The notification relay: Alertmanager webhooks in, DingTalk / WeCom / Feishu messages out.

It runs inside the generated stack from a minimal image (`python3 -m stackgen.relay --config ...`)
and needs only the standard library, jinja2 and prometheus_client (plus ruamel.yaml when relay.yml
is block-style YAML rather than JSON). Nothing here may import docker or click.
"""
