"""Durable file writes (registry_widget/_fs.py): the one copy the stores use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import pytest

import registry_widget as rw
from registry_widget._fs import fdatasync, fsync_dir, replace_file, temp_file


def test_replace_file_writes_the_whole_new_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    target.write_bytes(b"old")
    st = replace_file(target, lambda f: f.write(b"new contents"))
    assert target.read_bytes() == b"new contents"
    assert st.st_ino == target.stat().st_ino
    assert st.st_size == len(b"new contents")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


def test_replace_file_that_fails_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    target.write_bytes(b"old")

    def half_then_fail(f: BinaryIO) -> None:
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        replace_file(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


def test_temp_file_is_removed_unless_renamed_away(tmp_path: Path) -> None:
    with temp_file(tmp_path) as (fh, tmp):
        fh.write(b"x")
        assert tmp.name.startswith(".tmp-")
        assert tmp.name.endswith(".part")
    assert list(tmp_path.iterdir()) == []
    with temp_file(tmp_path) as (fh, tmp):
        fh.write(b"kept")
        fh.close()
        tmp.replace(tmp_path / "kept")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert (tmp_path / "kept").read_bytes() == b"kept"


def test_fsync_dir_syncs_an_existing_folder_and_refuses_a_missing_one(tmp_path: Path) -> None:
    fsync_dir(tmp_path)
    with pytest.raises(FileNotFoundError):
        fsync_dir(tmp_path / "missing")


def test_fdatasync_falls_back_to_fsync_where_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.delattr(os, "fdatasync", raising=False)  # as on macOS
    monkeypatch.setattr(os, "fsync", recording)
    with (tmp_path / "f").open("wb") as f:
        f.write(b"x")
        f.flush()
        fdatasync(f.fileno())
        assert synced == [f.fileno()]


def test_a_file_store_commits_and_packs_blobs_where_fdatasync_is_missing(
    store_path: Path, files, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("first", type="model", files=files("w0.bin", b"first"))
    monkeypatch.delattr(os, "fdatasync", raising=False)  # as on macOS
    version = client.log_artifact("cat", type="model", files=files("w1.bin", b"small"))
    monkeypatch.undo()
    reopened = rw.Client(store_path, user="ada")
    again = reopened.artifact(version.ref)
    assert again.digest == version.digest
    folder = again.download(store_path.parent / "out")
    assert (folder / "w1.bin").read_bytes() == b"small"
