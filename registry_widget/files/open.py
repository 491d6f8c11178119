"""Opening a blob store from where it is: a folder, an ``s3://`` URL, or a store itself."""

from __future__ import annotations

import os
from pathlib import Path

from registry_widget.errors import ValidationError
from registry_widget.files.blobs import PACK_LIMIT, BlobStore, FileBlobStore

__all__ = ["open_blob_store"]


def open_blob_store(location: str | os.PathLike[str] | BlobStore) -> BlobStore:
    """The blob store at ``location``.

    Parameters
    ----------
    location
        A :class:`BlobStore` (returned as is); ``"s3://bucket/prefix"`` for an
        :class:`~registry_widget.files.s3.S3BlobStore` (the bucket must exist; endpoint and
        credentials from the standard AWS variables and profiles); otherwise a folder, for
        a :class:`FileBlobStore` that packs small files.

    Raises
    ------
    ValidationError
        If ``location`` is none of these.
    NotFoundError
        If the bucket does not exist.
    PermissionDeniedError
        If the object store refuses the credentials.
    StorageError
        If the object store cannot be reached.
    """
    if isinstance(location, BlobStore):
        return location
    if isinstance(location, str) and location.startswith("s3:"):
        from registry_widget.files.s3 import S3BlobStore

        store = S3BlobStore(location)
        store.check()
        return store
    if isinstance(location, str | os.PathLike) and str(location):
        return FileBlobStore(Path(location), pack_limit=PACK_LIMIT)
    msg = (
        f"blobs {location!r} is not a blob store location; expected a folder, "
        "an 's3://bucket/prefix' URL or a BlobStore"
    )
    raise ValidationError(msg, field="blobs", value=location)
