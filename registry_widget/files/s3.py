"""Blobs in an S3-compatible object store: one object per file, named by its sha256.

``S3BlobStore("s3://bucket/prefix")`` keeps the blob ``ab12…`` as the object
``prefix/sha256/ab/12…`` (the layout of the folder store). Endpoint and credentials are
found the AWS way (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE`` and the shared config files); with an endpoint other than AWS's,
addressing is path-style, which every S3-compatible store answers.

- Uploads are conditional (``If-None-Match: *``): a stored object is never written
  over, and a 412 means another uploader stored the same content first. (Swift checks
  the condition when a PUT begins, so uploads that overlap may both succeed; the key is
  the content's digest, so they write the same bytes.) Every file is read once. Files
  up to :data:`MULTIPART_THRESHOLD` are hashed and sent in one request. Larger files
  are sent in parts to a staging key (``prefix/uploads/<random>``) while they are hashed;
  once the digest is known, a blob already there costs no more (the staged upload is
  aborted), else the staged object is copied inside the store, part by part
  (UploadPartCopy, which has no 5 GiB limit), to the content address, completed there
  with ``If-None-Match: *``, and deleted. A file whose digest is known beforehand
  (:meth:`S3BlobStore.put_file`) goes to its content address directly, hashed on the
  way, and is completed only if the digests agree.
- Many files are uploaded by a bounded pool of threads (:data:`MAX_WORKERS`).
- Downloads stream the object; :func:`~registry_widget.files.artifacts.download` hashes
  what it writes and refuses a mismatch with ``StoreCorruptedError``.
- Transient failures (connection errors, throttling, 5xx) are retried with exponential
  backoff by botocore's standard retry mode; every failure that remains is a
  :class:`~registry_widget.errors.RegistryError` naming the endpoint, bucket and cause.
- Garbage collection sees each object's size and last-modified time in one listing;
  storing a blob again writes a small marker ``prefix/touched/<digest>`` whose time makes
  the blob young again. Unfinished multipart uploads and staged objects (a killed
  client) older than the grace period are removed.

Requires the ``s3`` extra (``pip install registry_widget[s3]``), which brings boto3.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, BinaryIO, NoReturn
from urllib.parse import urlsplit

from registry_widget.errors import (
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    StorageError,
    ValidationError,
)
from registry_widget.files import blobs as _blobs
from registry_widget.files.blobs import CHUNK_SIZE, Added, BlobStore, OnRead, check_digest

__all__ = ["MAX_WORKERS", "MULTIPART_THRESHOLD", "PART_SIZE", "S3BlobStore", "parse_s3_url"]

MULTIPART_THRESHOLD = 16 * 1024 * 1024
"""Files larger than this (16 MiB) are uploaded in parts."""

PART_SIZE = 8 * 1024 * 1024
"""The size of each part of a multipart upload (8 MiB; S3's minimum is 5 MiB)."""

MAX_PARTS = 10_000
"""S3's limit on the parts of one upload: larger files get larger parts."""

STAGING = "uploads"
"""Large files whose digest is not known yet are staged under ``prefix/uploads/``."""

MAX_WORKERS = 16
"""At most this many requests of one call are in flight at once."""

PROGRESS_THRESHOLD = 4 * 1024 * 1024
"""Uploading or downloading one object larger than this shows its own progress bar."""

_REFUSED_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
}


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into ``(bucket, prefix)`` (the prefix may be empty).

    Raises
    ------
    ValidationError
        If ``url`` is not an ``s3://`` URL naming a bucket.
    """
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        msg = f"blobs {url!r} is not an S3 location; expected 's3://bucket' or 's3://bucket/prefix'"
        raise ValidationError(msg, field="blobs", value=url)
    return parts.netloc, parts.path.strip("/")


def _bar(total: int, desc: str) -> Any:
    """A tqdm bar for one object, or None below :data:`PROGRESS_THRESHOLD`."""
    if total <= PROGRESS_THRESHOLD:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr
    )


class _Body(io.RawIOBase):
    """An object's streamed body as a readable file; errors become RegistryErrors."""

    def __init__(self, store: S3BlobStore, digest: str, body: Any, length: int) -> None:
        self._store = store
        self._digest = digest
        self._body = body
        self._bar = _bar(length, f"reading blob {digest[:12]}")

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


class S3BlobStore(BlobStore):
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

    def __init__(
        self,
        url: str,
        *,
        client: Any = None,
        max_attempts: int | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_size: int = PART_SIZE,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.url = url
        self.bucket, self.prefix = parse_s3_url(url)
        self._base = f"{self.prefix}/" if self.prefix else ""
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.max_workers = max_workers
        self.parallel_reads = max_workers
        self._owns_client = client is None
        self._client = client if client is not None else _make_client(max_attempts, max_workers)
        self.endpoint = str(self._client.meta.endpoint_url)
        self._lock = threading.Lock()
        self._listed: dict[str, tuple[int, float]] = {}
        self._touched: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"S3BlobStore({self.url!r}, endpoint={self.endpoint!r})"

    def close(self) -> None:
        """Close the connections of the S3 client this store made (not of one passed in).

        Requests made afterwards open new connections.
        """
        if self._owns_client:
            with contextlib.suppress(Exception):
                self._client.close()

    # -- keys and errors -----------------------------------------------------------------

    def key(self, digest: str) -> str:
        """The object key of blob ``digest``."""
        check_digest(digest)
        return f"{self._base}sha256/{digest[:2]}/{digest[2:]}"

    def _marker(self, digest: str) -> str:
        return f"{self._base}touched/{digest}"

    def fail(self, exc: BaseException, what: str) -> NoReturn:
        """Raise the RegistryError for ``exc``, met while doing ``what``."""
        raise self._error(exc, what) from exc

    def _error(self, exc: BaseException, what: str) -> RegistryError:
        from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

        where = f"the object store at {self.endpoint} (bucket {self.bucket!r})"
        if isinstance(exc, RegistryError):
            return exc
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            msg = (
                f"cannot {what}: no credentials for {where}; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; nothing was changed"
            )
            return PermissionDeniedError(msg)
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                msg = (
                    f"cannot {what}: the bucket {self.bucket!r} does not exist at "
                    f"{self.endpoint}; create it, or name an existing bucket in the blobs URL"
                )
                return NotFoundError(msg)
            if code in _REFUSED_CREDENTIALS or status == 403:
                msg = (
                    f"cannot {what}: {where} refused the credentials ({code or status}); "
                    "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE and the "
                    "bucket's permissions; nothing was changed"
                )
                return PermissionDeniedError(msg)
            detail = error.get("Message") or code
            msg = f"cannot {what}: {where} answered {status} {code}: {detail}; nothing was changed"
            return StorageError(msg)
        msg = (
            f"cannot {what}: {where} could not be reached or broke off "
            f"({type(exc).__name__}: {exc}), even after retries; nothing was changed"
        )
        return StorageError(msg)

    @contextlib.contextmanager
    def _request(self, what: str) -> Iterator[None]:
        try:
            yield
        except RegistryError:
            raise
        except Exception as exc:
            self.fail(exc, what)

    @staticmethod
    def _status(exc: BaseException) -> int | None:
        response = getattr(exc, "response", None)
        if not isinstance(response, dict):
            return None
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self._client.head_object(Bucket=self.bucket, Key=key))
        except Exception as exc:
            if self._status(exc) == 404:
                return None
            self.fail(exc, f"look up object {key!r}")

    def check(self) -> None:
        """Refuse a bucket that does not exist or credentials the store refuses."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if self._status(exc) == 404:
                msg = (
                    f"the bucket {self.bucket!r} does not exist at {self.endpoint}; create "
                    "it, or name an existing bucket in the blobs URL"
                )
                raise NotFoundError(msg) from exc
            self.fail(exc, f"open the bucket {self.bucket!r}")

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
        """Remove uploads begun before ``older_than`` (epoch seconds); return how many.

        A client killed during an upload leaves its parts (an unfinished multipart
        upload) or a staged object behind, invisible as a blob.
        """
        aborted = 0
        with self._request("list unfinished multipart uploads"):
            pages = self._client.get_paginator("list_multipart_uploads")
            for prefix in (f"{self._base}sha256/", f"{self._base}{STAGING}/"):
                for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                    for upload in page.get("Uploads", []):
                        if _age(upload["Initiated"]) < older_than:
                            self._client.abort_multipart_upload(
                                Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                            )
                            aborted += 1
        for obj in self._list(f"{self._base}{STAGING}/"):
            if _age(obj["LastModified"]) < older_than:
                with self._request(f"remove the staged upload {obj['Key']!r}"):
                    self._client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                aborted += 1
        return aborted

    # -- uploads ---------------------------------------------------------------------------

    def put_file(self, src: Path, digest: str) -> None:  # noqa: D102
        check_digest(digest)
        if self.has(digest):
            self.touch(digest)
            return
        self._upload(Path(src), digest, self._added(), None)

    def ingest(self, src: Path, *, on_read: OnRead | None = None) -> tuple[str, int]:
        """Hash ``src`` and upload it unless its blob is there; see :meth:`BlobStore.ingest`.

        Raises
        ------
        StorageError
            If the object store cannot be reached or fails the upload.
        PermissionDeniedError
            If it refuses the credentials.
        NotFoundError
            If ``src`` or the bucket does not exist.
        """
        return self._ingest(Path(src), self._added(), on_read)

    def ingest_many(
        self, sources: Sequence[Path], *, on_read: OnRead | None = None
    ) -> list[tuple[str, int]]:
        """Ingest many files with a bounded pool of threads; results in the order given.

        The first failure stops the files not yet begun and is raised once the running
        ones end; what was stored meanwhile is recorded (see :meth:`recording`).
        """
        if len(sources) <= 1:
            return [self.ingest(src, on_read=on_read) for src in sources]
        added = self._added()
        lock = threading.Lock()

        def counted(n: int) -> None:
            if on_read is not None:
                with lock:
                    on_read(n)

        with ThreadPoolExecutor(min(self.max_workers, len(sources))) as pool:
            futures = [pool.submit(self._ingest, Path(s), added, counted) for s in sources]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:
                for future in futures:
                    future.cancel()
                wait(futures)
                raise _first_error(failed)
        return [f.result() for f in futures]

    def _ingest(self, src: Path, added: Added | None, on_read: OnRead | None) -> tuple[str, int]:
        try:
            size = src.stat().st_size
        except FileNotFoundError:
            msg = f"file {str(src)!r} does not exist"
            raise NotFoundError(msg) from None
        except OSError as exc:
            raise StorageError.from_os_error(exc, f"read file {str(src)!r}") from exc
        try:
            if size <= self.multipart_threshold:
                data = b"".join(_blobs.read_chunks(src, on_read))
                digest = hashlib.sha256(data).hexdigest()
                self._put(digest, data, added)
                return digest, len(data)
            return self._staged_upload(src, size, added, on_read)
        except RegistryError:
            raise
        except OSError as exc:
            raise StorageError.from_os_error(exc, f"read file {str(src)!r}") from exc

    def _part_size(self, size: int) -> int:
        """The part size for an object of ``size`` bytes: within S3's 10,000 parts."""
        return max(self.part_size, -(-size // MAX_PARTS))

    def _staged_upload(
        self, src: Path, size: int, added: Added | None, on_read: OnRead | None
    ) -> tuple[str, int]:
        """Upload a large file in one pass over it; return its ``(digest, size)``.

        Its parts go to a staging key while it is hashed; then the blob is either found
        already stored (the staged upload is dropped) or copied, inside the object store,
        to its content address (:meth:`_copy_into_place`). The staged object is removed
        whatever happens; one a killed client leaves is collected as a leftover.
        """
        staging = f"{self._base}{STAGING}/{uuid.uuid4().hex}"
        with self._request(f"begin the upload of {str(src)!r}"):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=staging, ContentType="application/octet-stream"
            )["UploadId"]
        bar = _bar(size, f"uploading {src.name}")
        completed = False
        try:
            parts, digest = self._send_parts(
                src, staging, upload_id, f"file {str(src)!r}", on_read, bar, size
            )
            if self.has(digest):  # stored before: the staged bytes are not needed
                self.touch(digest)
                return digest, size
            with self._request(f"complete the staged upload of {str(src)!r}"):
                self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=staging,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            completed = True
            self._copy_into_place(staging, digest, size, added)
            return digest, size
        finally:
            with contextlib.suppress(Exception):
                if completed:
                    self._client.delete_object(Bucket=self.bucket, Key=staging)
                else:
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=staging, UploadId=upload_id
                    )
            if bar is not None:
                bar.close()

    def _copy_into_place(self, staging: str, digest: str, size: int, added: Added | None) -> None:
        """Copy the staged object to blob ``digest``'s key, never over a stored object.

        A multipart upload whose parts are ranges of the staged object (UploadPartCopy):
        CopyObject stops at 5 GiB, parts do not, and the bytes never leave the store. It
        is completed with ``If-None-Match: *`` like any upload (:meth:`_complete`).
        """
        key = self.key(digest)
        with self._request(f"begin the copy of blob {digest}"):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType="application/octet-stream"
            )["UploadId"]
        step = self._part_size(size)
        ranges = [(start, min(start + step, size) - 1) for start in range(0, size, step)]

        def copy(number: int, first: int, last: int) -> dict[str, Any]:
            with self._request(f"copy part {number} of blob {digest}"):
                result = self._client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": staging},
                    CopySourceRange=f"bytes={first}-{last}",
                )
            return {"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]}

        try:
            with ThreadPoolExecutor(max(1, min(4, self.max_workers))) as pool:
                futures = [
                    pool.submit(copy, number, first, last)
                    for number, (first, last) in enumerate(ranges, 1)
                ]
                parts = [f.result() for f in futures]
            self._complete(key, upload_id, parts, digest, added)
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def _put(self, digest: str, data: bytes, added: Added | None) -> None:
        """Store ``data`` under ``digest`` unless there; a 412 means another stored it.

        AWS answers 409 while another conditional write of the key is in flight: the
        PUT is tried again a little later, when the other has succeeded (412) or failed.
        """
        for attempt in range(6):
            try:
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=self.key(digest),
                    Body=data,
                    IfNoneMatch="*",
                    ContentType="application/octet-stream",
                )
                break
            except Exception as exc:
                status = self._status(exc)
                if status == 412:
                    self.touch(digest)
                    return
                if status == 409 and attempt < 5:
                    time.sleep(0.05 * 2**attempt)
                    continue
                self.fail(exc, f"upload blob {digest}")
        if added is not None:
            with self._lock:
                added.digests.add(digest)

    def _upload(
        self,
        src: Path,
        digest: str,
        added: Added | None,
        on_read: OnRead | None,
    ) -> None:
        """Upload ``src``, which must hash to ``digest``; in parts above the threshold.

        Read once: the parts are sent to the content address as they are hashed, and the
        upload is completed only if the digests agree.
        """
        try:
            size = src.stat().st_size
        except FileNotFoundError:
            msg = f"file {str(src)!r} does not exist"
            raise NotFoundError(msg) from None
        if size <= self.multipart_threshold:
            data = b"".join(_blobs.read_chunks(src, on_read))
            actual = hashlib.sha256(data).hexdigest()
            if actual != digest:
                raise _mismatch(src, digest, actual)
            self._put(digest, data, added)
            return
        key = self.key(digest)
        with self._request(f"begin the upload of blob {digest}"):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType="application/octet-stream"
            )["UploadId"]
        bar = _bar(size, f"uploading {src.name}")
        try:
            parts, actual = self._send_parts(
                src, key, upload_id, f"blob {digest}", on_read, bar, size
            )
            if actual != digest:
                raise _mismatch(src, digest, actual)
            self._complete(key, upload_id, parts, digest, added)
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        finally:
            if bar is not None:
                bar.close()

    def _send_parts(
        self,
        src: Path,
        key: str,
        upload_id: str,
        what: str,
        on_read: OnRead | None,
        bar: Any,
        size: int,
    ) -> tuple[list[dict[str, Any]], str]:
        """Read ``src`` once, hashing it, and upload its parts a few at a time.

        Returns the parts and the sha256 of what was sent. ``what`` names the upload in
        messages; ``size`` is the file's size, which sets the part size.
        """
        part_size = self._part_size(size)
        hasher = hashlib.sha256()
        parts: list[Future[dict[str, Any]]] = []
        buffer = bytearray()

        def send(number: int, body: bytes) -> dict[str, Any]:
            with self._request(f"upload part {number} of {what}"):
                etag = self._client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )["ETag"]
            if bar is not None:
                bar.update(len(body))
            return {"PartNumber": number, "ETag": etag}

        in_flight = max(1, min(4, self.max_workers))
        with ThreadPoolExecutor(in_flight) as pool:
            try:
                for chunk in _blobs.read_chunks(src, on_read):
                    hasher.update(chunk)
                    buffer += chunk
                    while len(buffer) >= part_size:
                        body = bytes(buffer[:part_size])
                        del buffer[:part_size]
                        parts.append(pool.submit(send, len(parts) + 1, body))
                        if len(parts) >= in_flight:  # bound the memory held by parts
                            parts[-in_flight].result()
                if buffer or not parts:
                    parts.append(pool.submit(send, len(parts) + 1, bytes(buffer)))
                done = [p.result() for p in parts]
            except BaseException:
                for part in parts:
                    part.cancel()
                raise
        return done, hasher.hexdigest()

    def _complete(
        self,
        key: str,
        upload_id: str,
        parts: list[dict[str, Any]],
        digest: str,
        added: Added | None,
    ) -> None:
        try:
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except Exception as exc:
            if self._status(exc) == 412:  # another uploader stored the same content
                with contextlib.suppress(Exception):
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
                self.touch(digest)
                return
            self.fail(exc, f"complete the upload of blob {digest}")
        if added is not None:
            with self._lock:
                added.digests.add(digest)


def _first_error(failed: list[Future[tuple[str, int]]]) -> BaseException:
    error = failed[0].exception()
    assert error is not None
    return error


def _age(last_modified: Any) -> float:
    """When an object was written (epoch seconds), from its Last-Modified time.

    Last-Modified has one-second resolution and some stores (Swift) round it up; the
    start of that second is taken, so a blob just written is not younger than now.
    The time is the object store's clock: keep grace periods well above any skew.
    """
    return float(last_modified.timestamp()) - 1.0


def _is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _mismatch(src: Path, digest: str, actual: str) -> ValidationError:
    msg = f"file {str(src)!r} has sha256 {actual}, not the digest {digest} it was stored under"
    return ValidationError(msg, field="digest", value=digest)


def _make_client(max_attempts: int | None, max_workers: int) -> Any:
    """An S3 client from the standard AWS configuration, path-style off AWS."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # pragma: no cover - the extra is part of the dev install
        msg = (
            "S3 blob stores need boto3: pip install 'registry_widget[s3]' "
            f"(Python at {sys.executable})"
        )
        raise ValidationError(msg, field="blobs") from None

    def config(style: str | None) -> Any:
        retries: dict[str, Any] = {"mode": "standard"}
        if max_attempts is not None:
            retries["max_attempts"] = max_attempts
        return Config(
            retries=retries,
            connect_timeout=10,
            read_timeout=120,
            max_pool_connections=max_workers + 4,
            s3={"addressing_style": style} if style else None,
        )

    session = boto3.session.Session()  # AWS_PROFILE, keys and config files, as the CLI
    client = session.client("s3", config=config(None))
    endpoint = str(client.meta.endpoint_url)
    if not urlsplit(endpoint).hostname or not str(urlsplit(endpoint).hostname).endswith(
        "amazonaws.com"
    ):
        # S3-compatible stores answer path-style; virtual hosts need wildcard DNS.
        client = session.client("s3", config=config("path"))
    return client
