"""Fill `[[ name ]]` parameters into the strings of already-loaded data, leaving Go's `{{ }}` alone.

jinja2 is the language; a string whose only markers are plain `[[ name ]]` of known parameters is
filled in directly, with what jinja2 would print (`str(value)`), because compiling a jinja2 template
per string was most of a rule pack's load time. Anything else (filters, blocks, comments, an unknown
name, a carriage return that jinja2 would normalise) goes through jinja2 itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

_MARKERS = ("[[", "[%", "[#")
_PLAIN_NAME = re.compile(r"\[\[\s*([A-Za-z_][A-Za-z0-9_]*)\s*\]\]")
# Names jinja2 reads as literals or operators, never as a variable
_NOT_VARIABLES = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else"}
)


@lru_cache(maxsize=1)
def bracket_environment() -> jinja2.Environment:
    """jinja2 with [[ ]] / [% %] / [# #] delimiters and StrictUndefined: packs' parameters and
    blueprints' names, in text whose `{{ }}` belongs to Prometheus and Alertmanager."""
    import jinja2

    # Prometheus and Alertmanager own `{{ }}`: parameters use brackets so both survive in one string.
    return jinja2.Environment(
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def substitute(data: Any, values: Mapping[str, Any], *, where: str) -> Any:
    """A copy of `data` with every string rendered against `values`; an unknown name raises ValueError."""

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            if not any(marker in node for marker in _MARKERS):
                return node
            filled = _fill_plain_names(node, values)
            return filled if filled is not None else _render(node, values, where)
        if isinstance(node, dict):
            return {walk(key): walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(data)


def _render(text: str, values: Mapping[str, Any], where: str) -> str:
    import jinja2

    try:
        return bracket_environment().from_string(text).render(values)
    except jinja2.TemplateError as error:
        raise ValueError(f"{where}: cannot fill in {text!r}: {error}") from error


def _fill_plain_names(text: str, values: Mapping[str, Any]) -> str | None:
    """`text` with each `[[ name ]]` replaced as jinja2 would, or None when jinja2 must do it."""
    if "[%" in text or "[#" in text or "\r" in text:
        return None
    parts, position = [], 0
    while (start := text.find("[[", position)) != -1:  # where jinja2's lexer opens each block
        match = _PLAIN_NAME.match(text, start)
        if match is None or match.group(1) in _NOT_VARIABLES or match.group(1) not in values:
            return None  # more than a plain name, a literal, or an unknown name: jinja2 decides
        parts += [text[position:start], str(values[match.group(1)])]
        position = match.end()
    return "".join([*parts, text[position:]])
