"""Fill `[[ name ]]` parameters into the strings of already-loaded data, leaving Go's `{{ }}` alone."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

_MARKERS = ("[[", "[%", "[#")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
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
    import jinja2

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            if not any(marker in node for marker in _MARKERS):
                return node
            try:
                return _environment().from_string(node).render(values)
            except jinja2.TemplateError as error:
                raise ValueError(f"{where}: cannot fill in {node!r}: {error}") from error
        if isinstance(node, dict):
            return {walk(key): walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(data)
