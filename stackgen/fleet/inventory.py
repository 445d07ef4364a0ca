"""Ansible inventories (INI and YAML) read into hosts and groups, with the line of everything.

stackgen reads inventories itself rather than through ansible-core's InventoryManager: `validate` must
work without the `fleet` extra installed (a CI job that only checks specs), it must point at the line
of a bad entry (Ansible's parser keeps no positions), and loading ansible-core's inventory plugins
costs ~0.6 s per run. What is read is the part of the format a fleet needs: groups, `:children`,
`:vars`, host vars (ansible_host, ansible_port, ansible_user, any other kept as a var) and numeric
host ranges (`web[01:03]`); anything else Ansible accepts is reported, not guessed at. The rendered
inventory is YAML that ansible-core itself reads (tests check both agree).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"\[(\d+):(\d+)\]")
_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IMPLICIT_GROUPS = ("all", "ungrouped")


@dataclass(frozen=True)
class InventoryProblem:
    """Something in the inventory file stackgen cannot use, at a 1-based line and column."""

    line: int
    column: int
    message: str


@dataclass
class InventoryHost:
    """A host as the inventory names it: its vars and the groups it is directly in, in file order."""

    name: str
    line: int
    column: int
    vars: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)


@dataclass
class Inventory:
    """Hosts (file order), groups with their children, group vars, and what could not be read."""

    hosts: dict[str, InventoryHost] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    defined: dict[str, int] = field(default_factory=dict)  # group -> line that defines it
    referenced: list[tuple[str, int, int]] = field(default_factory=list)  # child group, line, column
    vars_at: dict[str, int] = field(default_factory=dict)  # group -> line of its [group:vars] header
    problems: list[InventoryProblem] = field(default_factory=list)

    def add_host(
        self, name: str, line: int, column: int, group: str | None, host_vars: Mapping[str, Any]
    ) -> None:
        host = self.hosts.setdefault(name, InventoryHost(name, line, column))
        host.vars.update(host_vars)
        if group and group not in IMPLICIT_GROUPS and group not in host.groups:
            host.groups.append(group)

    def ancestors(self, group: str) -> list[str]:
        """The groups that contain `group` through `children`, nearest first."""
        found: list[str] = []
        queue = [group]
        while queue:
            current = queue.pop(0)
            for parent, kids in self.children.items():
                if current in kids and parent not in found and parent != group:
                    found.append(parent)
                    queue.append(parent)
        return found

    def all_groups_of(self, host: InventoryHost) -> list[str]:
        """Direct groups first, then their ancestors (no duplicates, no `all`)."""
        result: list[str] = []
        for group in host.groups:
            for name in [group, *self.ancestors(group)]:
                if name not in result and name not in IMPLICIT_GROUPS:
                    result.append(name)
        return result

    def vars_of(self, host: InventoryHost) -> dict[str, Any]:
        """Group vars (farthest ancestor first, `all` first of all) overlaid by the host's own."""
        merged: dict[str, Any] = dict(self.group_vars.get("all", {}))
        for group in reversed(self.all_groups_of(host)):
            merged.update(self.group_vars.get(group, {}))
        merged.update(host.vars)
        return merged

    def undefined_children(self) -> Iterator[tuple[str, int, int]]:
        """Child groups named under `:children` that no section defines (Ansible would make them empty)."""
        for name, line, column in self.referenced:
            if name not in self.defined and name not in IMPLICIT_GROUPS:
                yield name, line, column


def read_inventory(path: Path) -> Inventory:
    """Read an INI or YAML inventory; problems are in the result, never raised."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        inventory = Inventory()
        inventory.problems.append(InventoryProblem(1, 1, f"cannot read the inventory: {error}"))
        return inventory
    if path.suffix in (".yml", ".yaml") or _looks_like_yaml(text):
        return parse_yaml_inventory(text)
    return parse_ini_inventory(text)


def _looks_like_yaml(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            return stripped.startswith("---") or (stripped.endswith(":") and not stripped.startswith("["))
    return False


def expand_range(name: str) -> list[str]:
    """`web[01:03]` -> web01, web02, web03 (Ansible's numeric ranges; leading zeros kept)."""
    match = _RANGE.search(name)
    if not match:
        return [name]
    start, end = match.group(1), match.group(2)
    width = len(start) if start.startswith("0") else 0
    head, tail = name[: match.start()], name[match.end() :]
    return [
        n for i in range(int(start), int(end) + 1) for n in expand_range(f"{head}{str(i).zfill(width)}{tail}")
    ]


def parse_ini_inventory(text: str) -> Inventory:
    """Ansible's INI inventory format."""
    inventory = Inventory()
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        column = len(raw) - len(raw.lstrip()) + 1
        if line.startswith("["):
            if line.endswith("]"):
                group, kind = _ini_section(inventory, line, number, column)
            else:
                inventory.problems.append(
                    InventoryProblem(number, column, f"unclosed section header {line!r}")
                )
            continue
        if kind == "skip":
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as error:
            inventory.problems.append(InventoryProblem(number, column, f"cannot split the line: {error}"))
            continue
        if not words:
            continue
        if kind == "vars":
            _ini_group_var(inventory, group, line, number, column)
        elif kind == "children":
            inventory.children.setdefault(group, []).append(words[0])
            inventory.referenced.append((words[0], number, column))
        else:
            _ini_hosts(inventory, group, line, words, number, column)
    return inventory


def _ini_section(inventory: Inventory, line: str, number: int, column: int) -> tuple[str, str]:
    """The group and kind (hosts, children, vars; skip for an unknown kind) a `[group:kind]` header opens."""
    group, _, kind = line[1:-1].partition(":")
    kind = kind or "hosts"
    if kind not in ("hosts", "children", "vars"):
        inventory.problems.append(InventoryProblem(number, column, f"unknown section kind ':{kind}'"))
        kind = "skip"
    elif not _GROUP_NAME.match(group):
        inventory.problems.append(InventoryProblem(number, column + 1, f"invalid group name {group!r}"))
    if kind == "vars":
        inventory.vars_at.setdefault(group, number)
    if kind in ("hosts", "children"):
        inventory.defined.setdefault(group, number)
        inventory.children.setdefault(group, [])
    return group, kind


def _ini_group_var(inventory: Inventory, group: str, line: str, number: int, column: int) -> None:
    """A `key=value` line of a `[group:vars]` section."""
    key, sep, value = line.partition("=")
    if not sep:
        inventory.problems.append(InventoryProblem(number, column, f"expected key=value, got {line!r}"))
        return
    inventory.group_vars.setdefault(group, {})[key.strip()] = _ini_value(value.strip())


def _ini_hosts(
    inventory: Inventory, group: str, line: str, words: list[str], number: int, column: int
) -> None:
    """A host line: the name (or a range of names) and its `key=value` vars."""
    host_vars: dict[str, Any] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            message = f"expected key=value after the host name, got {word!r}"
            inventory.problems.append(InventoryProblem(number, column + line.find(word), message))
            continue
        host_vars[key] = _ini_value(value)
    for name in expand_range(words[0]):
        inventory.add_host(name, number, column, group, host_vars)


def _ini_value(text: str) -> Any:
    if text.isdigit():
        return int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_yaml_inventory(text: str) -> Inventory:
    """Ansible's YAML inventory format (`all:` or top-level groups, each with hosts/children/vars)."""
    import yaml

    inventory = Inventory()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        inventory.problems.append(
            InventoryProblem(line, column, f"invalid YAML: {getattr(error, 'problem', error)}")
        )
        return inventory
    if root is None:
        return inventory
    if not isinstance(root, yaml.MappingNode):
        inventory.problems.append(
            InventoryProblem(
                root.start_mark.line + 1,
                root.start_mark.column + 1,
                "a YAML inventory is a mapping of groups",
            )
        )
        return inventory
    for key, value in root.value:
        _yaml_group(inventory, key, value, None)
    return inventory


def _position(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _yaml_group(inventory: Inventory, key: Any, node: Any, parent: str | None) -> None:
    import yaml

    name = str(key.value)
    line, _ = _position(key)
    inventory.defined.setdefault(name, line)
    inventory.children.setdefault(name, [])
    if parent is not None and name not in inventory.children[parent]:
        inventory.children[parent].append(name)
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return
    if not isinstance(node, yaml.MappingNode):
        inventory.problems.append(InventoryProblem(*_position(node), f"group '{name}' must be a mapping"))
        return
    for sub_key, sub_value in node.value:
        section = str(sub_key.value)
        empty = isinstance(sub_value, yaml.ScalarNode) and sub_value.value in ("", "~", "null")
        if section not in ("hosts", "children", "vars"):
            inventory.problems.append(
                InventoryProblem(
                    *_position(sub_key),
                    f"unknown key '{section}' in group '{name}' (hosts, children or vars)",
                )
            )
        elif empty:
            continue
        elif not isinstance(sub_value, yaml.MappingNode):
            inventory.problems.append(
                InventoryProblem(*_position(sub_value), f"{name}.{section} must be a mapping")
            )
        elif section == "hosts":
            for host_key, host_value in sub_value.value:
                host_vars = yaml.safe_load(yaml.serialize(host_value)) if not _is_null(host_value) else {}
                if not isinstance(host_vars, dict):
                    inventory.problems.append(
                        InventoryProblem(
                            *_position(host_value), f"host '{host_key.value}' must map to its vars"
                        )
                    )
                    host_vars = {}
                for host_name in expand_range(str(host_key.value)):
                    inventory.add_host(host_name, *_position(host_key), name, host_vars)
        elif section == "children":
            for child_key, child_value in sub_value.value:
                _yaml_group(inventory, child_key, child_value, name)
        else:
            values = yaml.safe_load(yaml.serialize(sub_value))
            inventory.group_vars.setdefault(name, {}).update(values or {})


def _is_null(node: Any) -> bool:
    import yaml

    return isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null")
