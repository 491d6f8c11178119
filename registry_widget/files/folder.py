"""Blobs as files in a local folder, small ones appended to one pack file.

The blob store of a store kept in a folder (:mod:`registry_widget.domain.backend` opens it
next to the JSON file): every blob is a read-only file named by its digest, written to a
temporary file, flushed and renamed into place; with a pack limit, small files share one
append-only pack (:mod:`registry_widget.files.blobpack`) made durable by one flush.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from registry_widget._fs import fsync_dir, temp_file
from registry_widget.errors import NotFoundError, RegistryError, StorageError
from registry_widget.files import blobs as _blobs
from registry_widget.files.blobpack import PACK_NAME, BlobPack
from registry_widget.files.blobs import (
    Added,
    BlobStore,
    OnRead,
    check_digest,
    digest_mismatch,
    is_digest,
)

__all__ = ["LEFTOVER_MIN_AGE_S", "PACK_LIMIT", "FileBlobStore"]

PACK_LIMIT = 64 * 1024
"""Files up to this size (64 KiB) go into the pack of a store that uses one."""

LEFTOVER_MIN_AGE_S = 60.0
"""Garbage collection never removes a partial copy younger than this (seconds), whatever
the grace period: the moment between a copy's creation and its logger's lock on it."""


class FileBlobStore(BlobStore):
    """Blobs as read-only files in a local folder, ``root/sha256/ab/cdef…``.

    The first two hex characters of a digest name a subfolder and the other 62 the file.
    Blobs are written to a temporary file, flushed, and renamed into place, so a blob
    never exists half-written under its final name. Folders are created on first write.

    With ``pack_limit`` above zero, files up to that size are appended to one pack file
    instead, ``root/blobs.pack`` (:mod:`registry_widget.files.blobpack`), and become durable
    with the next :meth:`sync` (one fdatasync for any number of them). Removing a packed
    blob hides it; its bytes stay in the pack.

    The age of a loose blob is its file's modification time, refreshed when it is stored
    again; the pack records when each of its blobs was stored.

    Parameters
    ----------
    root
        The folder holding the store (created when the first blob is added).
    pack_limit
        The largest file, in bytes, that goes into the pack; 0 (the default) packs none.
    """

    def __init__(self, root: Path | str, *, pack_limit: int = 0) -> None:
        self.root = Path(root)
        self._base = self.root / "sha256"
        self.pack_limit = pack_limit
        self._pack = BlobPack(self.root / PACK_NAME) if pack_limit > 0 else None

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self._base.joinpath(digest[:2], digest[2:])

    def has(self, digest: str) -> bool:  # noqa: D102 - documented on BlobStore
        if self._path(digest).is_file():
            return True
        return self._pack is not None and self._pack.find(digest) is not None

    def path_hint(self, digest: str) -> Path | None:  # noqa: D102
        path = self._path(digest)
        return path if path.is_file() else None

    def open(self, digest: str) -> BinaryIO:  # noqa: D102
        try:
            return self._path(digest).open("rb")
        except FileNotFoundError:
            packed = self._pack.open(digest) if self._pack is not None else None
            if packed is not None:
                return packed
            msg = f"blob {digest} is not in the blob store at {str(self.root)!r}"
            raise NotFoundError(msg) from None

    def remove(self, digest: str) -> None:  # noqa: D102
        path = self._path(digest)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        if self._pack is not None:
            self._pack.remove(digest)

    def touch(self, digest: str) -> None:  # noqa: D102
        path = self._path(digest)
        try:
            os.utime(path)
        except FileNotFoundError:
            if self._pack is not None:
                self._pack.touch(digest)
        except OSError:  # pragma: no cover - another user's blob: leave its age
            pass

    def last_used(self, digest: str) -> float | None:  # noqa: D102
        try:
            return self._path(digest).stat().st_mtime
        except FileNotFoundError:
            return self._pack.last_used(digest) if self._pack is not None else None

    def size(self, digest: str) -> int:  # noqa: D102
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            length = self._pack.length(digest) if self._pack is not None else None
            if length is None:
                msg = f"blob {digest} is not in the blob store at {str(self.root)!r}"
                raise NotFoundError(msg) from None
            return length

    @contextlib.contextmanager
    def recording(self) -> Iterator[Added]:  # noqa: D102 - documented on BlobStore
        with super().recording() as added:
            if not self.root.exists():
                added.folders.append(self.root)
            if self._pack is None:
                yield added
                return
            with self._pack.recording() as spans:
                added.spans = spans
                yield added

    def discard(self, added: Added, keep: Collection[str]) -> None:  # noqa: D102
        kept = set(keep)
        for path in added.files:
            if path.parent.name + path.name not in kept:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        if self._pack is not None and not (added.digests & kept):
            self._pack.take_back(added.spans)
        for folder in reversed(added.folders):
            with contextlib.suppress(OSError):  # not empty: another call uses it
                folder.rmdir()

    def _folder(self, folder: Path) -> None:
        """Create ``folder`` (inside the root) and its parents, noting the ones created."""
        added = self._added()
        missing = []
        for parent in (folder, *folder.parents):
            if parent.exists():
                break
            missing.append(parent)
        for parent in reversed(missing):
            try:
                parent.mkdir()
            except FileExistsError:
                continue
            if added is not None and parent not in added.folders:
                added.folders.append(parent)

    def digests(self) -> Iterator[str]:  # noqa: D102
        found: set[str] = set(self._pack.digests()) if self._pack is not None else set()
        if self._base.is_dir():
            for sub in self._base.iterdir():
                if len(sub.name) != 2 or not sub.is_dir():
                    continue
                for blob in sub.iterdir():
                    digest = sub.name + blob.name
                    if is_digest(digest) and blob.is_file():
                        found.add(digest)
        yield from sorted(found)

    def collect_leftovers(self, older_than: float) -> int:
        """Remove partial copies last written before ``older_than`` (epoch seconds); count them.

        A logger killed while copying a file into the store leaves its temporary file
        behind, ``sha256/.tmp-….part`` or ``sha256/ab/.tmp-….part``: never a blob, and
        never renamed into one. A logger holds an exclusive ``flock`` on its copy from
        just after creating it until it is renamed into place, and the kernel releases it
        when the logger dies: a copy whose lock is held is left alone, whatever its age.
        A copy younger than :data:`LEFTOVER_MIN_AGE_S` is left alone too, for the moment
        between its creation and its lock.
        """
        if not self._base.is_dir():
            return 0
        cutoff = min(older_than, time.time() - LEFTOVER_MIN_AGE_S)
        folders = [self._base]
        folders += [sub for sub in self._base.iterdir() if len(sub.name) == 2 and sub.is_dir()]
        removed = 0
        for folder in folders:
            for part in folder.glob(".tmp-*.part"):
                try:
                    if part.lstat().st_mtime >= cutoff:
                        continue
                    fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue  # renamed into place, or removed, meanwhile
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # its logger is still writing it
                    with contextlib.suppress(FileNotFoundError):
                        part.unlink()
                        removed += 1
                finally:
                    os.close(fd)
        return removed

    def sync(self) -> None:
        """Make the blobs appended to the pack durable (one fdatasync, if any were)."""
        if self._pack is not None:
            self._pack.sync()

    def close(self) -> None:
        """Close the pack file, if one is open."""
        if self._pack is not None:
            self._pack.close()

    def _packs(self, src: Path) -> bool:
        if self._pack is None:
            return False
        try:
            return src.stat().st_size <= self.pack_limit
        except FileNotFoundError:
            msg = f"file {str(src)!r} does not exist"
            raise NotFoundError(msg) from None

    def put_file(self, src: Path, digest: str) -> None:  # noqa: D102
        if self.has(digest):
            self.touch(digest)
            return
        try:
            if self._packs(src):
                self._pack_file(src, expected=digest)
                return
            self._write(src, expected=digest)
        except RegistryError:
            raise
        except OSError as exc:
            raise StorageError.from_os_error(exc, self._storing(src)) from exc

    def ingest(self, src: Path, *, on_read: OnRead | None = None) -> tuple[str, int]:
        """Hash ``src`` while copying it into the store (one read); see :meth:`BlobStore.ingest`.

        Raises
        ------
        StorageError
            If ``src`` cannot be read or the store cannot be written (a full disk).
        """
        try:
            if self._packs(src):
                return self._pack_file(src, expected=None, on_read=on_read)
            return self._write(src, expected=None, on_read=on_read)
        except RegistryError:
            raise
        except OSError as exc:
            raise StorageError.from_os_error(exc, self._storing(src)) from exc

    def _storing(self, src: Path) -> str:
        return f"store file {str(src)!r} in the blob store at {str(self.root)!r}"

    def _pack_file(
        self, src: Path, *, expected: str | None, on_read: OnRead | None = None
    ) -> tuple[str, int]:
        assert self._pack is not None
        data = b"".join(_blobs.read_chunks(src, on_read))
        digest = hashlib.sha256(data).hexdigest()
        if expected is not None and digest != expected:
            raise digest_mismatch(src, expected, digest)
        loose = self._path(digest)
        if loose.is_file():
            self.touch(digest)
            return digest, len(data)
        new = self._pack.find(digest) is None
        self._pack.add(digest, data)
        added = self._added()
        if new and added is not None:
            added.digests.add(digest)
        return digest, len(data)

    def _write(
        self, src: Path, *, expected: str | None, on_read: OnRead | None = None
    ) -> tuple[str, int]:
        # With a known digest the temporary file goes next to its final name; otherwise
        # into the sha256 folder, on the same file system, so the rename stays atomic.
        folder = self._path(expected).parent if expected else self._base
        self._folder(folder)
        with temp_file(folder) as (fh, tmp):
            # Held until the copy is renamed into place (the file closes after): garbage
            # collection leaves a locked copy alone (see collect_leftovers).
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            hasher = hashlib.sha256()
            size = 0
            for chunk in _blobs.read_chunks(src, on_read):
                hasher.update(chunk)
                fh.write(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
            digest = hasher.hexdigest()
            if expected is not None and digest != expected:
                raise digest_mismatch(src, expected, digest)
            os.fchmod(fh.fileno(), 0o444)
            final = self._path(digest)
            if final.is_file():
                self.touch(digest)
                return digest, size
            self._folder(final.parent)
            tmp.replace(final)
            added = self._added()
            if added is not None:
                added.files.append(final)
                added.digests.add(digest)
            fsync_dir(final.parent)
        return digest, size
