"""A pack file: many small blobs appended to one file, made durable by one fdatasync.

Writing each small blob to a file of its own costs a file creation, a rename and two
fsyncs (the file and its folder). A pack appends the blob to one file instead; the bytes
become durable with the next :meth:`BlobPack.sync`, which the store runs once before it
commits the transaction that refers to them (so a batch of many versions costs one).

Layout: a sequence of records, each a 45-byte header followed by its payload::

    b"RWB1"  kind  sha256 (32 raw bytes)  length of the payload (8 bytes BE)

The kinds: ``b"+"`` a blob (the payload is its bytes), ``b"-"`` a removal (no payload)
and ``b"@"`` a use (the payload is the time, in nanoseconds since the epoch, 8 bytes BE,
at which the blob was stored or last stored again). A removal record hides the blobs of
its digest written before it; the bytes themselves stay in the file (reclaiming them is a
compaction, not done here). Use records let garbage collection leave alone a blob that a
logger has just relied on. The index (digest -> offset and length, and last use) is built
by reading the headers when the pack is first used and extended as the file grows, also
by other processes; a pack cut back (a refused call takes back what it appended) is read
again from the start.

Appends take an exclusive ``flock`` on the pack, so records of several processes never
interleave. A ``flock`` belongs to an open file, which a forked child shares with its
parent: a pack used in another process than the one that opened its file drops the
inherited descriptor (without unlocking it), forgets its index and opens the file again.
A record cut short at the end of the file (a process or the machine died while appending)
was never synced, so no committed version refers to it: readers ignore it and the next
writer cuts it off. A record whose header is damaged and that is followed by anything but
zeros is damage: the blobs before it stay readable, and writing is refused with
:class:`~registry_widget.errors.StoreCorruptedError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import itertools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from registry_widget._fs import fdatasync, fsync_dir
from registry_widget.errors import StoreCorruptedError

__all__ = ["PACK_NAME", "BlobPack"]

PACK_NAME = "blobs.pack"
"""The pack's file name inside the blob store's folder."""

MAGIC = b"RWB1"
PUT = b"+"
REMOVE = b"-"
USE = b"@"
HEADER = 45
_SCAN_CHUNK = 1 << 20

USE_INTERVAL_NS = 60 * 10**9
"""A blob used again is recorded as used at most once a minute (the age's resolution)."""

Span = tuple[int, int]
"""The offsets ``(start, end)`` of records appended to the pack."""

_LENGTH_BITS = 64
"""Where a blob is, held in the index as one int: its offset above the 64 bits of its
length (a record header's 8 bytes)."""


def _place(offset: int, length: int) -> int:
    return offset << _LENGTH_BITS | length


def _where(place: int) -> tuple[int, int]:
    return place >> _LENGTH_BITS, place & ((1 << _LENGTH_BITS) - 1)


def _header(kind: bytes, digest: str, length: int) -> bytes:
    return MAGIC + kind + bytes.fromhex(digest) + length.to_bytes(8, "big")


class BlobPack:
    """The pack file ``path``: append, look up and read small blobs.

    Parameters
    ----------
    path
        The pack file; created (with its folder) on the first append.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0  # the process that opened ``_fd``
        # digest -> where its bytes are (_place): an int, not a tuple, so that the index
        # of a large pack is no container the garbage collector walks
        self._index: dict[str, int] = {}
        self._end = 0  # the offset after the last complete record read
        self._damaged: int | None = None  # offset of a damaged record followed by data
        self._dirty = False  # appended (or relied on) bytes not synced by this process
        self._used: dict[str, int] = {}  # digest -> last use, in ns since the epoch
        self._last: tuple[int, bytes] | None = None  # the last header indexed, and where
        self._local = threading.local()  # .spans: what this thread appends, when recording

    # -- reading -----------------------------------------------------------------------

    def _open(self, *, create: bool) -> int | None:
        if self._fd is not None and self._pid != os.getpid():
            # A forked child: the descriptor, and with it any lock on it, is the parent's.
            # Closing it leaves the parent's lock alone (the parent keeps its own); what
            # was indexed is the parent's view, which appends since may have overtaken.
            os.close(self._fd)
            self._fd = None
            self._forget()
        if self._fd is not None and os.fstat(self._fd).st_nlink == 0:
            # Removed by a refused call that had created it: start again with the new one.
            os.close(self._fd)
            self._fd = None
            self._forget()
        if self._fd is None:
            flags = os.O_RDWR | os.O_APPEND
            try:
                self._fd = os.open(self.path, flags)
            except FileNotFoundError:
                if not create:
                    return None
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, flags | os.O_CREAT, 0o644)
                # The new file's name must survive a crash too (once per store).
                fsync_dir(self.path.parent)
                fsync_dir(self.path.parent.parent)
            self._pid = os.getpid()
        return self._fd

    def _catch_up(self, fd: int) -> int:
        """Index the records appended since the last look; return the file's size."""
        size = os.fstat(fd).st_size
        if size < self._end or (
            self._last is not None and os.pread(fd, HEADER, self._last[0]) != self._last[1]
        ):
            self._forget()  # the pack was cut back: what was indexed may be gone
        if size > self._end and self._damaged is None:
            self._scan(fd, size)
        return size

    def _forget(self) -> None:
        self._index.clear()
        self._used.clear()
        self._end = 0
        self._last = None
        self._damaged = None

    def _scan(self, fd: int, size: int) -> None:
        index = self._index
        pos = self._end
        while pos + HEADER <= size:
            chunk = os.pread(fd, min(_SCAN_CHUNK, size - pos), pos)
            at, n = 0, len(chunk)
            while at + HEADER <= n:
                kind = chunk[at + 4 : at + 5]
                if chunk[at : at + 4] != MAGIC or kind not in (PUT, REMOVE, USE):
                    self._bad_record(fd, pos + at, size)
                    return
                length = int.from_bytes(chunk[at + 37 : at + 45], "big")
                start = pos + at + HEADER
                if start + length > size:
                    return  # cut short: never synced, so never referred to
                digest = chunk[at + 5 : at + 37].hex()
                if kind == PUT:
                    index[digest] = _place(start, length)
                elif kind == USE:
                    payload = chunk[at + HEADER : at + HEADER + 8]
                    if len(payload) < 8:
                        payload = os.pread(fd, 8, start)
                    self._used[digest] = int.from_bytes(payload, "big")
                else:
                    index.pop(digest, None)
                    self._used.pop(digest, None)
                self._last = (pos + at, bytes(chunk[at : at + HEADER]))
                at += HEADER + length
                self._end = start + length
            if self._end == pos:
                return  # a short read: try again next time
            pos = self._end

    def _bad_record(self, fd: int, offset: int, size: int) -> None:
        rest = os.pread(fd, min(size - offset, _SCAN_CHUNK), offset)
        if rest.strip(b"\x00") or size - offset > _SCAN_CHUNK:
            self._damaged = offset
        # else: zeros after the last record, left by a crash while appending

    def find(self, digest: str) -> tuple[int, int] | None:
        """Where the blob ``digest`` is (offset, length), or None."""
        with self._lock:
            fd = self._open(create=False)
            if fd is None:
                return None
            self._catch_up(fd)
            found = self._index.get(digest)
            return None if found is None else _where(found)

    def read(self, digest: str) -> bytes | None:
        """The bytes stored for ``digest`` (not checked against it), or None."""
        with self._lock:
            fd = self._open(create=False)
            if fd is None:
                return None
            self._catch_up(fd)
            found = self._index.get(digest)
            if found is None:
                return None
            offset, length = _where(found)
            return os.pread(fd, length, offset)

    def last_used(self, digest: str) -> float | None:
        """When the blob ``digest`` was last stored (seconds since the epoch), or None."""
        with self._lock:
            fd = self._open(create=False)
            if fd is None:
                return None
            self._catch_up(fd)
            used = self._used.get(digest)
            return None if used is None or digest not in self._index else used / 1e9

    def open(self, digest: str) -> BinaryIO | None:
        """The blob ``digest`` as a readable binary file, or None."""
        data = self.read(digest)
        return None if data is None else io.BytesIO(data)

    def digests(self) -> Iterator[str]:
        """The digests of the blobs in the pack (not removed)."""
        with self._lock:
            fd = self._open(create=False)
            if fd is not None:
                self._catch_up(fd)
            found = list(self._index)
        yield from found

    # -- writing -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _appending(self) -> Iterator[int]:
        """Hold the pack's lock with every complete record indexed and no torn tail."""
        with self._lock:
            while True:
                fd = self._open(create=True)
                assert fd is not None
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_nlink:
                    break
                fcntl.flock(fd, fcntl.LOCK_UN)  # removed while we waited: take the new one
            try:
                size = self._catch_up(fd)
                if self._damaged is not None:
                    msg = (
                        f"the blob pack {self.path} has a damaged record at byte "
                        f"{self._damaged} followed by more data; nothing more is written "
                        "to it. Restore the blob store from a backup"
                    )
                    raise StoreCorruptedError(msg)
                if size != self._end:
                    os.ftruncate(fd, self._end)  # the torn tail of an append that died
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def add(self, digest: str, data: bytes) -> None:
        """Append ``data`` (whose sha256 is ``digest``) unless an intact copy is there.

        The bytes are durable after the next :meth:`sync`.
        """
        with self._appending() as fd:
            found = self._index.get(digest)
            if found is not None:
                offset, length = _where(found)
                existing = os.pread(fd, length, offset)
                if hashlib.sha256(existing).hexdigest() == digest:
                    self._dirty = True  # maybe another process's, and not synced yet
                    self._use(fd, digest)
                    return
            start = self._end
            stamp = time.time_ns()
            record = _header(PUT, digest, len(data)) + data + _use(digest, stamp)
            self._write(fd, record)
            self._index[digest] = _place(start + HEADER, len(data))
            self._used[digest] = stamp

    def touch(self, digest: str) -> bool:
        """Record that the blob ``digest`` was used now; False if it is not in the pack.

        A use is appended only when the last one is older than :data:`USE_INTERVAL_NS`.
        """
        if self.find(digest) is None:
            return False
        with self._appending() as fd:
            if digest not in self._index:
                return False
            self._dirty = True  # maybe another process's, and not synced yet
            self._use(fd, digest)
        return True

    def _use(self, fd: int, digest: str) -> None:
        stamp = time.time_ns()
        if stamp - self._used.get(digest, 0) >= USE_INTERVAL_NS:
            self._write(fd, _use(digest, stamp))
            self._used[digest] = stamp

    def remove(self, digest: str) -> bool:
        """Hide the blob ``digest``; False if it was not in the pack."""
        if self.find(digest) is None:
            return False
        with self._appending() as fd:
            if digest in self._index:
                self._write(fd, _header(REMOVE, digest, 0))
                del self._index[digest]
                self._used.pop(digest, None)
        return True

    def length(self, digest: str) -> int | None:
        """The size in bytes of the blob ``digest``, or None if it is not in the pack."""
        found = self.find(digest)
        return None if found is None else found[1]

    # -- taking back what a refused call appended -------------------------------------------

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Span]]:
        """Collect the spans of the records this thread appends during the block."""
        outer = getattr(self._local, "spans", None)
        spans: list[Span] = []
        self._local.spans = spans
        try:
            yield spans
        finally:
            self._local.spans = outer
            if outer is not None:
                outer.extend(spans)

    def take_back(self, spans: list[Span]) -> bool:
        """Cut the pack back to before ``spans``, if nothing else was appended since.

        The spans must be the records of one call (see :meth:`recording`) that nothing
        committed refers to. Returns whether the pack was cut back.
        """
        if not spans or self._fd is None:
            return not spans
        with self._appending() as fd:
            ordered = sorted(spans)
            contiguous = all(a[1] == b[0] for a, b in itertools.pairwise(ordered))
            if not contiguous or ordered[-1][1] != self._end:
                return False  # another writer appended after (or between) them
            if ordered[0][0] == 0:
                # The pack held nothing before: remove the file that the call created.
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            os.ftruncate(fd, ordered[0][0])
            self._forget()
            self._catch_up(fd)
        return True

    def _write(self, fd: int, record: bytes) -> None:
        end = self._end
        try:
            view = memoryview(record)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
            raise
        self._end = end + len(record)
        self._dirty = True
        spans = getattr(self._local, "spans", None)
        if spans is not None:
            spans.append((end, self._end))

    def sync(self) -> None:
        """Make every record appended (or relied on) so far durable: one fdatasync."""
        with self._lock:
            if self._dirty and self._fd is not None:
                fdatasync(self._fd)
                self._dirty = False

    def close(self) -> None:
        """Close the pack file."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _use(digest: str, stamp: int) -> bytes:
    return _header(USE, digest, 8) + stamp.to_bytes(8, "big")
