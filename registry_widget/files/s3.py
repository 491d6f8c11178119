"""Blobs in an S3-compatible object store: one object per file, named by its sha256.

``S3BlobStore("s3://bucket/prefix")`` keeps the blob ``ab12…`` as the object
``prefix/sha256/ab/12…`` (the layout of the folder store). Endpoint and credentials are
found the AWS way (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE`` and the shared config files); with an endpoint other than AWS's,
addressing is path-style, which every S3-compatible store answers.

- Uploads are conditional (``If-None-Match: *``): a stored object is never written over,
  and a 412 means another uploader stored the same content first. (Swift checks the
  condition when a PUT begins, so uploads that overlap may both succeed; the key is the
  content's digest, so they write the same bytes.) Every file is read once. Files up to
  :data:`~registry_widget.files.s3_bucket.MULTIPART_THRESHOLD` are hashed and sent in
  one request. Larger files are sent in parts to a staging key
  (``prefix/uploads/<random>``) while they are hashed; once the digest is known, a blob
  already there costs no more (the staged upload is aborted), else the staged object is
  copied inside the store, part by part (UploadPartCopy, which has no 5 GiB limit), to
  the content address, completed there with ``If-None-Match: *``, and deleted. A file
  whose digest is known beforehand (:meth:`S3BlobStore.put_file`) goes to its content
  address directly, hashed on the way, and is completed only if the digests agree.
- Many files are uploaded by a bounded pool of threads
  (:data:`~registry_widget.files.s3_bucket.MAX_WORKERS`).
- Downloads stream the object; :func:`~registry_widget.files.artifacts.download` hashes
  what it writes and refuses a mismatch with ``StoreCorruptedError``.
- Transient failures (connection errors, throttling, 5xx) are retried with exponential
  backoff by botocore's standard retry mode; every failure that remains is a
  :class:`~registry_widget.errors.RegistryError` naming the endpoint, bucket and cause.
- Garbage collection sees each object's size and last-modified time in one listing;
  storing a blob again writes a small marker ``prefix/touched/<digest>`` whose time makes
  the blob young again.
- Leftovers: a client killed during an upload leaves an unfinished multipart upload
  (under ``prefix/uploads/`` or at a content address) or a staged object behind. S3 has
  no locks to tell a dead uploader from a live one, so liveness is read from the
  store's clock (:meth:`S3BlobStore.collect_leftovers`). An unfinished upload is idle
  since its last sign of life: its initiation or its latest part (ListParts gives each
  part's time), and it is aborted only once idle longer than both the grace period and
  :data:`LEFTOVER_MIN_AGE_S`. A staged object is deleted only once written longer ago
  than both, and only by a collection that leaves no upload to a content address
  unfinished: a live uploader copies its staged object to the content address right
  after completing it, as a multipart upload whose parts keep landing until the copy
  ends (a staged object of a killed client waits for a collection that finds no copy
  running).

Requires the ``s3`` extra (``pip install registry_widget[s3]``), which brings boto3.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from registry_widget.errors import NotFoundError
from registry_widget.files.blobs import CHUNK_SIZE, check_digest
from registry_widget.files.s3_bucket import STAGING, progress_bar
from registry_widget.files.s3_upload import S3Uploads

__all__ = ["LEFTOVER_MIN_AGE_S", "S3BlobStore"]

LEFTOVER_MIN_AGE_S = 30 * 60.0
"""Garbage collection never removes an upload active within this (seconds), whatever the
grace period: the longest pause of a live uploader between two signs of life (a part of
:data:`~registry_widget.files.s3_bucket.PART_SIZE`, four in flight, sent over a slow
link and retried) plus the skew between the collector's clock and the store's."""


class _Body(io.RawIOBase):
    """An object's streamed body as a readable file; errors become RegistryErrors."""

    def __init__(self, store: S3BlobStore, digest: str, body: Any, length: int) -> None:
        self._store = store
        self._digest = digest
        self._body = body
        self._bar = progress_bar(length, f"reading blob {digest[:12]}")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except Exception as exc:
            self._store.fail(exc, f"read blob {self._digest}")
        view[: len(data)] = data
        if self._bar is not None:
            self._bar.update(len(data))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
            if self._bar is not None:
                self._bar.close()
        super().close()


class S3BlobStore(S3Uploads):
    """Blobs as objects in an S3 bucket, ``s3://bucket/prefix/sha256/ab/cdef…``.

    Parameters
    ----------
    url
        ``s3://bucket`` or ``s3://bucket/prefix``. The bucket must exist.
    client
        A boto3 S3 client to use; by default one is made from the standard AWS
        environment variables, profile and config files.
    max_attempts
        Attempts per request, retried with exponential backoff on transient errors.
        Default: ``AWS_MAX_ATTEMPTS`` or the profile's ``max_attempts``, else 3.
    multipart_threshold, part_size
        Files larger than ``multipart_threshold`` bytes are uploaded in parts of
        ``part_size`` bytes.
    max_workers
        Requests of one call in flight at once.
    """

    # -- the BlobStore interface ---------------------------------------------------------

    def has(self, digest: str) -> bool:  # noqa: D102 - documented on BlobStore
        return self._head(self.key(digest)) is not None

    def missing(self, digests: Sequence[str]) -> set[str]:
        """The digests among ``digests`` that are not in the store (looked up concurrently)."""
        unique = sorted(set(digests))
        if len(unique) <= 1:
            return {d for d in unique if not self.has(d)}
        with ThreadPoolExecutor(min(self.max_workers, len(unique))) as pool:
            found = list(pool.map(self.has, unique))
        return {d for d, there in zip(unique, found, strict=True) if not there}

    def path_hint(self, digest: str) -> Path | None:  # noqa: D102
        check_digest(digest)
        return None

    def open(self, digest: str) -> BinaryIO:  # noqa: D102
        key = self.key(digest)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if self._status(exc) == 404:
                msg = f"blob {digest} is not in the blob store at {self.url!r}"
                raise NotFoundError(msg) from None
            self.fail(exc, f"read blob {digest}")
        body = _Body(self, digest, response["Body"], int(response.get("ContentLength", 0)))
        return io.BufferedReader(body, CHUNK_SIZE)

    def size(self, digest: str) -> int:  # noqa: D102
        with self._lock:
            listed = self._listed.get(digest)
        if listed is not None:
            return listed[0]
        head = self._head(self.key(digest))
        if head is None:
            msg = f"blob {digest} is not in the blob store at {self.url!r}"
            raise NotFoundError(msg)
        return int(head["ContentLength"])

    def remove(self, digest: str) -> None:  # noqa: D102
        keys = [self.key(digest), self._marker(digest)]
        with self._request(f"remove blob {digest}"):
            for key in keys:
                self._client.delete_object(Bucket=self.bucket, Key=key)
        with self._lock:
            self._listed.pop(digest, None)
            self._touched.pop(digest, None)

    def touch(self, digest: str) -> None:  # noqa: D102
        with self._request(f"record the use of blob {digest}"):
            self._client.put_object(Bucket=self.bucket, Key=self._marker(digest), Body=b"")
        with self._lock:  # its age is read from the store from now on
            self._listed.pop(digest, None)

    def last_used(self, digest: str) -> float | None:  # noqa: D102
        check_digest(digest)
        with self._lock:
            listed = self._listed.get(digest)
            touched = self._touched.get(digest)
        if listed is None:
            head = self._head(self.key(digest))
            if head is None:
                return None
            marker = self._head(self._marker(digest))
            listed = (int(head["ContentLength"]), _age(head["LastModified"]))
            touched = _age(marker["LastModified"]) if marker is not None else None
        return max(listed[1], touched or 0.0)

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        with self._request(f"list the objects under {prefix!r}"):
            pages = self._client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                yield from page.get("Contents", [])

    def digests(self) -> Iterator[str]:
        """Every blob in the store, from one listing that also notes sizes and ages."""
        listed: dict[str, tuple[int, float]] = {}
        base = f"{self._base}sha256/"
        for obj in self._list(base):
            rest = str(obj["Key"])[len(base) :]
            digest = rest.replace("/", "", 1)
            if rest[2:3] == "/" and _is_digest(digest):
                listed[digest] = (int(obj["Size"]), _age(obj["LastModified"]))
        touched = {}
        for obj in self._list(f"{self._base}touched/"):
            digest = str(obj["Key"]).rsplit("/", 1)[-1]
            if _is_digest(digest):
                touched[digest] = _age(obj["LastModified"])
        with self._lock:
            self._listed = listed
            self._touched = touched
        yield from sorted(listed)

    def collect_leftovers(self, older_than: float) -> int:
        """Remove uploads idle since before ``older_than`` (epoch seconds); count them.

        A client killed during an upload leaves its parts (an unfinished multipart
        upload) or a staged object behind, invisible as a blob. What an upload in
        progress uses is left alone, whatever ``older_than``: the rule is in the module
        docstring (:mod:`registry_widget.files.s3`), with the floor
        :data:`LEFTOVER_MIN_AGE_S`.
        """
        cutoff = min(older_than, time.time() - LEFTOVER_MIN_AGE_S)
        removed = 0
        blobs, staging = f"{self._base}sha256/", f"{self._base}{STAGING}/"
        copying = False  # an upload to a content address is live: it may read a staged object
        for prefix in (blobs, staging):
            for upload in self._unfinished(prefix):
                if self._active_since(upload, cutoff):
                    copying = copying or prefix == blobs
                    continue
                if self._abort(upload):
                    removed += 1
        if copying:
            return removed
        for obj in self._list(staging):
            if _age(obj["LastModified"]) < cutoff:
                with self._request(f"remove the staged upload {obj['Key']!r}"):
                    self._client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                removed += 1
        return removed

    def _unfinished(self, prefix: str) -> list[dict[str, Any]]:
        """The unfinished multipart uploads of keys under ``prefix``."""
        found: list[dict[str, Any]] = []
        with self._request(f"list the unfinished multipart uploads under {prefix!r}"):
            pages = self._client.get_paginator("list_multipart_uploads")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                found += page.get("Uploads", [])
        return found

    def _active_since(self, upload: dict[str, Any], cutoff: float) -> bool:
        """Whether ``upload`` was begun, or any of its parts written, at ``cutoff`` or later.

        An upload completed or aborted by its client meanwhile counts as active: it is
        not a leftover.
        """
        if _age(upload["Initiated"]) >= cutoff:
            return True
        key, upload_id = upload["Key"], upload["UploadId"]
        try:
            pages = self._client.get_paginator("list_parts")
            for page in pages.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
                if any(_age(part["LastModified"]) >= cutoff for part in page.get("Parts", [])):
                    return True
        except Exception as exc:
            if self._status(exc) == 404:  # NoSuchUpload: ended meanwhile
                return True
            self.fail(exc, f"list the parts of the upload to {key!r}")
        return False

    def _abort(self, upload: dict[str, Any]) -> bool:
        """Abort an unfinished upload; False if it had ended meanwhile."""
        key = upload["Key"]
        try:
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
            )
        except Exception as exc:
            if self._status(exc) == 404:
                return False
            self.fail(exc, f"abort the unfinished upload to {key!r}")
        return True


def _age(last_modified: Any) -> float:
    """When an object was written (epoch seconds), from its Last-Modified time.

    Last-Modified has one-second resolution and some stores (Swift) round it up; the
    start of that second is taken, so a blob just written is not younger than now.
    The time is the object store's clock: keep grace periods well above any skew.
    """
    return float(last_modified.timestamp()) - 1.0


def _is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
