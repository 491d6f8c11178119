"""Opening a file store and following its files: the snapshot, the journal, the lock.

:class:`JSONFileFollower` is the reading half of
:class:`~registry_widget.store.jsonfile.JSONFileStore` (see there for the files and how
they work together): it keeps the store's files open, checks on every read whether
another process committed (the journal grew) or folded (a new snapshot or journal), reads
the snapshot and replays or follows the journal, and refuses damage with
:class:`~registry_widget.errors.StoreCorruptedError`. Committing and folding are the
file store's own.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry_widget.errors import (
    RegistryError,
    StorageError,
    StoreCorruptedError,
    StoreLockedError,
    ValidationError,
)
from registry_widget.store.base import WorkingSetStore
from registry_widget.store.interface import STORE_FORMAT
from registry_widget.store.joined import drop_joined
from registry_widget.store.journal import parse_header, parse_records
from registry_widget.store.lockfile import FileLock
from registry_widget.store.snapshot import Generation, read_snapshot
from registry_widget.store.table import Tables

__all__ = ["JSONFileFollower", "Signature", "check_layout", "refusing_os_errors", "signature"]

LOCK_TIMEOUT_S = 60.0
_RELOAD_ATTEMPTS = 5
"""Reads of the files without the lock before reading them under it (folds overtook each)."""

Signature = tuple[int, int, int]
"""A file's identity as last seen: inode, size and modification time."""


@contextlib.contextmanager
def refusing_os_errors(path: Path, what: str) -> Iterator[None]:
    """Turn an error of the file system (no permission, an I/O error) into a StorageError."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, RegistryError):
            raise
        raise StorageError.from_os_error(exc, f"{what} the store {path}") from exc


def signature(st: os.stat_result) -> Signature:
    """The identity of the file ``st`` describes."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def check_layout(tables: Tables, path: Path) -> Tables:
    """Check that ``tables`` hold a registry store (the ``meta`` marker)."""
    meta = tables.get("meta", {}).get(1)
    if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
        msg = (
            f"{path} is a TinyDB file but not a registry store (no {STORE_FORMAT!r} marker "
            "in its 'meta' table); it was left untouched"
        )
        raise StoreCorruptedError(msg)
    return tables


class JSONFileFollower(WorkingSetStore):
    """The store file at ``path`` and its journal, opened and followed (not yet read).

    Parameters
    ----------
    path
        The store file. Its folder is created when it does not exist.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path).absolute()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self._path, self._journal = str(self.path), str(self.journal_path)
        if self.path.is_dir():
            msg = (
                f"the store location {str(path)!r} is a folder; expected the path of a store "
                "file (such as 'registry.json'), existing or to be created"
            )
            raise ValidationError(msg, field="location", value=str(path))
        with refusing_os_errors(self.path, "create the folder of"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(str(self.lock_path), LOCK_TIMEOUT_S)
        self._snapshot: Signature | None = None  # the snapshot in the working set
        self._generation: Generation | None = None
        self._snapshot_size = 0
        self._journal_ino: int | None = None  # the journal last read (valid or not)
        self._journal_valid = False  # whether it continues the snapshot
        self._journal_end = 0  # offset after the last record applied
        self._journal_seen = 0  # the journal's size when last read
        self._fd: int | None = None  # the journal, open for appending
        self._snapshot_fd: int | None = None  # the snapshot read, open for fstat
        self._reader_fd: int | None = None  # the journal followed, open for reading

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._set_reader(None)
        self._set_snapshot_fd(None)

    def _set_reader(self, fd: int | None) -> None:
        if self._reader_fd is not None:
            os.close(self._reader_fd)
        self._reader_fd = fd

    def _set_snapshot_fd(self, fd: int | None) -> None:
        if self._snapshot_fd is not None:
            os.close(self._snapshot_fd)
        self._snapshot_fd = fd

    def _hold_snapshot(self, st: os.stat_result) -> None:
        """Keep the snapshot just read or written open, to check it with one fstat."""
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except FileNotFoundError:
            fd = None
        if fd is not None and os.fstat(fd).st_ino != st.st_ino:
            os.close(fd)
            fd = None
        self._set_snapshot_fd(fd)

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[object]:
        with refusing_os_errors(self.path, "lock"):
            acquired = self._file_lock.acquire()
        if not acquired:
            msg = (
                f"the store {self.path} is locked by another process (lock file "
                f"{self.lock_path}) and stayed locked for {self._file_lock.timeout:.0f} s"
            )
            raise StoreLockedError(msg) from None
        try:
            yield self._file_lock
        finally:
            self._file_lock.release()

    # -- freshness -------------------------------------------------------------------------

    def _unchanged(self) -> bool:
        # The common case of every read, without taking the thread lock: both files held
        # open are still linked, the snapshot unchanged, the journal not grown. Any doubt
        # (a descriptor closed meanwhile by another thread) takes the locked path.
        fd, reader = self._snapshot_fd, self._reader_fd
        if fd is None or reader is None:
            return False
        try:
            st = os.fstat(fd)
            jst = os.fstat(reader)
        except OSError:
            return False
        return bool(
            st.st_nlink
            and jst.st_nlink
            and jst.st_size == self._journal_seen
            and (st.st_ino, st.st_size, st.st_mtime_ns) == self._snapshot
        )

    def _refresh_unlocked(self) -> None:
        with refusing_os_errors(self.path, "read"):
            self._refresh(locked=False)

    def _refresh_locked(self) -> None:
        with refusing_os_errors(self.path, "read"):
            self._refresh(locked=True)

    def _refresh(self, *, locked: bool) -> None:
        if not locked and self._snapshot_fd is not None:
            # The fast check on every read: the files held open are still linked (not
            # replaced by a fold nor deleted) and unchanged but for journal growth.
            st = os.fstat(self._snapshot_fd)
            if st.st_nlink and signature(st) == self._snapshot:
                if self._reader_fd is None:
                    return  # a snapshot without journal: a writer folds before appending
                jst = os.fstat(self._reader_fd)
                if jst.st_nlink:
                    if jst.st_size != self._journal_seen:
                        self._read_journal(locked=locked)
                    return
        try:
            st = os.stat(self._path)  # noqa: PTH116 - the cheapest check, on every read
        except FileNotFoundError:
            if self._snapshot is not None:
                msg = f"the store file {self.path} was deleted while it was open"
                raise StoreCorruptedError(msg) from None
            if self.journal_path.exists():
                msg = (
                    f"the store file {self.path} is missing but its journal "
                    f"{self.journal_path} exists; both were left untouched. Restore the "
                    "store file from a backup"
                )
                raise StoreCorruptedError(msg) from None
            return  # a new store: the first transaction creates the files
        if signature(st) != self._snapshot:
            self._reload(locked=locked)
            return
        try:
            jst = os.stat(self._journal)  # noqa: PTH116 - as above
        except FileNotFoundError:
            if self._journal_ino is not None:
                self._reload(locked=locked)
            return
        if jst.st_ino != self._journal_ino:
            self._switch_journal(locked=locked)
        elif jst.st_size != self._journal_seen:
            self._read_journal(locked=locked)

    def _reload(self, *, locked: bool) -> None:
        """Read the snapshot and replay its journal."""
        # Loading creates a great many documents and no cycles: the cycle collector would
        # only walk them again and again meanwhile.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._reload_files(locked=locked)
        finally:
            if enabled:
                gc.enable()

    def _reload_files(self, *, locked: bool) -> None:
        for _ in range(_RELOAD_ATTEMPTS):
            if self._read_files(locked=locked):
                return
        if not locked:
            # Folds by other processes kept replacing the files between our reads of the
            # snapshot and of the journal: read them under the lock, where none can run.
            with self._process_lock():
                if self._read_files(locked=True):
                    return
        msg = (
            f"the journal {self.journal_path} is of a newer generation than the store "
            f"file {self.path}; both were left untouched. Restore them from a backup"
        )
        raise StoreCorruptedError(msg)

    def _read_files(self, *, locked: bool) -> bool:
        """Read the snapshot and its journal; False if a fold replaced them meanwhile."""
        snap = read_snapshot(self.path)
        check_layout(snap.tables, self.path)
        problem = self._misshapen(snap.tables)
        if problem is not None:
            msg = f"the store file {self.path} holds {problem}; it was left untouched"
            raise StoreCorruptedError(msg)
        self._load(snap.tables, snap.next_ids)
        st = snap.stat
        self._hold_snapshot(st)
        self._snapshot = signature(st)
        self._snapshot_size = st.st_size
        self._generation = snap.generation
        self._journal_ino = None
        self._journal_valid = False
        self._journal_end = self._journal_seen = 0
        return self._open_journal(locked=locked)

    def _switch_journal(self, *, locked: bool) -> None:
        """Another process folded, or replaced a stale journal: follow the new one."""
        if not self._open_journal(locked=locked):
            self._reload(locked=locked)

    def _open_journal(self, *, locked: bool) -> bool:
        """Start reading the journal from its header; False if the snapshot is older."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            fd = os.open(self._journal, os.O_RDONLY)
        except FileNotFoundError:
            self._set_reader(None)
            self._journal_ino = None
            self._journal_valid = False
            return True
        self._set_reader(fd)
        st = os.fstat(fd)
        first = os.pread(fd, 4096, 0)
        header = first[: first.find(b"\n") + 1] if b"\n" in first else first
        # A journal is created whole by a rename: a missing or torn header is damage.
        generation = parse_header(header, self.journal_path)
        ours = self._generation
        if ours is not None and generation[0] > ours[0]:
            return False  # a fold renamed its snapshot after we read ours: read it again
        if ours is not None and generation[0] == ours[0] and generation[1] != ours[1]:
            msg = (
                f"the journal {self.journal_path} does not belong to the store file "
                f"{self.path} (another store of the same generation); both were left "
                "untouched"
            )
            raise StoreCorruptedError(msg)
        self._journal_ino = st.st_ino
        self._journal_valid = generation == ours
        self._journal_end = self._journal_seen = len(header)
        if self._journal_valid:
            self._read_journal(locked=locked)
        else:
            self._journal_seen = st.st_size
        return True

    def _read_journal(self, *, locked: bool) -> None:
        """Apply the records appended to the journal since it was last read."""
        fd = self._reader_fd
        if fd is None:
            self._switch_journal(locked=locked)
            return
        size = os.fstat(fd).st_size
        if size < self._journal_end:
            self._shrunk(size)
        data = self._journal_bytes(self._journal_end, size)
        if not self._journal_valid:
            self._journal_seen = self._journal_end + len(data)
            return
        tail = parse_records(data, self._journal_end, self.journal_path)
        # Only once it parsed: damage is refused again on every read, not seen once. A
        # torn tail is not counted as seen either: a writer may cut it off and append a
        # record of as many bytes, which a check of the size alone would then miss.
        self._journal_seen = tail.end
        for changes in tail.records:
            self._apply(changes)
        if tail.records:
            self._revision += 1
        self._journal_end = tail.end
        if tail.torn and locked:
            # The process that was appending died: its commit never completed.
            os.truncate(self.journal_path, tail.end)
            self._journal_seen = tail.end

    def _journal_bytes(self, start: int, size: int) -> bytes:
        """The bytes of the journal followed from offset ``start`` up to ``size``."""
        fd = self._reader_fd
        assert fd is not None
        parts = []
        offset = start
        while offset < size:
            chunk = os.pread(fd, size - offset, offset)
            if not chunk:
                break
            parts.append(chunk)
            offset += len(chunk)
        return b"".join(parts)

    def _shrunk(self, size: int) -> None:
        msg = (
            f"the journal {self.journal_path} shrank to {size} bytes below the "
            f"{self._journal_end} bytes already committed; it was changed outside the store "
            "and was left untouched. Restore the store from a backup"
        )
        raise StoreCorruptedError(msg)

    def _apply(self, changes: list[list[Any]]) -> None:
        for change in changes:
            op, table, doc_id = change[0], change[1], change[2]
            docs = self._docs(table)
            previous = docs.get(doc_id)
            if op == "r":
                self._delete(table, doc_id)
                continue
            if op == "i":
                doc, fields = change[3], None
            elif previous is None:
                msg = (
                    f"the journal {self.journal_path} updates document {doc_id} of "
                    f"table {table!r}, which does not exist; it was left untouched"
                )
                raise StoreCorruptedError(msg)
            else:
                fields = change[3]
                doc = {**previous, **fields}
            if drop_joined(table, doc):  # written by an older version of the library
                self._outdated = True
                if fields is not None:
                    fields = {k: v for k, v in fields.items() if k in doc}
            problem = self._misshapen_doc(table, doc_id, doc) if table in self._fields else None
            if problem is not None:
                msg = f"the journal {self.journal_path} holds {problem}; it was left untouched"
                raise StoreCorruptedError(msg)
            self._put(table, doc_id, doc, previous, fields)
