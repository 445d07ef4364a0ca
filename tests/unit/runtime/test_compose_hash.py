"""Compose's own service hashes, read from `config --hash '*'` (a stand-in compose on PATH)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stackgen.runtime.compose_hash import compose_hashes

HASH_A, HASH_B = "a" * 64, "0123456789abcdef" * 4


def fake_compose(directory: Path, script: str) -> None:
    path = directory / "docker-compose"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_hashes_come_from_the_installed_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_compose(tmp_path, f'echo "$@" > {tmp_path}/args\necho "prometheus {HASH_A}"\necho "warning: x y"\n'
                           f'echo "alertmanager {HASH_B}"\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    compose_file = tmp_path / "docker-compose.yml"
    assert compose_hashes(compose_file, "shop") == {"prometheus": HASH_A, "alertmanager": HASH_B}
    assert (tmp_path / "args").read_text().split() == ["-p", "shop", "-f", str(compose_file), "config",
                                                        "--hash", "*"]


def test_no_compose_or_a_failing_one_gives_no_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert compose_hashes(tmp_path / "docker-compose.yml", "shop") == {}
    fake_compose(tmp_path, f'echo "prometheus {HASH_A}"\nexit 1\n')
    assert compose_hashes(tmp_path / "docker-compose.yml", "shop") == {}
