"""Content-addressed blob stores: where the bytes of artifact files live.

A blob is the content of one file, named by its sha256 digest (64 lowercase hex
characters). :class:`BlobStore` is the small interface the rest of the package talks to;
its backends are subclasses, each in a module of its own:
:class:`~registry_widget.files.folder.FileBlobStore` keeps blobs in a local folder,
:class:`~registry_widget.files.memory.MemoryBlobStore` in a dictionary and
:class:`~registry_widget.files.s3.S3BlobStore` in an S3 bucket.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from registry_widget.files.blobpack import Span
from registry_widget.files.sources import open_source

__all__ = [
    "CHUNK_SIZE",
    "Added",
    "BlobStore",
    "check_digest",
    "digest_mismatch",
    "is_digest",
]

CHUNK_SIZE = 1024 * 1024
"""Files are read and written in chunks of this many bytes (1 MiB)."""

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")

OnRead = Callable[[int], object]
"""Called with the number of bytes just read, for progress reporting."""


def is_digest(text: str) -> bool:
    """Tell whether ``text`` is a digest: 64 lowercase hex characters."""
    return _DIGEST_RE.fullmatch(text) is not None


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
        fh = open_source(path)
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
        """Remove unfinished uploads idle since before ``older_than`` (epoch seconds); count them.

        Stores whose uploads are atomic leave none (the default); garbage collection
        calls it with the same grace period as for blobs. A store never removes what an
        upload still in progress uses, whatever ``older_than``: it tells a live uploader
        from a killed one its own way, with a floor of its own (the folder store: a lock
        and :data:`~registry_widget.files.folder.LEFTOVER_MIN_AGE_S`; the S3 store: the
        times of the upload's parts and
        :data:`~registry_widget.files.s3.LEFTOVER_MIN_AGE_S`).
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


def digest_mismatch(src: Path, digest: str, actual: str) -> ValidationError:
    """Return the refusal of ``src`` stored under ``digest`` when it hashes to ``actual``."""
    msg = f"file {str(src)!r} has sha256 {actual}, not the digest {digest} it was stored under"
    return ValidationError(msg, field="digest", value=digest)
