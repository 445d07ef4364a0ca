"""The JSON Schema of stack.yaml: the one source of keys, defaults and descriptions."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def schema() -> dict[str, Any]:
    """The schema as shipped in the package."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def schema_text() -> str:
    """The schema file's text, for `stackgen schema`."""
    # beside this module (importlib.resources would cost every command ~5 ms of imports)
    return (Path(__file__).parent / "schema.json").read_text(encoding="utf-8")


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref`, merging the referring node's own keys (description, default) on top."""
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = schema()
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    merged = dict(resolve(target))
    merged.update({key: value for key, value in node.items() if key != "$ref"})
    return merged


def node_at(*path: str) -> dict[str, Any]:
    """The (resolved) schema node for a path of property names, e.g. node_at('prometheus', 'port')."""
    node = schema()
    for part in path:
        node = resolve(node)
        if part == "[]":
            node = node["items"]
        else:
            # `true, or the settings` (anyOf boolean | object): the settings' branch has the keys.
            objects = [resolve(branch) for branch in node.get("anyOf", []) if "properties" in resolve(branch)]
            keyed = node if "properties" in node or not objects else objects[0]
            node = keyed.get("properties", {}).get(part) or {}
    return resolve(node)


def default(*path: str) -> Any:
    """The schema's default for a key path; raises KeyError if the schema gives none."""
    node = node_at(*path)
    if "default" not in node:
        raise KeyError(".".join(path))
    value = node["default"]
    return json.loads(json.dumps(value))  # a fresh copy: defaults are never shared mutable state


def property_names(node: dict[str, Any]) -> list[str]:
    """Keys a (resolved) object node allows by name."""
    return list(resolve(node).get("properties", {}))


def types_at(path: tuple[str | int, ...]) -> set[str]:
    """The JSON types the schema allows for the value at a data path (empty if it says nothing)."""
    nodes: list[dict[str, Any]] = [schema()]
    for part in path:
        following: list[dict[str, Any]] = []
        for node in _branches(nodes):
            if isinstance(part, int):
                if isinstance(node.get("items"), dict):
                    following.append(node["items"])
            elif part in node.get("properties", {}):
                following.append(node["properties"][part])
            elif isinstance(node.get("additionalProperties"), dict):
                following.append(node["additionalProperties"])
        nodes = following
    found: set[str] = set()
    for node in _branches(nodes):
        kind = node.get("type")
        found.update(kind if isinstance(kind, list) else [kind] if kind else [])
        if "const" in node or "enum" in node:
            values = [node["const"]] if "const" in node else node["enum"]
            found.update(
                "integer"
                if isinstance(v, int) and not isinstance(v, bool)
                else "boolean"
                if isinstance(v, bool)
                else "string"
                for v in values
            )
    return found


def _branches(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    expanded = []
    for node in nodes:
        node = resolve(node)
        alternatives = node.get("anyOf") or node.get("oneOf")
        expanded.extend(_branches(alternatives) if alternatives else [node])
    return expanded
