"""The record of schema-valid spec data (stackgen/spec/schema_memo.py): skipped only for the same data,
schema and validator; a spec with problems is always validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stackgen.spec import schema_memo
from stackgen.spec.validate import check_spec
from tests.unit.core_helpers import base_spec, write_spec


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "stackgen"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """One entry per validator stackgen makes (it makes one per validation)."""
    made: list[Any] = []
    real = jsonschema.Draft202012Validator

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(jsonschema, "Draft202012Validator", counting)
    return made


def errors(path: Path) -> list[str]:
    """Each error without its position (the dumper decides the line)."""
    return [problem.format().split(": ", 1)[1] for problem in check_spec(path, {}, display_name="s").errors]


def test_valid_data_is_validated_once(cache: Path, validations: list[Any], tmp_path: Path) -> None:
    path = write_spec(tmp_path, base_spec(targets=[{"job": "a", "targets": ["a:1"]}]))
    assert errors(path) == []
    assert len(validations) == 1
    assert errors(path) == []
    assert len(validations) == 1
    assert (cache / "schema-valid").is_file()


def test_invalid_data_is_validated_every_time(cache: Path, validations: list[Any], tmp_path: Path) -> None:
    path = write_spec(tmp_path, base_spec(prometheus={"port": "nine"}))
    for count in (1, 2):
        assert errors(path) == ["prometheus.port: expected an integer, got 'nine'"]
        assert len(validations) == count
    assert not (cache / "schema-valid").exists()


def test_a_changed_value_is_validated_again(cache: Path, validations: list[Any], tmp_path: Path) -> None:
    path = write_spec(tmp_path, base_spec(prometheus={"port": 9090}))
    errors(path)
    write_spec(tmp_path, base_spec(prometheus={"port": 99999}))
    assert errors(path) == ["prometheus.port: must be at most 65535, got 99999"]
    assert len(validations) == 2


def test_keys_tell_types_apart_and_follow_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {schema_memo.memo_key({"a": value}) for value in (1, 1.0, True, "1", None, [1], {"1": 1})}
    assert len(keys) == 7
    before = schema_memo.memo_key({"a": 1})
    monkeypatch.setattr(schema_memo, "schema_text", lambda: '{"type": "object"}')
    assert schema_memo.memo_key({"a": 1}) != before
    assert schema_memo.memo_key({"a": {1, 2}}) is None  # not plain data: never recorded


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validations: list[Any]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where a directory should be
    path = write_spec(tmp_path, base_spec())
    assert errors(path) == errors(path) == []
    assert len(validations) == 2
