"""The S3 bucket behind an :class:`~registry_widget.files.s3.S3BlobStore`.

Where the blobs live (``s3://bucket/prefix``, :func:`parse_s3_url`), the boto3 client
made the AWS way (path-style addressing off AWS), the object keys of blobs and their
markers, and how a failed request becomes a
:class:`~registry_widget.errors.RegistryError` naming the endpoint, bucket and cause.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn
from urllib.parse import urlsplit

from registry_widget.errors import (
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    StorageError,
    ValidationError,
)
from registry_widget.files.blobs import BlobStore, check_digest

__all__ = [
    "MAX_PARTS",
    "MAX_WORKERS",
    "MULTIPART_THRESHOLD",
    "PART_SIZE",
    "PROGRESS_THRESHOLD",
    "STAGING",
    "S3Bucket",
    "parse_s3_url",
    "progress_bar",
]

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


def progress_bar(total: int, desc: str) -> Any:
    """A tqdm bar for one object, or None below :data:`PROGRESS_THRESHOLD`."""
    if total <= PROGRESS_THRESHOLD:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr
    )


class S3Bucket(BlobStore):
    """A bucket and prefix holding blobs: the client, object keys and errors.

    The parameters are those of :class:`~registry_widget.files.s3.S3BlobStore`.
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
        self._client = client if client is not None else make_client(max_attempts, max_workers)
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


def make_client(max_attempts: int | None, max_workers: int) -> Any:
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
