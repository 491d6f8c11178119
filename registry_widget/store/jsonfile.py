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
  committed: the new lines are read and applied. A torn last line is not counted as
  seen, so the journal is read again until a writer cuts it off: a commit that replaced
  it by as many bytes is not missed. A new snapshot or journal means another process
  folded: the files are read again. Writers do the same while holding the lock. A reader
  whose reads keep being overtaken by folds reads again under the lock.
- Opening reads the snapshot and replays the journal when its generation matches. An
  older journal generation is the leftover of a fold interrupted between its two renames:
  the snapshot already holds all of it, and the next writer replaces it.

Guarantees at each crash point: a commit is durable once its line is fsynced; a process
dying while appending leaves a torn last line, which readers ignore and the next writer
cuts off once it has read it again under the lock and parsed it as torn (complete
records there would be commits it missed: the commit is refused as a collision and run
again); a fold dying before its first rename leaves the old snapshot and journal (a
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
import logging
import os
from pathlib import Path

from registry_widget._fs import fdatasync, fsync_dir, replace_file
from registry_widget.errors import ConcurrentChangeError, StoreWriteError
from registry_widget.store.base import Change
from registry_widget.store.interface import STORE_SCHEMA
from registry_widget.store.journal import encode_header, encode_record, parse_records
from registry_widget.store.jsonfile_follow import JSONFileFollower, refusing_os_errors, signature
from registry_widget.store.snapshot import Generation, write_snapshot
from registry_widget.text import plural

__all__ = ["FOLD_MIN_BYTES", "JSONFileStore"]

FOLD_MIN_BYTES = 4 << 20
"""The journal is never folded into the snapshot before it reaches this size."""
FOLD_RATIO = 0.25
"""...nor before it reaches this fraction of the snapshot's size."""

log = logging.getLogger(__name__)


class JSONFileStore(JSONFileFollower):
    """TinyDB documents in the JSON file ``path`` and its journal, durable and shared.

    Parameters
    ----------
    path
        The store file. Created, with its folder, when it does not exist.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        with refusing_os_errors(self.path, "open"):
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
        """Close the files it holds open (the journal, the snapshot and the lock file)."""
        with self._thread_lock:
            self._close_fd()
            self._file_lock.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._close_fd()
            self._file_lock.close()

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
                self._cut_torn_tail(fd, end, size)
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

    def _cut_torn_tail(self, fd: int, end: int, size: int) -> None:
        """Cut the journal back to ``end``, the last record applied, if what follows is torn.

        Under the lock every complete record has been applied: what follows them is the
        torn tail of a commit that never completed, and the commit is appended after the
        last good record, never after the torn one. What follows is read and parsed first
        all the same, and is cut off only when it is torn: complete records there are
        commits this process has not read, and this commit collides with them.

        Raises
        ------
        ConcurrentChangeError
            If complete records follow ``end``; nothing was cut or written, and the next
            transaction reads them first.
        StoreCorruptedError
            If a damaged record is followed by more data.
        """
        tail = parse_records(self._journal_bytes(end, size), end, self.journal_path)
        if tail.records:
            self._journal_seen = end  # the next refresh reads them
            msg = (
                f"the journal {self.journal_path} holds "
                f"{plural(len(tail.records), 'commit')} after byte {end} that this process "
                "had not read; this commit was not made and the store was left as it was"
            )
            raise ConcurrentChangeError(msg)
        os.ftruncate(fd, end)

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
        self._snapshot = signature(st)
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
        if not wait and not self._file_lock.acquire(timeout=0):
            return  # a writer is at work: a later open or fold removes them
        try:
            for name in stale:
                with contextlib.suppress(OSError):
                    name.unlink()
        finally:
            if not wait:
                self._file_lock.release()
