"""A store in one TinyDB JSON file, shared safely between processes.

- Every transaction holds a file lock (``<store>.lock``, a separate file) from the moment
  it reads the current state until its result is on disk, so concurrent writers in
  several processes serialise and lose nothing.
- A commit writes the whole working set to a temporary file in the same folder, fsyncs
  it, atomically replaces the store file with it and fsyncs the folder: a reader sees the
  old or the new file, never a torn one, and a crash leaves one of the two.
- Before every read and every transaction the file's identity (inode, size, mtime) is
  compared with what was last loaded; a change means another process committed, and the
  file is loaded again. TinyDB's query caches are cleared with it.
- A missing file is created as a new store. An empty, truncated or foreign file is
  refused with :class:`~registry_widget.errors.StoreCorruptedError` and never rewritten.

The file is plain TinyDB JSON: ``TinyDB(path)`` opens it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from registry_widget.errors import RegistryError, StoreCorruptedError
from registry_widget.store.base import STORE_FORMAT, Change, Store

__all__ = ["JSONFileStore", "check_layout"]

LOCK_TIMEOUT_S = 60.0
Signature = tuple[int, int, int, int]


def _signature(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def check_layout(data: object, path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Check that ``data`` has TinyDB's layout (tables of documents keyed by id)."""
    if not isinstance(data, dict) or not all(
        isinstance(t, dict) and all(isinstance(d, dict) for d in t.values()) for t in data.values()
    ):
        msg = (
            f"{path} is JSON but not a TinyDB store (expected an object of tables); "
            "it was left untouched"
        )
        raise StoreCorruptedError(msg)
    meta = data.get("meta", {}).get("1")
    if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
        msg = (
            f"{path} is a TinyDB file but not a registry store (no {STORE_FORMAT!r} marker "
            "in its 'meta' table); it was left untouched"
        )
        raise StoreCorruptedError(msg)
    return data


class JSONFileStore(Store):
    """TinyDB documents in the JSON file ``path``, durable and shared between processes.

    Parameters
    ----------
    path
        The store file. Created, with its folder, when it does not exist.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path).absolute()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_S)
        self._loaded: Signature | None = None
        with self._thread_lock:
            self._refresh_unlocked()

    @property
    def location(self) -> str:
        """Where the store lives, for messages and display."""
        return str(self.path)

    def __repr__(self) -> str:
        return f"JSONFileStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[object]:
        try:
            self._file_lock.acquire()
        except Timeout:
            msg = (
                f"the store {self.path} is locked by another process (lock file "
                f"{self.lock_path}) and stayed locked for {LOCK_TIMEOUT_S:.0f} s"
            )
            raise RegistryError(msg) from None
        try:
            yield self._file_lock
        finally:
            self._file_lock.release()

    def _refresh_unlocked(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            if self._loaded is not None:
                msg = f"the store file {self.path} was deleted while it was open"
                raise StoreCorruptedError(msg) from None
            return  # a new store: the first transaction creates the file
        if _signature(st) != self._loaded:
            self._read_file()

    _refresh_locked = _refresh_unlocked

    def _read_file(self) -> None:
        # Read and stat the same open file, so the signature belongs to these bytes even
        # if another process replaces the path meanwhile.
        with self.path.open("rb") as f:
            st = os.fstat(f.fileno())
            raw = f.read()
        if not raw.strip():
            msg = (
                f"the store file {self.path} is empty ({len(raw)} bytes); refusing to treat "
                "it as a new store. Restore it from a backup, or delete it to start afresh"
            )
            raise StoreCorruptedError(msg)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            msg = (
                f"the store file {self.path} is not valid JSON ({exc}); it may be truncated "
                "or damaged. It was left untouched: restore it from a backup"
            )
            raise StoreCorruptedError(msg) from None
        self._load(check_layout(data, self.path))
        self._loaded = _signature(st)

    def _persist(self, changes: list[Change]) -> None:
        payload = json.dumps(self._dump(), ensure_ascii=False, separators=(",", ":"))
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                Path(tmp).unlink()
            raise
        _fsync_dir(self.path.parent)
        self._loaded = _signature(self.path.stat())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
