"""Blobs kept in a dictionary: the blob store of an in-memory store, and of tests."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from registry_widget.errors import NotFoundError
from registry_widget.files import blobs as _blobs
from registry_widget.files.blobs import BlobStore, OnRead, check_digest, digest_mismatch

__all__ = ["MemoryBlobStore"]


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
        data = b"".join(_blobs.read_chunks(src))
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise digest_mismatch(src, digest, actual)
        self._store(digest, data)

    def ingest(self, src: Path, *, on_read: OnRead | None = None) -> tuple[str, int]:
        """Hash ``src`` while reading it into memory (one read); see :meth:`BlobStore.ingest`."""
        data = b"".join(_blobs.read_chunks(src, on_read))
        digest = hashlib.sha256(data).hexdigest()
        self._store(digest, data)
        return digest, len(data)
