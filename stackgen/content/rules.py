"""Rule packs: load blueprints/rules/<pack>.yml, apply parameters, pick a language, drop disabled rules."""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from stackgen.content.locate import blueprints_dir

LANGUAGES = ("zh", "en")


class PackError(ValueError):
    """A rule pack cannot be loaded as asked."""


class UnknownPack(PackError):
    """No pack of that name ships with stackgen."""


class UnknownParameter(PackError):
    """A parameter the pack does not define; the message lists the ones it does."""

    def __init__(self, pack: str, unknown: Collection[str], known: Collection[str]) -> None:
        self.pack = pack
        self.unknown = sorted(unknown)
        self.known = sorted(known)
        names = ", ".join(f"'{name}'" for name in self.unknown)
        super().__init__(
            f"rule pack '{pack}' has no parameter {names}; its parameters: {', '.join(self.known) or 'none'}"
        )


class InvalidParameterValue(PackError):
    """A parameter value that makes a rule of the pack invalid (it no longer parses as PromQL)."""


def _rules_dir() -> Path:
    return blueprints_dir() / "rules"


def available_packs() -> list[str]:
    """Names of the shipped rule packs, sorted."""
    return sorted(path.stem for path in _rules_dir().glob("*.yml"))


@cache
def _read_pack(name: str) -> dict[str, Any]:
    """The pack file as data; cached, so callers must copy before changing it."""
    if name not in available_packs():
        raise UnknownPack(f"no rule pack named '{name}'; packs: {', '.join(available_packs())}")
    from stackgen.spec.load import read_yaml_data

    data = read_yaml_data((_rules_dir() / f"{name}.yml").read_text(encoding="utf-8"), f"{name}.yml")
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise PackError(f"rule pack '{name}' is malformed: it needs a list of groups")
    return data


def pack_rule_names(name: str) -> list[str]:
    """The alert and recording rule names of a pack (what `rules.disable` can name)."""
    return [
        str(rule.get("alert") or rule.get("record"))
        for group in _read_pack(name)["groups"]
        for rule in group.get("rules") or []
    ]


def pack_params(name: str) -> dict[str, Any]:
    """The parameters of a pack with their default values."""
    return dict(_read_pack(name).get("params") or {})


def pack_description(name: str, language: str = "zh") -> str:
    """One line saying what the pack watches, in the given language."""
    description = _read_pack(name).get("description") or ""
    return str(_pick_language(description, _check_language(language)))


def load_pack(
    name: str,
    params: Mapping[str, Any] | None = None,
    disabled: Collection[str] = (),
    language: str = "zh",
) -> list[dict[str, Any]]:
    """Prometheus rule groups of a pack with parameters applied and disabled rules left out.

    A rule that reads a disabled recording rule is left out too: it could never work. Names in
    `disabled` that the pack does not have are ignored, since one disable list serves every pack.
    """
    language = _check_language(language)
    pack = _read_pack(name)
    defaults = pack.get("params") or {}
    unknown = set(params or {}) - set(defaults)
    if unknown:
        raise UnknownParameter(name, unknown, defaults)
    values = {**defaults, **(params or {})}

    from stackgen.content.substitute import substitute  # jinja2 is imported lazily

    groups = []
    for group in copy.deepcopy(pack["groups"]):
        rules = [_localise(rule, language) for rule in group.get("rules") or []]
        groups.append({**group, "rules": rules})
    groups = substitute(groups, values, where=f"rule pack '{name}'")
    groups = _without_disabled(groups, set(disabled))
    _check_expressions(name, groups)
    return groups


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise PackError(f"unknown language '{language}'; choose one of: {', '.join(LANGUAGES)}")
    return language


def _pick_language(value: Any, language: str) -> Any:
    """Packs write prose as {zh: ..., en: ...}; anything else is the same in every language."""
    if isinstance(value, dict) and set(value) <= set(LANGUAGES) and language in value:
        return value[language]
    return value


def _localise(rule: dict[str, Any], language: str) -> dict[str, Any]:
    annotations = rule.get("annotations")
    if annotations:
        rule["annotations"] = {key: _pick_language(text, language) for key, text in annotations.items()}
    return rule


def _reads(expr: str, record: str) -> bool:
    # Metric names may contain ':' (recording rule names), so neither may border the match.
    return re.search(rf"(?<![\w:]){re.escape(record)}(?![\w:])", expr) is not None


def _without_disabled(groups: list[dict[str, Any]], disabled: set[str]) -> list[dict[str, Any]]:
    removed = set(disabled)
    while True:  # leaving a record out can strand rules that read it, and so on down the chain
        kept_any_change = False
        for group in groups:
            kept = []
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                if name in removed or any(_reads(rule["expr"], record) for record in removed):
                    removed.add(name)
                    kept_any_change = True
                else:
                    kept.append(rule)
            group["rules"] = kept
        if not kept_any_change:
            break
    return [group for group in groups if group["rules"]]


def _check_expressions(pack: str, groups: list[dict[str, Any]]) -> None:
    """A parameter value such as a bad selector must fail here, naming the rule, not in Prometheus."""
    import promql_parser

    for group in groups:
        for rule in group["rules"]:
            try:
                promql_parser.parse(rule["expr"])
            except (ValueError, TypeError) as error:
                name = rule.get("alert") or rule.get("record")
                raise InvalidParameterValue(
                    f"rule pack '{pack}': rule {name} is not valid PromQL with these parameters: {error}"
                ) from error
