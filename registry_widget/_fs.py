"""Durable file writes: temporary files, atomic replace, fsync of files and folders.

The one copy of the steps that make a write survive a crash, for the store (snapshot and
journal) and the blob store (loose blobs and the pack). The package runs on POSIX systems
(Linux, macOS): folders can be opened and fsynced, a rename replaces its target
atomically, and ``fcntl`` locks are available.

A new or replaced file is durable once its bytes are fsynced *and* the folder that names
it is fsynced (:func:`fsync_dir`) after the rename.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["fdatasync", "fsync_dir", "replace_file", "temp_file", "temp_name"]


def fsync_dir(folder: Path) -> None:
    """Make the names created, renamed or removed in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fdatasync(fd: int) -> None:
    """Make the bytes written to ``fd`` durable, without its metadata where possible.

    ``os.fdatasync`` where the platform has it (Linux), ``os.fsync`` elsewhere (macOS).
    """
    getattr(os, "fdatasync", os.fsync)(fd)


def temp_name(path: Path) -> Path:
    """The temporary file a process writes before renaming it to ``path``.

    A hidden sibling ending in ``.tmp`` that names the writing process, so that the
    temporary files of processes that died can be recognised and removed.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def replace_file(path: Path, write: Callable[[BinaryIO], object]) -> os.stat_result:
    """Replace ``path`` atomically with what ``write`` writes; return the new file's stat.

    ``write`` fills the temporary file :func:`temp_name` of ``path``, which is then
    flushed, fsynced and renamed over ``path``: a reader sees the old file or the whole
    new one. If anything fails the temporary file is removed and ``path`` is left as it
    was. The rename itself is durable once the caller has called :func:`fsync_dir` on
    ``path``'s folder (a failure there is not a failed write: ``path`` is already new).
    """
    tmp = temp_name(path)
    try:
        with tmp.open("wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            st = os.fstat(f.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return st


@contextlib.contextmanager
def temp_file(folder: Path, *, mode: int = 0o666) -> Iterator[tuple[BinaryIO, Path]]:
    """Create a fresh temporary file in ``folder``; remove it unless it was renamed away.

    The file is created exclusively (``O_EXCL``) with ``mode`` filtered by the umask and
    a hidden ``.part`` name (128 random bits) that no blob's name can take and no two
    writers share.
    """
    tmp = folder / f".tmp-{secrets.token_hex(16)}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh, tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
