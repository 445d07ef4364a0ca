"""apply's record of checked output: promtool/amtool are skipped only for bytes they already accepted.

Stand-in tools on PATH log each run, so the test sees exactly when the checks run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stackgen.output import RenderedFile
from stackgen.upstream_check import CHECK_RECORD, RejectedByUpstream, check_rendered

FILES = {
    "prometheus/prometheus.yml": RenderedFile(b"global: {}\n"),
    "prometheus/rules/self.yml": RenderedFile(b"groups: []\n"),
    "alertmanager/alertmanager.yml": RenderedFile(b"route: {receiver: x}\nreceivers: [{name: x}]\n"),
    "secrets/alertmanager/smtp": RenderedFile(b"hunter2", 0o600),
}


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """promtool and amtool that log their arguments and pass (unless $FAIL names them)."""
    directory = tmp_path / "bin"
    directory.mkdir()
    log = tmp_path / "runs.log"
    for tool in ("promtool", "amtool"):
        script = directory / tool
        script.write_text(
            f'#!/bin/sh\necho "{tool} $1" >> {log}\n'
            f'[ "$FAIL" = "{tool}" ] && {{ echo "{tool} says no" >&2; exit 1; }}\nexit 0\n'
        )
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return log


def runs(log: Path) -> int:
    count = len(log.read_text().splitlines()) if log.exists() else 0
    log.unlink(missing_ok=True)
    return count


def test_same_bytes_are_checked_once(tools: Path, tmp_path: Path) -> None:
    record = tmp_path / "out" / CHECK_RECORD
    assert check_rendered(FILES, record=record) == ["promtool", "amtool"]
    assert runs(tools) == 3  # config, rules, alertmanager
    assert record.is_file()
    assert check_rendered(FILES, record=record) == []
    assert runs(tools) == 0


def test_any_checked_byte_or_a_new_tool_checks_again(tools: Path, tmp_path: Path) -> None:
    record = tmp_path / CHECK_RECORD
    check_rendered(FILES, record=record)
    runs(tools)
    changed = dict(FILES, **{"prometheus/rules/self.yml": RenderedFile(b"groups: [] \n")})
    check_rendered(changed, record=record)
    assert runs(tools) == 3
    added = dict(changed, **{"prometheus/rules/more.yml": RenderedFile(b"groups: []\n")})
    check_rendered(added, record=record)
    assert runs(tools) == 3
    amtool = tools.parent / "bin" / "amtool"
    later = time.time() + 5
    os.utime(amtool, (later, later))  # an upgraded tool may judge differently
    check_rendered(added, record=record)
    assert runs(tools) == 3


def test_a_secret_is_never_part_of_the_record(tools: Path, tmp_path: Path) -> None:
    record = tmp_path / CHECK_RECORD
    check_rendered(FILES, record=record)
    runs(tools)
    other_secret = dict(FILES, **{"secrets/alertmanager/smtp": RenderedFile(b"hunter3", 0o600)})
    check_rendered(other_secret, record=record)
    assert runs(tools) == 0  # the tools never read secrets


def test_rejected_output_is_not_recorded(
    tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / CHECK_RECORD
    monkeypatch.setenv("FAIL", "amtool")
    for _ in range(2):
        with pytest.raises(RejectedByUpstream, match="amtool says no"):
            check_rendered(FILES, record=record)
        assert runs(tools) == 3
    assert not record.exists()


def test_without_a_record_every_call_checks(tools: Path) -> None:
    check_rendered(FILES)
    check_rendered(FILES)
    assert runs(tools) == 6
