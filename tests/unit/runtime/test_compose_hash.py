"""Compose v2's own service hashes, read from `config --hash '*'` (stand-in CLIs on PATH)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stackgen.runtime.compose_hash import compose_hashes

HASH_A, HASH_B = "a" * 64, "0123456789abcdef" * 4


def fake_cli(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def fake_compose(directory: Path, version: str, answer: str) -> None:
    """A standalone docker-compose that says `version` and answers `config --hash` with `answer`."""
    fake_cli(directory, "docker-compose", f'if [ "$1" = version ]; then echo {version}; exit 0; fi\n'
                                          f'echo "$@" > {directory}/args\n{answer}')


def test_hashes_come_from_the_installed_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_compose(tmp_path, "2.40.3", f'echo "prometheus {HASH_A}"\necho "warning: x y"\n'
                                     f'echo "alertmanager {HASH_B}"\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    compose_file = tmp_path / "docker-compose.yml"
    assert compose_hashes(compose_file, "shop") == {"prometheus": HASH_A, "alertmanager": HASH_B}
    assert (tmp_path / "args").read_text().split() == ["-p", "shop", "-f", str(compose_file), "config",
                                                        "--hash", "*"]


def test_the_docker_cli_plugin_is_asked_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cli(tmp_path, "docker", f'[ "$1" = compose ] && echo "prometheus {HASH_B}"\n')
    fake_compose(tmp_path, "2.40.3", f'echo "prometheus {HASH_A}"\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert compose_hashes(tmp_path / "docker-compose.yml", "shop") == {"prometheus": HASH_B}


def test_compose_1_is_never_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1.29's hash is of another scheme: labelling with it would make Compose v2 recreate everything
    fake_compose(tmp_path, "1.29.2", f'echo "prometheus {HASH_A}"\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert compose_hashes(tmp_path / "docker-compose.yml", "shop") == {}
    assert not (tmp_path / "args").exists()


def test_no_compose_or_a_failing_one_gives_no_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert compose_hashes(tmp_path / "docker-compose.yml", "shop") == {}
    fake_compose(tmp_path, "2.40.3", f'echo "prometheus {HASH_A}"\nexit 1\n')
    assert compose_hashes(tmp_path / "docker-compose.yml", "shop") == {}
