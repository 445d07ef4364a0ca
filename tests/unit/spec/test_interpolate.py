"""`${VAR}` interpolation and `.env` parsing (stackgen/spec/interpolate.py), and how load.py types the
result."""

# ruff: noqa: E501  (whole error strings are asserted, as the style guide asks)

from __future__ import annotations

from pathlib import Path

import pytest

from stackgen.spec.interpolate import environment_for, interpolate, read_dotenv
from stackgen.spec.load import load_spec_file
from tests.unit.core_helpers import write_spec

ENV = {"SET": "value", "EMPTY": "", "PORT": "9091"}


@pytest.mark.parametrize(("text", "expected"), [
    ("${SET}", "value"),
    ("a-${SET}-b", "a-value-b"),
    ("${UNSET:-fallback}", "fallback"),
    ("${EMPTY:-fallback}", "fallback"),
    ("${SET:-fallback}", "value"),
    ("${UNSET-fallback}", "fallback"),
    ("${EMPTY-fallback}", ""),  # without the colon, only unset takes the default
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("$$", "$"),
    ("$${SET}", "${SET}"),  # an escaped reference stays literal
    ("cost: $$5", "cost: $5"),
    ("{{ $labels.instance }} is {{ $value }}", "{{ $labels.instance }} is {{ $value }}"),
    ("$SET", "$SET"),  # only the braced form is expanded
    ("${UNSET:-}", ""),
    ("${UNSET:-a:b/c}", "a:b/c"),
    ("no dollars", "no dollars"),
])
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text, ENV) == (expected, [])


def test_undefined_variable_is_an_error_with_a_hint() -> None:
    value, errors = interpolate("x${NOPE}y", ENV)
    assert value == "xy"
    assert [error.message for error in errors] == ["undefined variable ${NOPE}"]
    assert "NOPE" in (errors[0].hint or "")


@pytest.mark.parametrize(("text", "message"), [
    ("${UNSET:?set UNSET first}", "variable UNSET is required: set UNSET first"),
    ("${EMPTY:?must not be empty}", "variable EMPTY is required: must not be empty"),
    ("${UNSET?}", "variable UNSET is required: not set"),
])
def test_required_variable(text: str, message: str) -> None:
    assert [error.message for error in interpolate(text, ENV)[1]] == [message]


def test_required_variable_that_is_set() -> None:
    assert interpolate("${SET:?x}", ENV) == ("value", [])
    assert interpolate("${EMPTY?x}", ENV) == ("", [])


@pytest.mark.parametrize("text", ["${}", "${1ABC}", "${A B}", "${UNCLOSED", "${A.B}"])
def test_malformed_reference(text: str) -> None:
    _, errors = interpolate(text, ENV)
    assert errors and errors[0].message.startswith("invalid interpolation")


def test_dotenv_parsing(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# a comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        "SPACED = padded  \n"
        'DOUBLE="two words # not a comment"\n'
        "SINGLE='it''s # kept'\n"
        'ESCAPED="line1\\nline2 \\"q\\""\n'
        "TRAILING=value # a trailing comment\n"
        "HASH=abc#def\n"
        "EMPTY=\n"
        "EQUALS=a=b=c\n"
        "not a variable line\n"
        "1BAD=x\n",
        encoding="utf-8",
    )
    values = read_dotenv(tmp_path / ".env")
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "padded",
        "DOUBLE": "two words # not a comment",
        "SINGLE": "it''s # kept",
        "ESCAPED": 'line1\nline2 "q"',
        "TRAILING": "value",
        "HASH": "abc#def",
        "EMPTY": "",
        "EQUALS": "a=b=c",
    }


def test_missing_dotenv_is_empty(tmp_path: Path) -> None:
    assert read_dotenv(tmp_path / ".env") == {}


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=from-file\nB=from-file\n", encoding="utf-8")
    merged = environment_for(tmp_path / "stack.yaml", {"A": "from-env"})
    assert merged["A"] == "from-env"
    assert merged["B"] == "from-file"


def test_plain_reference_is_typed_like_the_value(tmp_path: Path) -> None:
    """`port: ${PORT}` becomes 9091 (an int), as if 9091 had been written there; quoted stays a string."""
    path = write_spec(tmp_path, "version: 1\nname: x\nprometheus:\n  port: ${PORT}\n  retention: '${PORT}'\n"
                                "  replicas: ${REPLICAS:-2}\n")
    from stackgen.spec.validate import check_spec

    checked = check_spec(path, {"PORT": "9091"})
    assert checked.loaded.data["prometheus"] == {"port": 9091, "retention": "9091", "replicas": 2}


def test_interpolated_text_keeps_prometheus_templates(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "version: 1\nname: x\nnote: '{{ $labels.job }} ${WHO} $$HOME $value'\n")
    loaded = load_spec_file(path, {"WHO": "ops"})
    assert loaded.data["note"] == "{{ $labels.job }} ops $HOME $value"


def test_rule_files_are_read_without_interpolation(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n"
                                "    annotations: {x: '${NOT_A_VAR} $$'}\n", name="rules.yml")
    loaded = load_spec_file(path, None)
    assert loaded.problems == []
    assert loaded.data["groups"][0]["rules"][0]["annotations"]["x"] == "${NOT_A_VAR} $$"


def test_undefined_variable_is_located_at_its_value(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "version: 1\nname: x\nlisten: 127.0.0.1\ngrafana:\n  root_url: http://${HOST}/\n")
    loaded = load_spec_file(path, {})
    [problem] = loaded.problems
    assert (problem.line, problem.column, problem.path) == (5, 13, ("grafana", "root_url"))


def test_numeric_secret_from_the_environment_stays_a_string(tmp_path: Path) -> None:
    path = write_spec(tmp_path, (
        "version: 1\nname: x\nrules: {include: []}\ndashboards: {include: []}\nreceivers:\n"
        "  - name: mail\n    email:\n      to: a@example.com\n      from: b@example.com\n"
        "      smarthost: smtp.example.com:25\n      password: ${SMTP_PASSWORD}\n"
        "  - name: wx\n    wecom:\n      corp_id: ww1\n      agent_id: 1000002\n      secret: ${WECOM_SECRET}\n"
        "      to_party: ${PARTY}\n"))
    from stackgen.spec.validate import check_spec

    checked = check_spec(path, {"SMTP_PASSWORD": "12345678", "WECOM_SECRET": "0x10", "PARTY": "2"})
    assert [problem.format() for problem in checked.errors] == []
    receivers = checked.loaded.data["receivers"]
    assert receivers[0]["email"]["password"] == "12345678"
    assert receivers[1]["wecom"]["secret"] == "0x10"
