"""The files of artifact versions: safe download and verification against a manifest.

An artifact version's files are described by a *manifest*
(:mod:`registry_widget.files.manifest`); the bytes themselves live in a
:class:`~registry_widget.files.blobs.BlobStore` under their digest. A download writes through
:mod:`registry_widget.files.placing`, which keeps every file inside the target folder. This
module knows nothing of registries, users or the document store.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    RegistryError,
    StorageError,
)
from registry_widget.files import placing
from registry_widget.files.blobs import BlobStore
from registry_widget.files.manifest import (
    FileEntry,
    check_manifest,
    manifest_size,
    progress_bar,
)
from registry_widget.files.placing import DIR_FLAGS, check_target, hash_stream
from registry_widget.text import plural

__all__ = ["VerifyReport", "download", "verify"]

# ----------------------------------------------------------------------- download


def _open_blob(blobs: BlobStore, rel: str, entry: FileEntry) -> contextlib.closing[BinaryIO]:
    try:
        return contextlib.closing(blobs.open(entry["digest"]))
    except NotFoundError:
        raise _missing_blob(rel, entry) from None


def _missing_blob(rel: str, entry: FileEntry) -> NotFoundError:
    msg = f"the content of file {rel!r} (blob {entry['digest']}) is not in the blob store"
    return NotFoundError(msg)


def download(
    manifest: Mapping[str, FileEntry],
    blobs: BlobStore,
    root: Path,
    *,
    progress: bool | None = None,
) -> Path:
    """Rebuild the files of a manifest under ``root`` and return ``root``.

    Nothing is ever written outside ``root``, whatever the manifest says: every path is
    checked again, and a path that would lead outside (through ``..``, an absolute path, or
    a symbolic link under ``root`` pointing elsewhere), or whose destination is a folder
    or a link, is refused before any file is written. Files already present with the
    right content are left alone; others are written to a temporary file and renamed
    over the destination. Downloads are not flushed to disk (they can be made again).

    Parameters
    ----------
    manifest
        Relative path -> ``{"digest", "size"}``.
    blobs
        The blob store holding the contents.
    root
        The target folder, created if needed.
    progress
        True shows a progress bar, False never does, None shows one above 4 MiB.

    Raises
    ------
    ValidationError
        If the manifest is malformed or a path would be written outside ``root``.
    ConflictError
        If ``root`` is an existing file.
    NotFoundError
        If the content of a file is not in the blob store.
    StoreCorruptedError
        If a blob's content does not match its digest (that file is not written).
    StorageError
        If a file cannot be written (a full disk, no permission).
    """
    check_manifest(manifest)
    absent = blobs.missing([entry["digest"] for entry in manifest.values()])
    for rel in sorted(manifest):
        if manifest[rel]["digest"] in absent:
            raise _missing_blob(rel, manifest[rel])
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        msg = (
            f"cannot download into {str(root)!r}: it (or a folder on its way) is an existing "
            "file, not a folder; choose another root"
        )
        raise ConflictError(msg) from None
    except OSError as exc:
        raise StorageError.from_os_error(exc, f"create the folder {str(root)!r}") from exc
    try:
        real_root = root.resolve()
        for rel in sorted(manifest):
            check_target(real_root, rel)
        root_fd = os.open(real_root, DIR_FLAGS)
    except OSError as exc:  # the folder changed while it was checked
        raise StorageError.from_os_error(exc, f"check the folder {str(root)!r}") from exc
    try:
        with progress_bar(manifest_size(manifest), "downloading", progress) as update:
            lock = threading.Lock()

            def counted(n: int) -> None:
                with lock:
                    update(n)

            def place(rel: str) -> None:
                try:
                    entry = manifest[rel]
                    content = (entry["digest"], entry["size"])
                    opener = functools.partial(_open_blob, blobs, rel, entry)
                    placing.place(rel, content, opener, real_root, root_fd, counted)
                except RegistryError:
                    raise
                except OSError as exc:
                    raise StorageError.from_os_error(
                        exc, f"write file {rel!r} under {str(root)!r}"
                    ) from exc

            _each(sorted(manifest), place, min(blobs.parallel_reads, len(manifest)))
    finally:
        os.close(root_fd)
    return root


def _each(items: list[str], do: Callable[[str], None], workers: int) -> None:
    """``do(item)`` for every item, by ``workers`` threads; the first error is raised.

    Once an item fails no further one begins; those running finish first.
    """
    if workers <= 1:
        for item in items:
            do(item)
        return
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(do, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()
        wait(futures)
        for future in futures:
            error = None if future.cancelled() else future.exception()
            if error is not None:
                raise error


# ------------------------------------------------------------------------- verify


def _names(paths: list[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f", … (+{len(paths) - limit} more)" if len(paths) > limit else "")


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`; true when everything matched.

    Attributes
    ----------
    ok
        True when nothing is changed, missing or extra.
    checked
        The number of files of the manifest that were checked.
    changed
        Relative paths whose content differs from the manifest.
    missing
        Relative paths whose content is absent.
    extra
        Files under the checked folder that are not in the manifest (empty for blobs).
    """

    checked: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    ok: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", not (self.changed or self.missing or self.extra))

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"{plural(self.checked, 'file')} verified"
        parts = [
            f"{len(paths)} {label}: {_names(paths)}"
            for label, paths in (
                ("changed", self.changed),
                ("missing", self.missing),
                ("extra", self.extra),
            )
            if paths
        ]
        return "; ".join(parts)


def _check_copy(
    real_root: Path, rel: str, update: Callable[[int], object]
) -> tuple[str, int] | None:
    """Hash the downloaded file for ``rel``; None if it is missing, ("", -1) if not a file."""
    path = real_root.joinpath(*rel.split("/"))
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(real_root):
        return "", -1
    with path.open("rb") as src:
        return hash_stream(src, update)


def _extra(real_root: Path, manifest: Mapping[str, FileEntry]) -> list[str]:
    extra = []
    for dirpath, dirnames, filenames in os.walk(real_root):
        here = Path(dirpath)
        links = [name for name in dirnames if (here / name).is_symlink()]
        for name in filenames + links:
            rel = (here / name).relative_to(real_root).as_posix()
            if rel not in manifest:
                extra.append(rel)
    return sorted(extra)


def verify(
    manifest: Mapping[str, FileEntry],
    blobs: BlobStore,
    root: Path | None = None,
    *,
    progress: bool | None = None,
) -> VerifyReport:
    """Hash the contents of a manifest again and report what differs.

    Parameters
    ----------
    manifest
        Relative path -> ``{"digest", "size"}``.
    blobs
        The blob store holding the contents (checked when ``root`` is None).
    root
        A folder the manifest was downloaded to; when given, the files under it are
        checked instead of the blobs, and files not in the manifest are reported as extra.
    progress
        True shows a progress bar, False never does, None shows one above 4 MiB.

    Returns
    -------
    VerifyReport
        True when every file is present with its recorded content (and, for a folder,
        nothing else is there).

    Raises
    ------
    ValidationError
        If the manifest is malformed.
    """
    check_manifest(manifest)
    changed: list[str] = []
    missing: list[str] = []
    extra: list[str] = []
    real_root = Path(root).resolve() if root is not None else None
    seen: dict[str, tuple[str, int] | None] = {}
    with progress_bar(manifest_size(manifest), "verifying", progress) as update:
        for rel in sorted(manifest):
            entry = manifest[rel]
            if real_root is not None:
                found = _check_copy(real_root, rel, update)
            elif entry["digest"] in seen:
                found = seen[entry["digest"]]
            elif blobs.has(entry["digest"]):
                with contextlib.closing(blobs.open(entry["digest"])) as src:
                    found = seen[entry["digest"]] = hash_stream(src, update)
            else:
                found = seen[entry["digest"]] = None
            if found is None:
                missing.append(rel)
            elif found != (entry["digest"], entry["size"]):
                changed.append(rel)
    if real_root is not None:
        extra = _extra(real_root, manifest) if real_root.is_dir() else []
    return VerifyReport(checked=len(manifest), changed=changed, missing=missing, extra=extra)
