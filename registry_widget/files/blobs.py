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
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from registry_widget._fs import fsync_dir, temp_file
from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    RegistryError,
    StorageError,
    ValidationError,
)
from registry_widget.files.blobpack import PACK_NAME, BlobPack, Span

__all__ = [
    "CHUNK_SIZE",
    "PACK_LIMIT",
    "Added",
    "BlobStore",
    "FileBlobStore",
    "MemoryBlobStore",
    "check_digest",
]

CHUNK_SIZE = 1024 * 1024
"""Files are read and written in chunks of this many bytes (1 MiB)."""

PACK_LIMIT = 64 * 1024
"""Files up to this size (64 KiB) go into the pack of a store that uses one."""

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
    StorageError
        If the file cannot be opened or read (no permission, an I/O error).
    """
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        msg = f"file {str(path)!r} does not exist"
        raise NotFoundError(msg) from None
    except OSError as exc:
        raise StorageError.from_os_error(exc, f"read file {str(path)!r}") from exc
    with fh:
        before = os.fstat(fh.fileno())
        total = 0
        # Read no more than the size seen at the start, so a file that keeps growing
        # cannot keep the loop going; the checks below notice the change.
        while total < before.st_size:
            try:
                chunk = fh.read(min(CHUNK_SIZE, before.st_size - total))
            except OSError as exc:
                raise StorageError.from_os_error(exc, f"read file {str(path)!r}") from exc
            if not chunk:
                break
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


@dataclass
class Added:
    """What one call added to a blob store, so that a refusal can take it back.

    Attributes
    ----------
    digests
        The blobs the call stored that were not there before.
    files
        Blob files the call created (a folder store's loose blobs).
    folders
        Folders the call created, outermost first.
    spans
        Records the call appended to the pack, ``(start, end)`` offsets.
    """

    digests: set[str] = field(default_factory=set)
    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.digests or self.files or self.folders or self.spans)


class BlobStore(ABC):
    """Where artifact file contents are kept, each under its sha256 digest.

    ``parallel_reads`` is how many blobs a download reads at once: 1 for local stores,
    more for remote ones, whose latency dominates small files.

    Subclasses implement the six abstract methods. :meth:`ingest` has a default
    implementation that reads the file twice (hash, then :meth:`put_file`); stores that
    can hash while copying override it.

    Blobs are never removed while a version refers to them; removing the others is
    garbage collection (:func:`registry_widget.domain.garbage.collect_garbage`), which leaves
    alone blobs stored or stored again (:meth:`touch`) within a grace period.
    """

    parallel_reads = 1

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

    def missing(self, digests: Sequence[str]) -> set[str]:
        """The digests among ``digests`` whose blobs are not in the store.

        Remote stores override it to look them up concurrently.
        """
        return {digest for digest in digests if not self.has(digest)}

    def collect_leftovers(self, older_than: float) -> int:
        """Remove unfinished uploads begun before ``older_than`` (epoch seconds); count them.

        Stores whose uploads are atomic leave none (the default); garbage collection
        calls it with the same grace period as for blobs.
        """
        return 0

    def touch(self, digest: str) -> None:  # noqa: B027 - optional hook
        """Record that the blob ``digest`` was just relied on (stored again): it is young."""

    def last_used(self, digest: str) -> float | None:
        """When the blob was last stored or touched (seconds since the epoch); None: unknown."""
        check_digest(digest)
        return None

    def size(self, digest: str) -> int:
        """The size in bytes of the blob ``digest``.

        Raises
        ------
        NotFoundError
            If the blob is not in the store.
        """
        with self.open(digest) as fh:
            return fh.seek(0, io.SEEK_END)

    @contextlib.contextmanager
    def recording(self) -> Iterator[Added]:
        """Collect what this thread adds to the store during the block (see :meth:`discard`)."""
        local = self.__dict__.setdefault("_recording", threading.local())
        outer = getattr(local, "added", None)
        added = Added()
        local.added = added
        try:
            yield added
        finally:
            local.added = outer

    def _added(self) -> Added | None:
        local = self.__dict__.get("_recording")
        return getattr(local, "added", None) if local is not None else None

    def discard(self, added: Added, keep: Collection[str]) -> None:
        """Take back what a refused call added, except the blobs in ``keep``.

        Call it under the document store's lock, with ``keep`` the digests among
        ``added.digests`` that committed versions refer to.
        """
        for digest in added.digests - set(keep):
            self.remove(digest)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the files and connections the store holds (nothing by default).

        A closed store opens what it needs again if it is used after all.
        """

    def sync(self) -> None:  # noqa: B027 - optional hook
        """Make every blob added so far durable.

        Stores whose :meth:`put_file` and :meth:`ingest` are durable on return have
        nothing to do (the default). The document store calls this before it commits a
        transaction, so a committed version never refers to bytes a crash could lose.
        """

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

    def ingest_many(
        self, sources: Sequence[Path], *, on_read: OnRead | None = None
    ) -> list[tuple[str, int]]:
        """:meth:`ingest` each file in turn; ``(digest, size)`` in the order given.

        Remote stores override it to upload several files at once.
        """
        return [self.ingest(src, on_read=on_read) for src in sources]


def _mismatch(src: Path, digest: str, actual: str) -> ValidationError:
    msg = f"file {str(src)!r} has sha256 {actual}, not the digest {digest} it was stored under"
    return ValidationError(msg, field="digest", value=digest)


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
        self.pack_limit = pack_limit
        self._pack = BlobPack(self.root / PACK_NAME) if pack_limit > 0 else None

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    @property
    def _base(self) -> Path:
        return self.root / "sha256"

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self._base / digest[:2] / digest[2:]

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
                    if _DIGEST_RE.fullmatch(digest) and blob.is_file():
                        found.add(digest)
        yield from sorted(found)

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
        data = b"".join(read_chunks(src, on_read))
        digest = hashlib.sha256(data).hexdigest()
        if expected is not None and digest != expected:
            raise _mismatch(src, expected, digest)
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


class MemoryBlobStore(BlobStore):
    """Blobs kept in a dictionary, for in-memory stores and tests."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._used: dict[str, float] = {}

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
        self._used.pop(digest, None)

    def touch(self, digest: str) -> None:  # noqa: D102
        if self.has(digest):
            self._used[digest] = time.time()

    def last_used(self, digest: str) -> float | None:  # noqa: D102
        return self._used.get(check_digest(digest))

    def _store(self, digest: str, data: bytes) -> None:
        if digest not in self._blobs:
            self._blobs[digest] = data
            added = self._added()
            if added is not None:
                added.digests.add(digest)
        self._used[digest] = time.time()

    def digests(self) -> Iterator[str]:  # noqa: D102
        yield from sorted(self._blobs)

    def put_file(self, src: Path, digest: str) -> None:  # noqa: D102
        if self.has(digest):
            self.touch(digest)
            return
        data = b"".join(read_chunks(src))
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise _mismatch(src, digest, actual)
        self._store(digest, data)

    def ingest(self, src: Path, *, on_read: OnRead | None = None) -> tuple[str, int]:
        """Hash ``src`` while reading it into memory (one read); see :meth:`BlobStore.ingest`."""
        data = b"".join(read_chunks(src, on_read))
        digest = hashlib.sha256(data).hexdigest()
        self._store(digest, data)
        return digest, len(data)
