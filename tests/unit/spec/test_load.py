"""Reading a spec into plain data with the position of every key and value (stackgen/spec/load.py)."""

# ruff: noqa: E501  (whole error strings are asserted, as the style guide asks)

from __future__ import annotations

from pathlib import Path

from stackgen.spec.load import load_spec_file
from tests.unit.core_helpers import write_spec

TEXT = """\
version: 1
name: shop
prometheus:
  port: 9090
  external_labels: {cluster: prod, region: "sh"}
targets:
  - job: api
    targets:
      - api-1:8080
      - "api-2:8080"
  -   job: web
      targets: [web:80, 'web-2:80']
"""


def test_positions_of_keys_and_values(tmp_path: Path) -> None:
    loaded = load_spec_file(write_spec(tmp_path, TEXT), {})
    assert loaded.problems == []
    keys, values = loaded.positions.keys, loaded.positions.values
    assert keys[("prometheus", "port")] == (4, 3)
    assert values[("prometheus", "port")] == (4, 9)
    assert keys[("prometheus", "external_labels", "region")] == (5, 36)
    assert values[("prometheus", "external_labels", "region")] == (5, 44)
    # list items: the item's own position; keys inside items
    assert values[("targets", 0)] == (7, 5)
    assert keys[("targets", 0, "job")] == (7, 5)
    assert values[("targets", 0, "targets", 1)] == (10, 9)
    assert values[("targets", 1)] == (11, 7)
    assert values[("targets", 1, "targets", 0)] == (12, 17)
    assert values[("targets", 1, "targets", 1)] == (12, 25)


def test_unknown_paths_fall_back_to_the_nearest_parent(tmp_path: Path) -> None:
    loaded = load_spec_file(write_spec(tmp_path, TEXT), {})
    assert loaded.positions.of_value(("targets", 0, "labels", "team")) == (7, 5)
    assert loaded.positions.of_key(("nothing", "here")) == (1, 1)


def test_yaml_12_scalars(tmp_path: Path) -> None:
    """No YAML 1.1 guessing: `on`, `yes`, `1:30`, `0755` stay what a YAML 1.2 reader (Prometheus 3) sees."""
    path = write_spec(tmp_path, "version: 1\nname: x\na: on\nb: yes\nc: 1:30\nd: 0755\ne: 0x1F\nf: 1.5\n"
                                "g: true\nh: ~\ni: '42'\nj: 1e3\nk: .inf\n")
    data = load_spec_file(path, {}).data
    assert data["a"] == "on" and data["b"] == "yes" and data["c"] == "1:30"
    assert data["d"] == 755 and data["e"] == 31 and data["f"] == 1.5
    assert data["g"] is True and data["h"] is None and data["i"] == "42"
    assert data["j"] == 1000.0 and data["k"] == float("inf")


def test_merge_keys_and_anchors(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "version: 1\nname: x\nx-common: &common {scheme: https, metrics_path: /m}\n"
                                "targets:\n  - <<: *common\n    job: a\n    scheme: http\n    targets: [a:1]\n")
    data = load_spec_file(path, {}).data
    assert data["targets"][0] == {"job": "a", "scheme": "http", "targets": ["a:1"], "metrics_path": "/m"}


def test_duplicate_key_is_reported_at_the_second_key(tmp_path: Path) -> None:
    loaded = load_spec_file(write_spec(tmp_path, "version: 1\nname: x\nname: y\n"), {})
    [problem] = loaded.problems
    assert (problem.line, problem.column, problem.path) == (3, 1, ("name",))
    assert loaded.data["name"] == "x"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    [missing] = load_spec_file(tmp_path / "nope.yaml", {}).problems
    assert missing.message == "no such file"
    [directory] = load_spec_file(tmp_path, {}).problems
    assert "directory" in directory.message


def test_byte_order_mark_and_crlf_are_read(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\r\nname: x\r\nlisten: 127.0.0.1\r\n")
    loaded = load_spec_file(path, {})
    assert loaded.problems == []
    assert loaded.data == {"version": 1, "name": "x", "listen": "127.0.0.1"}
    assert loaded.positions.values[("listen",)] == (3, 9)


def test_non_scalar_key_is_a_problem(tmp_path: Path) -> None:
    loaded = load_spec_file(write_spec(tmp_path, "version: 1\nname: x\n? [a, b]\n: c\n"), {})
    [problem] = loaded.problems
    assert (problem.line, problem.column) == (3, 3)
    assert "key must be a plain value" in problem.message
