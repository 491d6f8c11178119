"""The composition root: a store and its blob store, opened from where they live.

This is the one place that turns locations into backends (SPEC §8): a store location is
``":memory:"``, the path of a store file, or a :class:`~registry_widget.store.Store`
object; a blob location is a folder, an ``s3://bucket/prefix`` URL or a
:class:`~registry_widget.files.blobs.BlobStore` object. Without one, a store's blobs live
beside it: in ``<stem>.blobs/`` next to a store that has a file, in memory for one that has
none. A ``postgresql://`` (or ``postgres://``) URL opens the PostgreSQL store
(:mod:`registry_widget.store.postgres`, psycopg imported only then); such a store
records its blob location when it is created, and later clients use the recorded one.

Within a process every client of one store file shares one store object, and every
client of one store (or one blob folder) one blob store, so a change made by one is seen
at once by the others. What is opened here from a location is counted per backend that
uses it and closed (its files, locks and connections released) when the last backend
using it is closed (:func:`close_backend`); store and blob store objects passed in
belong to the caller and are never closed here.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from registry_widget.errors import ValidationError
from registry_widget.files.blobs import BlobStore
from registry_widget.files.folder import PACK_LIMIT, FileBlobStore
from registry_widget.files.memory import MemoryBlobStore
from registry_widget.store import JSONFileStore, MemoryStore, Store

__all__ = [
    "Backend",
    "BlobLocation",
    "Location",
    "blobs_for",
    "close_backend",
    "collected",
    "open_backend",
    "open_blobs",
    "open_store",
]

Location = str | os.PathLike[str] | Store
"""Where a store lives: ``":memory:"``, a store file's path, or a store object."""
BlobLocation = str | os.PathLike[str] | BlobStore
"""Where blobs live: a folder's path, or a blob store object."""

_stores: weakref.WeakValueDictionary[str, Store] = weakref.WeakValueDictionary()
_beside: weakref.WeakKeyDictionary[Store, BlobStore] = weakref.WeakKeyDictionary()
_folders: weakref.WeakValueDictionary[str, BlobStore] = weakref.WeakValueDictionary()
_users: weakref.WeakKeyDictionary[Store | BlobStore, int] = weakref.WeakKeyDictionary()
_pending: list[Backend] = []  # of clients collected unclosed, to close (see collected)
_lock = threading.Lock()


@dataclass(frozen=True)
class Backend:
    """A store (the documents) and the blob store holding its files' bytes.

    ``owned`` are the objects opened for it from locations, which :func:`close_backend`
    releases; ``unhook`` takes the blob store's sync off the store's commits.
    """

    store: Store
    blobs: BlobStore
    owned: tuple[Store | BlobStore, ...] = field(default=(), repr=False)
    unhook: Callable[[], None] | None = field(default=None, repr=False)


def open_backend(location: Location, *, blobs: BlobLocation | None = None) -> Backend:
    """Open the store at ``location`` and its blob store (``blobs``, default beside it).

    A server store keeps the blob location it was first given (a folder's absolute path or
    an ``s3://`` URL): later clients need not name it, and one given later is used by that
    client only.

    Close it with :func:`close_backend` to release its files and connections at once.

    Raises
    ------
    ValidationError
        If ``blobs`` is neither a folder path nor a blob store (nothing is opened), or a
        server store has no recorded blob location and none is given.
    """
    _drain()
    given = None if blobs is None else open_blobs(blobs)
    owned: list[Store | BlobStore] = []
    if blobs is not None and not isinstance(blobs, BlobStore):
        owned.append(_use(given))
    try:
        store = open_store(location)
    except BaseException:
        _release(owned)
        raise
    if not isinstance(location, Store):
        owned.append(_use(store))
    if store.login is not None:
        try:
            server = _server_blobs(store, blobs, given)
        except BaseException:
            _release(owned)
            raise
        if given is None:
            owned.append(_use(server))
        given = server
    if given is None:
        beside = blobs_for(store)
        if not isinstance(location, Store):
            owned.append(_use(beside))
        return Backend(store, beside, tuple(owned))
    # Small files are appended to a pack without a sync of their own: the store syncs it
    # once before committing the transaction that refers to them.
    unhook = store.before_commit(given.sync)
    return Backend(store, given, tuple(owned), unhook)


def close_backend(backend: Backend) -> None:
    """Release what :func:`open_backend` opened for ``backend``.

    A store or blob store shared with other open backends (the clients of one file in a
    process) stays open until the last of them is closed; then it is closed (its files,
    locks and connections released) and the next client opens it afresh. Closing a
    backend twice releases nothing more.
    """
    if backend.unhook is not None:
        backend.unhook()
    _release(backend.owned)
    _drain()


def collected(backend: Backend) -> None:
    """Close ``backend`` of a client garbage-collected unclosed, soon and safely.

    The collector may run while this thread holds the lock that counting takes (a
    finalizer runs wherever an object happens to be freed), so the backend is closed at
    the next :func:`open_backend` or :func:`close_backend`, not here.
    """
    _pending.append(backend)


def _drain() -> None:
    """Close the backends of clients collected unclosed."""
    while _pending:
        try:
            backend = _pending.pop()
        except IndexError:  # another thread took the last one
            return
        if backend.unhook is not None:
            backend.unhook()
        _release(backend.owned)


def _use(obj: Store | BlobStore | None) -> Store | BlobStore:
    """Count one more backend using ``obj`` (opened here)."""
    assert obj is not None
    with _lock:
        _users[obj] = _users.get(obj, 0) + 1
    return obj


def _release(owned: list[Store | BlobStore] | tuple[Store | BlobStore, ...]) -> None:
    """Count one backend fewer using each of ``owned``; close those nobody uses now."""
    last: list[Store | BlobStore] = []
    with _lock:
        for obj in owned:
            count = _users.get(obj, 0) - 1
            if count > 0:
                _users[obj] = count
                continue
            _users.pop(obj, None)
            for shared in (_stores, _folders):
                for key in [k for k, v in shared.items() if v is obj]:
                    del shared[key]
            if isinstance(obj, Store):
                _beside.pop(obj, None)
            last.append(obj)
    for obj in last:
        obj.close()


def _server_blobs(store: Store, blobs: BlobLocation | None, given: BlobStore | None) -> BlobStore:
    """The blob store of a server store: the one given (recorded if none is), else the recorded."""
    recorded = store.blob_location()
    if recorded is None:
        if given is None:
            msg = (
                f"the registry store {store!r} records no blob location yet: give one when "
                "creating it, e.g. Client(url, blobs='s3://bucket/prefix') or a folder every "
                "client can reach"
            )
            raise ValidationError(msg, field="blobs", value=None)
        if isinstance(blobs, (str, os.PathLike)):
            text = os.fspath(blobs)
            where = text if "://" in str(text) else str(Path(str(text)).absolute())
            store.record_blob_location(str(where))
        return given
    return given if given is not None else open_blobs(recorded)


def open_store(location: Location) -> Store:
    """Return the store at ``location``.

    ``":memory:"`` makes a new in-memory store; a :class:`Store` is returned as it is; a
    ``postgresql://`` URL opens the PostgreSQL store, one per URL in a process; a path
    opens (or creates) a JSON file store. Every client of one file in a process gets the
    same store object, so a change made by one is seen at once by the others.
    """
    if isinstance(location, Store):
        return location
    if location == ":memory:":
        return MemoryStore()
    if isinstance(location, str) and location.startswith(("postgresql://", "postgres://")):
        from registry_widget.store.postgres import PostgresStore  # psycopg only when used

        with _lock:
            store = _stores.get(location)
            if store is None:
                store = PostgresStore(location)
                _stores[location] = store
            return store
    key = str(Path(location).absolute().resolve())
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = JSONFileStore(key)
            _stores[key] = store
        return store


def blobs_for(store: Store) -> BlobStore:
    """The blob store beside ``store``: ``<stem>.blobs/`` next to its file, else in memory."""
    with _lock:
        blobs = _beside.get(store)
        if blobs is None:
            where = getattr(store, "location", ":memory:")
            if where == ":memory:":
                blobs = MemoryBlobStore()
            else:
                path = Path(where)
                blobs = _folder(path.with_name(path.stem + ".blobs"))
            _beside[store] = blobs
            store.before_commit(blobs.sync)
        return blobs


def open_blobs(blobs: BlobLocation) -> BlobStore:
    """The blob store at ``blobs``: a folder (shared per process), an ``s3://`` URL or a store."""
    if isinstance(blobs, BlobStore):
        return blobs
    if isinstance(blobs, str) and blobs.startswith("s3://"):
        from registry_widget.files.s3 import S3BlobStore  # boto3 only when it is used

        bucket = S3BlobStore(blobs)
        bucket.check()
        return bucket
    if isinstance(blobs, (str, os.PathLike)):
        text = os.fspath(blobs)
        if isinstance(text, str) and text and "://" not in text:
            with _lock:
                return _folder(Path(text))
    msg = (
        f"blobs {blobs!r} is not a blob location; expected the path of a folder, an "
        "'s3://bucket/prefix' URL or a BlobStore object (None: the folder beside the store)"
    )
    raise ValidationError(msg, field="blobs", value=blobs)


def _folder(root: Path) -> BlobStore:
    """The blob store in folder ``root``, shared by every client of it (hold ``_lock``)."""
    key = str(root.absolute().resolve())
    blobs = _folders.get(key)
    if blobs is None:
        blobs = FileBlobStore(root.absolute(), pack_limit=PACK_LIMIT)
        _folders[key] = blobs
    return blobs
