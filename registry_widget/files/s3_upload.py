"""Uploading files to an S3 bucket as blobs named by their sha256.

Uploads are conditional (``If-None-Match: *``), every file is read once: small files are
hashed and sent in one request, larger ones are sent in parts to a staging key while
they are hashed and then copied inside the store to their content address (see
:mod:`registry_widget.files.s3`). Many files go up through a bounded pool of threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from registry_widget.errors import NotFoundError, RegistryError, StorageError, ValidationError
from registry_widget.files import blobs as _blobs
from registry_widget.files.blobs import Added, OnRead, check_digest
from registry_widget.files.s3_bucket import MAX_PARTS, STAGING, S3Bucket, progress_bar
from registry_widget.files.sources import as_source

__all__ = ["S3Uploads"]


class S3Uploads(S3Bucket):
    """The upload side of an S3 blob store: ``put_file``, ``ingest`` and ``ingest_many``."""

    def put_file(self, src: Path, digest: str) -> None:  # noqa: D102
        check_digest(digest)
        if self.has(digest):
            self.touch(digest)
            return
        self._upload(as_source(src), digest, self._added(), None)

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
        return self._ingest(as_source(src), self._added(), on_read)

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
            futures = [pool.submit(self._ingest, as_source(s), added, counted) for s in sources]
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
        bar = progress_bar(size, f"uploading {src.name}")
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
        bar = progress_bar(size, f"uploading {src.name}")
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


def _mismatch(src: Path, digest: str, actual: str) -> ValidationError:
    msg = f"file {str(src)!r} has sha256 {actual}, not the digest {digest} it was stored under"
    return ValidationError(msg, field="digest", value=digest)
