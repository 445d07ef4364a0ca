"""Checks of the content a spec asks stackgen for: rule packs and dashboards it ships, the parameters
each pack takes, and `rules.disable` naming rules of the included packs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stackgen.spec.load import LoadedSpec
from stackgen.spec.meaning_common import items, section
from stackgen.spec.problems import Problem, Severity
from stackgen.spec.schema_errors import closest


def content_problems(spec: LoadedSpec, data: Mapping[str, Any]) -> Iterator[Problem]:
    """Rule packs, their parameters and dashboards must be ones stackgen ships."""
    from stackgen.content import catalog

    rules = section(data, "rules")
    packs = catalog.rule_packs()
    for index, name in enumerate(rules.get("include") or []):
        if isinstance(name, str) and name not in packs:
            yield spec.problem(
                ("rules", "include", index),
                f"unknown rule pack '{name}'",
                closest(name, packs) or f"packs: {', '.join(packs)}",
            )
    for pack, params in section(rules, "params").items():
        if pack not in packs:
            yield spec.problem(
                ("rules", "params", pack), f"unknown rule pack '{pack}'", closest(pack, packs), at_key=True
            )
            continue
        known = catalog.pack_params(pack)
        for name in params if isinstance(params, Mapping) else {}:
            if name not in known:
                yield spec.problem(
                    ("rules", "params", pack, name),
                    f"pack '{pack}' has no parameter '{name}'",
                    closest(name, known) or f"parameters: {', '.join(known) or 'none'}",
                    at_key=True,
                )
    yield from _disabled_rules(spec, rules, packs)
    dashboards = catalog.dashboards()
    for index, name in enumerate(section(data, "dashboards").get("include") or []):
        if isinstance(name, str) and name not in dashboards:
            yield spec.problem(
                ("dashboards", "include", index),
                f"unknown dashboard '{name}'",
                closest(name, dashboards) or f"dashboards: {', '.join(dashboards)}",
            )


def _disabled_rules(spec: LoadedSpec, rules: Mapping[str, Any], packs: list[str]) -> Iterator[Problem]:
    """A name in rules.disable must be a rule of an included pack: a typo would leave the alert paging."""
    from stackgen.content import catalog

    disable = rules.get("disable")
    if not isinstance(disable, list) or not disable:
        return
    if "include" in rules:
        included = [name for name in rules.get("include") or [] if isinstance(name, str) and name in packs]
    else:
        included = packs  # chosen by the model from the exporters: judge against every pack
    in_included = {rule for pack in included for rule in catalog.pack_rule_names(pack)}
    own = {
        str(rule.get("alert") or rule.get("record"))
        for _, group in items(rules, "groups")
        for _, rule in items(group, "rules")
    }
    for index, name in enumerate(disable):
        if not isinstance(name, str) or name in in_included:
            continue
        if name in own:
            yield spec.problem(
                ("rules", "disable", index),
                f"'{name}' is a rule of your own (rules.groups)",
                "disable turns off pack rules; remove yours from its group instead",
            )
            continue
        elsewhere = [pack for pack in packs if pack not in included and name in catalog.pack_rule_names(pack)]
        if elsewhere:
            yield spec.problem(
                ("rules", "disable", index),
                f"rule '{name}' is in pack '{elsewhere[0]}', which is not included",
                "nothing to disable: remove it, or include the pack",
                severity=Severity.NOTICE,
            )
        else:
            where = "the included packs" if "include" in rules else "any rule pack"
            yield spec.problem(
                ("rules", "disable", index),
                f"no rule '{name}' in {where}",
                closest(name, sorted(in_included)),
            )
