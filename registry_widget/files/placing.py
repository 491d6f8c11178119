"""Writing files under a folder that nothing can lead them out of, and hashing them back.

A download writes every file of a manifest under one root folder. Whatever the manifest
says and whatever changes under the root meanwhile, nothing is written outside it:
:func:`check_target` checks a path before anything is written, and :func:`place` opens
every folder on the way relative to the one before it, follows a symbolic link only to a
folder inside the root, and writes the file to a new temporary file renamed into place,
after checking its content against the digest it was asked for.

This module knows nothing of manifests, blob stores or registries.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from registry_widget.errors import StoreCorruptedError, ValidationError
from registry_widget.files.blobs import CHUNK_SIZE
from registry_widget.paths import validate_relpath

__all__ = ["DIR_FLAGS", "check_target", "hash_stream", "place", "refuse_target"]

OpenSource = Callable[[], contextlib.AbstractContextManager[BinaryIO]]
"""Opens the content to write (a blob), as a context manager that closes it."""


def refuse_target(rel: str, root: Path, why: str) -> ValidationError:
    """Return the refusal to write ``rel`` under ``root``, saying why."""
    msg = f"cannot write file {rel!r} under {str(root)!r}: {why}; nothing was written for it"
    return ValidationError(msg, field="path", value=rel)


def check_target(real_root: Path, rel: str) -> Path:
    """Return the file to write for ``rel``, after checking that it stays in ``real_root``."""
    parts = validate_relpath(rel).split("/")
    current = real_root
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink() and not current.resolve().is_relative_to(real_root):
            why = f"folder {str(current)!r} is a symbolic link to {str(current.resolve())!r}"
            raise refuse_target(rel, real_root, why)
        if current.exists() and not current.is_dir():
            raise refuse_target(rel, real_root, f"{str(current)!r} is not a folder")
    final = current / parts[-1]
    if final.is_symlink():
        raise refuse_target(rel, real_root, f"{str(final)!r} is a symbolic link")
    if final.exists() and not final.is_file():
        raise refuse_target(rel, real_root, f"{str(final)!r} exists and is not a file")
    resolved = final.resolve()
    if not resolved.is_relative_to(real_root):
        raise refuse_target(rel, real_root, f"it leads to {str(resolved)!r}, outside")
    return resolved


DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _inside(fd: int, root: os.stat_result) -> bool:
    """Whether the folder open as ``fd`` is ``root`` or below it (walking up by ``..``)."""
    current = os.dup(fd)
    try:
        for _ in range(4096):
            here = os.fstat(current)
            if (here.st_dev, here.st_ino) == (root.st_dev, root.st_ino):
                return True
            parent = os.open("..", DIR_FLAGS, dir_fd=current)
            up = os.fstat(parent)
            os.close(current)
            current = parent
            if (up.st_dev, up.st_ino) == (here.st_dev, here.st_ino):
                return False  # reached the top of the file system
        return False
    finally:
        os.close(current)


def _enter(fd: int, part: str, rel: str, real_root: Path, root: os.stat_result) -> int:
    """Open the sub-folder ``part`` of the folder ``fd`` (created if missing), inside root.

    The folder is opened relative to ``fd`` without following a symbolic link; a link is
    followed only when the folder it leads to is inside the root, checked on the folder
    actually opened, so that swapping a folder for a link meanwhile cannot lead outside.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(part, 0o777, dir_fd=fd)
    try:
        return os.open(part, DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
    except OSError:
        info = os.stat(part, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISLNK(info.st_mode):
            raise refuse_target(rel, real_root, f"{part!r} on its way is not a folder") from None
    linked = os.open(part, DIR_FLAGS, dir_fd=fd)
    if not _inside(linked, root):
        os.close(linked)
        why = f"folder {part!r} on its way is a symbolic link leading outside"
        raise refuse_target(rel, real_root, why)
    return linked


def _same_content(
    parent: int, name: str, content: tuple[str, int], update: Callable[[int], object]
) -> bool:
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=parent)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size != content[1]:
            return False
        return hash_stream(fh, update) == content


def place(
    rel: str,
    content: tuple[str, int],
    open_src: OpenSource,
    real_root: Path,
    root_fd: int,
    update: Callable[[int], object],
) -> None:
    """Write the file ``rel`` under the root, unless an identical copy is already there.

    ``content`` is the sha256 hex digest and size the file must have; ``open_src`` opens
    the bytes to write; ``update(n)`` is told of every ``n`` bytes read or written.

    Every folder on the way is opened relative to the one before it, and the file is
    created in the last one, so nothing reaches outside the root whatever changes there
    meanwhile; the file is written to a new temporary file and renamed into place.
    """
    parts = rel.split("/")
    root = os.fstat(root_fd)
    parent = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            inner = _enter(parent, part, rel, real_root, root)
            os.close(parent)
            parent = inner
        _write_file(rel, parts[-1], content, open_src, real_root, parent, update)
    finally:
        os.close(parent)


def _write_file(
    rel: str,
    name: str,
    content: tuple[str, int],
    open_src: OpenSource,
    real_root: Path,
    parent: int,
    update: Callable[[int], object],
) -> None:
    with contextlib.suppress(FileNotFoundError):
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            raise refuse_target(rel, real_root, f"{rel!r} is a symbolic link")
        if not stat.S_ISREG(info.st_mode):
            raise refuse_target(rel, real_root, f"{rel!r} exists and is not a file")
        if _same_content(parent, name, content, update):
            return
    tmp = f".tmp-{secrets.token_hex(16)}.part"
    digest, size = content
    with open_src() as src:
        fd = os.open(tmp, _CREATE_FLAGS, 0o666, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                hasher = hashlib.sha256()
                written = 0
                while chunk := src.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    fh.write(chunk)
                    written += len(chunk)
                    update(len(chunk))
            if (hasher.hexdigest(), written) != content:
                msg = (
                    f"blob {digest} of file {rel!r} is corrupted: its content has "
                    f"sha256 {hasher.hexdigest()} and {written} bytes, not {size}; "
                    "the file was not written"
                )
                raise StoreCorruptedError(msg)
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=parent)
            raise


def hash_stream(src: BinaryIO, update: Callable[[int], object]) -> tuple[str, int]:
    """Read ``src`` to its end; return the sha256 hex digest and size of what was read."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := src.read(CHUNK_SIZE):
        hasher.update(chunk)
        size += len(chunk)
        update(len(chunk))
    return hasher.hexdigest(), size
