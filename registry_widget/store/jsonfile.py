"""A store in a TinyDB JSON file plus an append-only journal, shared between processes.

Files, beside each other:

- ``<store>`` (e.g. ``registry.json``): the snapshot, plain TinyDB JSON (``TinyDB(path)``
  opens it), written one document per line (:mod:`~registry_widget.store.snapshot`).
- ``<store>.journal``: the transactions committed since the snapshot, one checksummed
  line each (:mod:`~registry_widget.store.journal`), headed by the generation of the
  snapshot it continues.
- ``<store>.lock``: the file lock every transaction holds.

How it works:

- A commit appends one line to the journal and fsyncs it, so its cost follows the size of
  the change, not of the store. When the journal has grown past a quarter of the
  snapshot (and at least :data:`FOLD_MIN_BYTES`), the commit folds it: the working set is
  written as a new snapshot of the next generation (temporary file, fsync, rename, fsync
  of the folder), then an empty journal of that generation replaces the old one the same
  way. The fold runs once the commit is durable: if it fails, the commit still returns
  normally, the failure is logged, and the next commit folds again.
- Each table's next document id is kept in the snapshot and raised by every insert, so
  the id of a removed document is never given out again (stores written without these
  marks derive them from their highest ids and the journal's inserts).
- Every read first compares the snapshot's identity (inode, size, mtime) and the
  journal's (inode, size) with what was last seen. Journal growth means other processes
  committed: the new lines are read and applied. A new snapshot or journal means another
  process folded: the files are read again. Writers do the same while holding the lock.
  A reader whose reads keep being overtaken by folds reads again under the lock.
- Opening reads the snapshot and replays the journal when its generation matches. An
  older journal generation is the leftover of a fold interrupted between its two renames:
  the snapshot already holds all of it, and the next writer replaces it.

Guarantees at each crash point: a commit is durable once its line is fsynced; a process
dying while appending leaves a torn last line, which readers ignore and the next writer
cuts off; a fold dying before its first rename leaves the old snapshot and journal (a
temporary file at most, which the next open or fold removes under the lock), between the
renames a complete new snapshot and a stale journal, after them the new pair. A missing
store is created on the first commit. An empty, truncated or foreign snapshot, a journal
with a damaged line followed by more, a journal whose snapshot is missing, a complete
last journal record that is damaged, or documents of the wrong structure, is refused with
:class:`~registry_widget.errors.StoreCorruptedError` and never rewritten. A disk that
refuses a write raises :class:`~registry_widget.errors.StoreWriteError` with the files as
they were; a lock held too long, :class:`~registry_widget.errors.StoreLockedError`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from registry_widget._fs import fdatasync, fsync_dir, replace_file
from registry_widget.errors import (
    RegistryError,
    StorageError,
    StoreCorruptedError,
    StoreLockedError,
    StoreWriteError,
    ValidationError,
)
from registry_widget.store.base import Change, WorkingSetStore
from registry_widget.store.interface import STORE_FORMAT, STORE_SCHEMA
from registry_widget.store.joined import drop_joined
from registry_widget.store.journal import (
    encode_header,
    encode_record,
    parse_header,
    parse_records,
)
from registry_widget.store.snapshot import (
    Generation,
    read_snapshot,
    write_snapshot,
)
from registry_widget.store.table import Tables

__all__ = ["FOLD_MIN_BYTES", "JSONFileStore", "check_layout"]

LOCK_TIMEOUT_S = 60.0
FOLD_MIN_BYTES = 4 << 20
"""The journal is never folded into the snapshot before it reaches this size."""
FOLD_RATIO = 0.25
"""...nor before it reaches this fraction of the snapshot's size."""
_RELOAD_ATTEMPTS = 5
"""Reads of the files without the lock before reading them under it (folds overtook each)."""

log = logging.getLogger(__name__)

Signature = tuple[int, int, int]


@contextlib.contextmanager
def _refusing_os_errors(path: Path, what: str) -> Iterator[None]:
    """Turn an error of the file system (no permission, an I/O error) into a StorageError."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, (RegistryError, Timeout)):
            raise
        raise StorageError.from_os_error(exc, f"{what} the store {path}") from exc


def _signature(st: os.stat_result) -> Signature:
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


class JSONFileStore(WorkingSetStore):
    """TinyDB documents in the JSON file ``path`` and its journal, durable and shared.

    Parameters
    ----------
    path
        The store file. Created, with its folder, when it does not exist.
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
        with _refusing_os_errors(self.path, "create the folder of"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_S)
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
        with _refusing_os_errors(self.path, "open"):
            self._remove_stale_temps(wait=False)
            with self._thread_lock:
                self._refresh(locked=False)

    @property
    def location(self) -> str:
        """Where the store lives, for messages and display."""
        return str(self.path)

    def __repr__(self) -> str:
        return f"JSONFileStore({str(self.path)!r})"

    def _files(self) -> str:
        return f"file {self.path} (with its journal {self.journal_path})"

    def checkpoint(self) -> None:
        """Fold the journal into a new snapshot now, so that the store file holds everything.

        Commits do this on their own once the journal has grown; call it before copying
        or editing the store file alone.
        """
        with self._thread_lock, self._process_lock():
            self._refresh(locked=True)
            if self._snapshot is not None:
                self._fold()

    def close(self) -> None:
        """Close the journal file."""
        with self._thread_lock:
            self._close_fd()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._close_fd()

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
        try:
            with _refusing_os_errors(self.path, "lock"):
                self._file_lock.acquire()
        except Timeout:
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
        with _refusing_os_errors(self.path, "read"):
            self._refresh(locked=False)

    def _refresh_locked(self) -> None:
        with _refusing_os_errors(self.path, "read"):
            self._refresh(locked=True)

    def _refresh(self, *, locked: bool) -> None:
        if not locked and self._snapshot_fd is not None:
            # The fast check on every read: the files held open are still linked (not
            # replaced by a fold nor deleted) and unchanged but for journal growth.
            st = os.fstat(self._snapshot_fd)
            if st.st_nlink and _signature(st) == self._snapshot:
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
        if _signature(st) != self._snapshot:
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
        self._snapshot = _signature(st)
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
        parts = []
        offset = self._journal_end
        while offset < size:
            chunk = os.pread(fd, size - offset, offset)
            if not chunk:
                break
            parts.append(chunk)
            offset += len(chunk)
        data = b"".join(parts)
        if not self._journal_valid:
            self._journal_seen = self._journal_end + len(data)
            return
        tail = parse_records(data, self._journal_end, self.journal_path)
        # only once it parsed: damage is refused again on every read, not seen once
        self._journal_seen = self._journal_end + len(data)
        for changes in tail.records:
            self._apply(changes)
        if tail.records:
            self._revision += 1
        self._journal_end = tail.end
        if tail.torn and locked:
            # The process that was appending died: its commit never completed.
            os.truncate(self.journal_path, tail.end)
            self._journal_seen = tail.end

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

    # -- durability --------------------------------------------------------------------------

    def _persist(self, changes: list[Change]) -> None:
        record = encode_record(changes)  # refuses values that would not read back
        if self._outdated:
            self._upgrade()
            return
        if self._snapshot is None or not self._journal_valid:
            self._fold()  # a new store, or a snapshot without a journal continuing it
            return
        end = self._journal_end
        try:
            fd = self._journal_fd()
            size = os.fstat(fd).st_size
            if size < end:
                self._shrunk(size)
            if size != end:
                # Under the lock every complete record has been applied: what follows
                # them is the torn tail of a commit that never completed. Append after
                # the last good record, never after the torn one.
                os.ftruncate(fd, end)
            try:
                view = memoryview(record)
                while view:
                    view = view[os.write(fd, view) :]
                fdatasync(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, end)
                raise
        except OSError as exc:
            msg = (
                f"could not write the journal {self.journal_path} ({exc}); the commit was "
                "not made and the store was left as it was"
            )
            raise StoreWriteError(msg) from exc
        self._journal_end = self._journal_seen = end + len(record)

    def _upgrade(self) -> None:
        """Write a store read in an older shape as a new snapshot of today's, commit included.

        The working set already has today's shape (links without copies of their version's
        fields, dropped as they were read); the ``meta`` marker then says so.
        """
        meta = self._docs("meta").get(1)
        if meta is not None and meta.get("schema") != STORE_SCHEMA:
            self._put("meta", 1, {**meta, "schema": STORE_SCHEMA}, meta, {"schema": None})
        self._fold()
        self._outdated = False

    def _after_commit(self) -> None:
        if self._journal_end < max(FOLD_MIN_BYTES, FOLD_RATIO * self._snapshot_size):
            return
        try:
            self._fold()
        except Exception:
            # The commit is durable in the journal: it stands. The next commit (or a
            # checkpoint) folds again.
            log.warning(
                "could not fold the journal %s into the store file %s; the commit is "
                "durable and the fold will be tried again",
                self.journal_path,
                self.path,
                exc_info=True,
            )

    def _journal_fd(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        return self._fd

    def _fold(self) -> None:
        """Write the working set as a new snapshot, then start an empty journal after it."""
        number = self._generation[0] + 1 if self._generation is not None else 1
        generation = (number, os.urandom(8).hex())
        self._remove_stale_temps(wait=True)
        st = write_snapshot(self.path, self._dump(), generation, self.next_ids())
        self._hold_snapshot(st)
        self._snapshot = _signature(st)
        self._snapshot_size = st.st_size
        self._generation = generation
        self._journal_valid = False  # the old journal is stale from here on
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._set_reader(None)
        # The snapshot holds the commit now: a journal that cannot be started is started
        # by the next commit, which folds again.
        with contextlib.suppress(OSError):
            self._start_journal(generation)

    def _start_journal(self, generation: Generation) -> None:
        header = encode_header(generation)
        st = replace_file(self.journal_path, lambda f: f.write(header))
        fsync_dir(self.path.parent)
        self._journal_ino = st.st_ino
        self._set_reader(os.open(self._journal, os.O_RDONLY))
        self._journal_valid = True
        self._journal_end = self._journal_seen = len(header)

    def _remove_stale_temps(self, *, wait: bool) -> None:
        """Remove the temporary files of folds that died (killed) before their rename.

        Temporary files are only written under the store's lock, so whatever is found
        while holding it belongs to no live writer. ``wait=False`` (on open) takes the
        lock only if it is free and only when there is something to remove; ``wait=True``
        is for callers that hold it already.
        """
        prefixes = (f".{self.path.name}.", f".{self.journal_path.name}.")
        try:
            with os.scandir(self.path.parent) as entries:
                stale = [
                    Path(e.path)
                    for e in entries
                    if e.name.endswith(".tmp")
                    and any(
                        e.name.startswith(p) and e.name[len(p) : -4].isdigit() for p in prefixes
                    )
                ]
        except OSError:
            return
        if not stale:
            return
        if not wait:
            try:
                self._file_lock.acquire(timeout=0)
            except Timeout:
                return  # a writer is at work: a later open or fold removes them
        try:
            for name in stale:
                with contextlib.suppress(OSError):
                    name.unlink()
        finally:
            if not wait:
                self._file_lock.release()
