"""Rule-pack parameters filled in without jinja2 give exactly what jinja2 gives.

(Here rather than under tests/unit/content/ because that folder is being reworked in parallel; the
code is stackgen/content/substitute.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from stackgen.content import rules, substitute

VALUES: dict[str, Any] = {
    "a": 1, "b": 0.25, "c": "x{{ $labels.y }}", "d": True, "range": 5, "true": 3, "n": None,
}

CASES = [
    "[[ a ]]",
    "x [[a]] y [[ b ]]",
    "[[\n a\n]]",
    "[[ a ]][[ b ]]",
    "[[ a ]]]",
    "foo[5m]] [[ b ]]",
    "rate(x[5m]) > [[ b ]] and {{ $value }}",
    "[[ c ]]",
    "[[ d ]] [[ n ]]",
    "[[ range ]]",
    # jinja2 must decide these: the fast path declines
    "[[[ a ]]",
    "[[ true ]]",
    "[[ a|string ]]",
    "[[- a ]]",
    "[[ a + 1 ]]",
    "a\r\n[[ a ]]",
    "[% if d %]yes[% endif %]",
    "[# note #][[ a ]]",
    "[[ unknown ]]",
]


def _jinja2(text: str) -> str:
    try:
        return str(substitute.bracket_environment().from_string(text).render(VALUES))
    except Exception as error:  # the fast path must then decline, leaving jinja2's error
        return f"error: {type(error).__name__}"


@pytest.mark.parametrize("text", CASES)
def test_fast_fill_is_jinja2_or_declines(text: str) -> None:
    fast = substitute._fill_plain_names(text, VALUES)
    if fast is not None:
        assert fast == _jinja2(text)
    if _jinja2(text).startswith("error"):
        assert fast is None


def test_declined_cases_are_declined() -> None:
    declined = [text for text in CASES if substitute._fill_plain_names(text, VALUES) is None]
    assert declined == CASES[CASES.index("[[[ a ]]") :]


def test_unknown_name_still_fails_with_jinja2s_message() -> None:
    with pytest.raises(ValueError, match=r"pack 'p': cannot fill in '\[\[ nope \]\]': 'nope' is undefined"):
        substitute.substitute({"expr": "[[ nope ]]"}, {}, where="pack 'p'")


@pytest.mark.parametrize("language", rules.LANGUAGES)
@pytest.mark.parametrize("pack", rules.available_packs())
def test_every_pack_loads_the_same_as_through_jinja2(
    pack: str, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = rules.load_pack(pack, language=language)
    monkeypatch.setattr(substitute, "_fill_plain_names", lambda text, values: None)
    assert rules.load_pack(pack, language=language) == fast
