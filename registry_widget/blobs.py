"""Content-addressed blob stores: where the bytes of artifact files live.

A blob is the content of one file, named by its sha256 digest (64 lowercase hex
characters). :class:`BlobStore` is the small interface the rest of the package talks to;
:class:`FileBlobStore` keeps blobs in a local folder and :class:`MemoryBlobStore` in a
dictionary. A server or object-store backend is another subclass.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from registry_widget.errors import ConflictError, NotFoundError, ValidationError

__all__ = [
    "CHUNK_SIZE",
    "BlobStore",
    "FileBlobStore",
    "MemoryBlobStore",
    "check_digest",
]

CHUNK_SIZE = 1024 * 1024
"""Files are read and written in chunks of this many bytes (1 MiB)."""

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")

OnRead = Callable[[int], object]
"""Called with the number of bytes just read, for progress reporting."""


def check_digest(digest: object, *, field: str = "digest") -> str:
    """Return ``digest`` if it is a sha256 hex digest, else raise.

    Parameters
    ----------
    digest
        The value to check: 64 lowercase hexadecimal characters.
    field
        The field name used in the error.

    Raises
    ------
    ValidationError
        If ``digest`` is not a string of 64 lowercase hex characters.
    """
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        msg = f"{field} {digest!r} is not a sha256 digest; expected 64 lowercase hex characters"
        raise ValidationError(msg, field=field, value=digest)
    return digest


def read_chunks(path: Path, on_read: OnRead | None = None) -> Iterator[bytes]:
    """Yield the content of the file at ``path`` in chunks of :data:`CHUNK_SIZE` bytes.

    After the last chunk the file's size and modification time are compared with those
    seen before the first one; a file that changed while it was read is refused.

    Raises
    ------
    NotFoundError
        If ``path`` does not exist.
    ConflictError
        If the file changed while it was being read.
    """
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        msg = f"file {str(path)!r} does not exist"
        raise NotFoundError(msg) from None
    with fh:
        before = os.fstat(fh.fileno())
        total = 0
        # Read no more than the size seen at the start, so a file that keeps growing
        # cannot keep the loop going; the checks below notice the change.
        while total < before.st_size and (
            chunk := fh.read(min(CHUNK_SIZE, before.st_size - total))
        ):
            total += len(chunk)
            if on_read is not None:
                on_read(len(chunk))
            yield chunk
        after = os.fstat(fh.fileno())
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or (
        total != after.st_size
    ):
        msg = (
            f"file {str(path)!r} changed while it was being read "
            f"(size {before.st_size} -> {after.st_size} bytes, {total} read); "
            "log it again once nothing is writing to it"
        )
        raise ConflictError(msg)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk, where the platform allows it (not on Windows)."""
    if os.name == "nt":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def temp_file(folder: Path, *, mode: int = 0o666) -> Iterator[tuple[BinaryIO, Path]]:
    """Create a fresh temporary file in ``folder``; remove it unless it was renamed away.

    The file is created exclusively (``O_EXCL``) with ``mode`` filtered by the umask and
    a hidden ``.part`` name (128 random bits) that no digest can take.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    tmp = folder / f".tmp-{secrets.token_hex(16)}.part"
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh, tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            _unlink(tmp)


def _unlink(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover - read-only files cannot be removed on Windows
        with contextlib.suppress(OSError):
            path.chmod(stat.S_IWRITE | stat.S_IREAD)
    path.unlink()


class BlobStore(ABC):
    """Where artifact file contents are kept, each under its sha256 digest.

    Subclasses implement the six abstract methods. :meth:`ingest` has a default
    implementation that reads the file twice (hash, then :meth:`put_file`); stores that
    can hash while copying override it.
    """

    @abstractmethod
    def has(self, digest: str) -> bool:
        """Return whether the blob ``digest`` is in the store."""

    @abstractmethod
    def put_file(self, src: Path, digest: str) -> None:
        """Copy the file ``src``, whose sha256 is ``digest``, into the store.

        Does nothing if the blob is already present.

        Raises
        ------
        ValidationError
            If the content of ``src`` does not hash to ``digest``; nothing is stored.
        """

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """Open the blob ``digest`` for reading (binary).

        Raises
        ------
        NotFoundError
            If the blob is not in the store.
        """

    @abstractmethod
    def path_hint(self, digest: str) -> Path | None:
        """Return a local file holding the blob, or None if the store has no such file."""

    @abstractmethod
    def remove(self, digest: str) -> None:
        """Remove the blob ``digest``; removing an absent blob does nothing."""

    @abstractmethod
    def digests(self) -> Iterator[str]:
        """Iterate over the digests of all blobs in the store (in no particular order)."""

    def ingest(self, src: Path, *, on_read: OnRead | None = None) -> tuple[str, int]:
        """Hash the file ``src``, store it, and return its ``(sha256 hex, size)``.

        Parameters
        ----------
        src
            The file to add.
        on_read
            Called with the number of bytes after each chunk read (for progress bars).

        Raises
        ------
        NotFoundError
            If ``src`` does not exist.
        ConflictError
            If ``src`` changed while it was being read; nothing is stored.
        """
        hasher = hashlib.sha256()
        size = 0
        for chunk in read_chunks(src, on_read):
            hasher.update(chunk)
            size += len(chunk)
        digest = hasher.hexdigest()
        self.put_file(src, digest)
        return digest, size


def _mismatch(src: Path, digest: str, actual: str) -> ValidationError:
    msg = f"file {str(src)!r} has sha256 {actual}, not the digest {digest} it was stored under"
    return ValidationError(msg, field="digest", value=digest)


class FileBlobStore(BlobStore):
    """Blobs as read-only files in a local folder, ``root/sha256/ab/cdef…``.

    The first two hex characters of a digest name a subfolder and the other 62 the file.
    Blobs are written to a temporary file, flushed, and renamed into place, so a blob
    never exists half-written under its final name. Folders are created on first write.

    Parameters
    ----------
    root
        The folder holding the store (created when the first blob is added).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    @property
    def _base(self) -> Path:
        return self.root / "sha256"

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self._base / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:  # noqa: D102 - documented on BlobStore
        return self._path(digest).is_file()

    def path_hint(self, digest: str) -> Path | None:  # noqa: D102
        path = self._path(digest)
        return path if path.is_file() else None

    def open(self, digest: str) -> BinaryIO:  # noqa: D102
        try:
            return self._path(digest).open("rb")
        except FileNotFoundError:
            msg = f"blob {digest} is not in the blob store at {str(self.root)!r}"
            raise NotFoundError(msg) from None

    def remove(self, digest: str) -> None:  # noqa: D102
        path = self._path(digest)
        with contextlib.suppress(FileNotFoundError):
            _unlink(path)

    def digests(self) -> Iterator[str]:  # noqa: D102
        if not self._base.is_dir():
            return
        for sub in sorted(self._base.iterdir()):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for blob in sorted(sub.iterdir()):
                digest = sub.name + blob.name
                if _DIGEST_RE.fullmatch(digest) and blob.is_file():
                    yield digest

    def put_file(self, src: Path, digest: str) -> None:  # noqa: D102
        if self.has(digest):
            return
        self._write(src, expected=digest)

    def ingest(self, src: Path, *, on_read: OnRead | None = None) -> tuple[str, int]:
        """Hash ``src`` while copying it into the store (one read); see :meth:`BlobStore.ingest`."""
        return self._write(src, expected=None, on_read=on_read)

    def _write(
        self, src: Path, *, expected: str | None, on_read: OnRead | None = None
    ) -> tuple[str, int]:
        # With a known digest the temporary file goes next to its final name; otherwise
        # into the sha256 folder, on the same file system, so the rename stays atomic.
        folder = self._path(expected).parent if expected else self._base
        folder.mkdir(parents=True, exist_ok=True)
        with temp_file(folder) as (fh, tmp):
            hasher = hashlib.sha256()
            size = 0
            for chunk in read_chunks(src, on_read):
                hasher.update(chunk)
                fh.write(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            digest = hasher.hexdigest()
            if expected is not None and digest != expected:
                raise _mismatch(src, expected, digest)
            tmp.chmod(0o444)
            final = self._path(digest)
            if final.is_file():
                return digest, size
            final.parent.mkdir(exist_ok=True)
            try:
                tmp.replace(final)
            except PermissionError:  # pragma: no cover - Windows, a concurrent writer won
                if not final.is_file():
                    raise
                return digest, size
            fsync_dir(final.parent)
        return digest, size


class MemoryBlobStore(BlobStore):
    """Blobs kept in a dictionary, for in-memory stores and tests."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"MemoryBlobStore(<{len(self._blobs)} blobs>)"

    def has(self, digest: str) -> bool:  # noqa: D102 - documented on BlobStore
        return check_digest(digest) in self._blobs

    def path_hint(self, digest: str) -> Path | None:  # noqa: D102
        check_digest(digest)
        return None

    def open(self, digest: str) -> BinaryIO:  # noqa: D102
        try:
            return io.BytesIO(self._blobs[check_digest(digest)])
        except KeyError:
            msg = f"blob {digest} is not in the in-memory blob store"
            raise NotFoundError(msg) from None

    def remove(self, digest: str) -> None:  # noqa: D102
        self._blobs.pop(check_digest(digest), None)

    def digests(self) -> Iterator[str]:  # noqa: D102
        yield from sorted(self._blobs)

    def put_file(self, src: Path, digest: str) -> None:  # noqa: D102
        if self.has(digest):
            return
        data = b"".join(read_chunks(src))
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise _mismatch(src, digest, actual)
        self._blobs[digest] = data

    def ingest(self, src: Path, *, on_read: OnRead | None = None) -> tuple[str, int]:
        """Hash ``src`` while reading it into memory (one read); see :meth:`BlobStore.ingest`."""
        data = b"".join(read_chunks(src, on_read))
        digest = hashlib.sha256(data).hexdigest()
        self._blobs.setdefault(digest, data)
        return digest, len(data)
