"""What content stackgen ships (rule packs, their parameters, dashboards), for validation and init."""

from __future__ import annotations

from typing import Any


def rule_packs() -> list[str]:
    """Names of the shipped rule packs."""
    try:
        from stackgen.content.rules import available_packs
    except ImportError:  # content not installed yet in this checkout
        return []
    return list(available_packs())


def pack_params(name: str) -> dict[str, Any]:
    """A pack's parameters and their defaults."""
    from stackgen.content.rules import pack_params as params

    return dict(params(name))


def dashboards() -> list[str]:
    """Names of the shipped dashboards."""
    try:
        from stackgen.content.dashboards import available_dashboards
    except ImportError:
        return []
    return list(available_dashboards())


def pack_rule_names(name: str) -> list[str]:
    """The rule names of a pack (alerts and recording rules)."""
    from stackgen.content.rules import pack_rule_names as names

    return names(name)
