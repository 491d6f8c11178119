"""Garbage collection: removing the blobs that no artifact version refers to.

Deleting a version never removes its blobs: another process may be logging the same
content at that moment, having found the blob already stored. :func:`collect_garbage`
removes blobs later, under the store's lock, and only those that no version refers to
and that nobody stored or stored again within a grace period.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from registry_widget.domain.retry import retried
from registry_widget.domain.session import Session
from registry_widget.errors import ValidationError

__all__ = ["DEFAULT_MIN_AGE", "GarbageReport", "collect_garbage", "referenced_digests"]

DEFAULT_MIN_AGE = timedelta(hours=1)
"""Blobs stored (or stored again) more recently than this are kept by default."""


@dataclass(frozen=True)
class GarbageReport:
    """What :func:`collect_garbage` did.

    Attributes
    ----------
    removed
        The number of blobs removed.
    freed
        Their total size in bytes (small blobs in the pack file are hidden; their bytes
        stay in the file).
    kept
        Blobs no version refers to that were kept, being younger than the grace period.
    """

    removed: int
    freed: int
    kept: int

    def __str__(self) -> str:
        return (
            f"{self.removed} unreferenced blobs removed ({self.freed} bytes), "
            f"{self.kept} younger than the grace period kept"
        )


def min_age_seconds(min_age: object) -> float:
    """The grace period in seconds, from a :class:`~datetime.timedelta` or a number.

    Raises
    ------
    ValidationError
        If ``min_age`` is not a non-negative, finite duration.
    """
    if isinstance(min_age, timedelta):
        seconds = min_age.total_seconds()
    elif isinstance(min_age, int | float) and not isinstance(min_age, bool):
        seconds = float(min_age)
    else:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        msg = (
            f"min_age {min_age!r} is not a grace period; expected a datetime.timedelta or "
            "a number of seconds, zero or more"
        )
        raise ValidationError(msg, field="min_age", value=min_age)
    return seconds


def referenced_digests(s: Session, among: Collection[str] | None = None) -> set[str]:
    """The digests of the blobs that versions refer to (only those in ``among``, if given)."""
    return s.store.referenced_digests(among)


@retried
def collect_garbage(s: Session, min_age: object = DEFAULT_MIN_AGE) -> GarbageReport:
    """Remove the blobs no version refers to, last stored longer than ``min_age`` ago.

    Organisation admins only. The references are read under the store's lock, which is
    held until the last blob is removed, so a version committed meanwhile is seen; a
    logger that relied on a blob collected before it committed stores it again.

    The leftovers of uploads a killed logger began are removed too, never those of an
    upload still in progress, even with ``min_age=0``: each blob store tells them apart
    its own way and keeps a floor of its own (:meth:`BlobStore.collect_leftovers
    <registry_widget.files.blobs.BlobStore.collect_leftovers>`).

    Raises
    ------
    PermissionDeniedError
        If the user is not an organisation admin.
    ValidationError
        If ``min_age`` is not a non-negative duration.
    """
    grace = min_age_seconds(min_age)
    s.require_org("admin", "collect unreferenced blobs")
    removed = freed = kept = 0
    with s.store.transaction():
        used = referenced_digests(s)
        cutoff = time.time() - grace
        for digest in list(s.blobs.digests()):
            if digest in used:
                continue
            last = s.blobs.last_used(digest)
            if last is not None and last > cutoff:
                kept += 1
                continue
            size = s.blobs.size(digest)
            s.blobs.remove(digest)
            removed += 1
            freed += size
        # Unfinished uploads of a logger killed mid-way (never referred to by a version);
        # the store leaves those still in progress alone.
        s.blobs.collect_leftovers(cutoff)
    return GarbageReport(removed=removed, freed=freed, kept=kept)
