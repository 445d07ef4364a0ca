"""The one writer (stackgen/output.py): unchanged files untouched, changed files replaced inside the same
directory inode (containers bind-mount the directories), only manifest-listed files removed, undo."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from stackgen.output import MANIFEST, RenderedFile, diff_output, restore_output, write_output

FILES = {
    "prometheus/prometheus.yml": RenderedFile(b"global: {}\n"),
    "prometheus/targets/api.json": RenderedFile(b"[]\n"),
    "alertmanager/alertmanager.yml": RenderedFile(b"route: {}\n"),
    "secrets/alertmanager/pw": RenderedFile(b"hunter2", 0o600),
}


def test_first_write_creates_everything(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = write_output(FILES, out)
    assert sorted(result.created) == sorted(FILES)
    assert result.changed == result.removed == result.unchanged == []
    for path, file in FILES.items():
        assert (out / path).read_bytes() == file.content
    assert (out / MANIFEST).is_file()
    assert stat.S_IMODE((out / "secrets").stat().st_mode) == 0o700
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".stackgen-")], "staging dir left behind"


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(FILES, out)
    before = {path: os.stat(out / path) for path in FILES}
    manifest_inode = (out / MANIFEST).stat().st_ino
    result = write_output(FILES, out)
    assert result.touched == [] and sorted(result.unchanged) == sorted(FILES)
    for path, status in before.items():
        after = os.stat(out / path)
        assert (after.st_ino, after.st_mtime_ns) == (status.st_ino, status.st_mtime_ns), path
    assert (out / MANIFEST).stat().st_ino == manifest_inode


def test_changed_file_is_replaced_inside_the_same_directory_inode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(FILES, out)
    directory_inode = (out / "prometheus").stat().st_ino
    out_inode = out.stat().st_ino
    other = os.stat(out / "prometheus/targets/api.json")
    changed = dict(FILES, **{"prometheus/prometheus.yml": RenderedFile(b"global: {scrape_interval: 5s}\n")})
    result = write_output(changed, out)
    assert result.changed == ["prometheus/prometheus.yml"]
    assert result.previous == {"prometheus/prometheus.yml": b"global: {}\n"}
    assert (out / "prometheus/prometheus.yml").read_bytes() == b"global: {scrape_interval: 5s}\n"
    assert (out / "prometheus").stat().st_ino == directory_inode  # a bind mount keeps seeing it
    assert out.stat().st_ino == out_inode
    assert os.stat(out / "prometheus/targets/api.json").st_mtime_ns == other.st_mtime_ns


def test_only_files_in_the_manifest_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(FILES, out)
    (out / "prometheus/targets/hand-made.json").write_bytes(b"[]\n")  # the user's, not ours
    (out / "notes.txt").write_text("mine")
    fewer = {path: file for path, file in FILES.items() if path != "prometheus/targets/api.json"}
    result = write_output(fewer, out)
    assert result.removed == ["prometheus/targets/api.json"]
    assert not (out / "prometheus/targets/api.json").exists()
    assert (out / "prometheus/targets/hand-made.json").exists() and (out / "notes.txt").exists()


def test_emptied_directories_are_pruned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(FILES, out)
    fewer = {path: file for path, file in FILES.items() if not path.startswith("prometheus/targets/")}
    write_output(fewer, out)
    assert not (out / "prometheus/targets").exists()
    assert (out / "prometheus").is_dir()


def test_manifest_paths_outside_the_output_are_never_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(FILES, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / MANIFEST).write_text('{"files": {"../victim.txt": "x"}}')
    write_output(FILES, out)
    assert victim.read_text() == "keep me"


def test_mode_change_alone_is_a_change(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(FILES, out)
    os.chmod(out / "prometheus/prometheus.yml", 0o600)
    assert diff_output(FILES, out).changed == ["prometheus/prometheus.yml"]
    write_output(FILES, out)
    assert stat.S_IMODE((out / "prometheus/prometheus.yml").stat().st_mode) == 0o644


def test_restore_output_undoes_a_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(FILES, out)
    before = {path: (out / path).read_bytes() for path in FILES}
    new = dict(FILES)
    new["prometheus/prometheus.yml"] = RenderedFile(b"changed\n")
    new["prometheus/rules/new.yml"] = RenderedFile(b"groups: []\n")
    del new["alertmanager/alertmanager.yml"]
    result = write_output(new, out)
    assert sorted(result.touched) == ["alertmanager/alertmanager.yml", "prometheus/prometheus.yml",
                                      "prometheus/rules/new.yml"]
    restore_output(out, result.previous)
    for path, content in before.items():
        assert (out / path).read_bytes() == content, path
    assert not (out / "prometheus/rules/new.yml").exists()
    assert stat.S_IMODE((out / "secrets/alertmanager/pw").stat().st_mode) in (0o600, 0o644)
