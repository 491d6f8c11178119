"""Manifests of artifact versions: hashing files into a blob store, digests and sizes.

An artifact version's files are described by a *manifest*, a mapping from relative POSIX
path to ``{"digest": sha256 hex, "size": bytes}``; the bytes themselves live in a
:class:`~registry_widget.files.blobs.BlobStore` under their digest. :func:`build_manifest`
hashes files while copying them into the blob store, :func:`manifest_digest` names the
content of a manifest. Downloading and verifying them is
:mod:`registry_widget.files.artifacts`. This module knows nothing of registries, users
or the document store.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol, TypedDict

from registry_widget.errors import NotFoundError, ValidationError
from registry_widget.files.blobs import BlobStore, check_digest
from registry_widget.files.sources import as_source, check_tree, validate_file_path
from registry_widget.paths import validate_relpath
from registry_widget.text import plural

__all__ = [
    "PROGRESS_THRESHOLD",
    "FileEntry",
    "Manifest",
    "ProgressBar",
    "ProgressFactory",
    "build_manifest",
    "check_manifest",
    "manifest_digest",
    "manifest_size",
    "plural",
    "progress_bar",
]

PROGRESS_THRESHOLD = 4 * 1024 * 1024
"""Hashing or copying more bytes than this in one call shows a progress bar (4 MiB)."""


class FileEntry(TypedDict):
    """One file of a manifest: the sha256 hex digest and size in bytes of its content."""

    digest: str
    size: int


Manifest = dict[str, FileEntry]
"""Relative POSIX path -> :class:`FileEntry`, sorted by path."""


class ProgressBar(Protocol):
    """The part of a progress bar (such as a ``tqdm`` instance) that is used here."""

    def update(self, n: int) -> object:
        """Advance the bar by ``n`` bytes."""

    def close(self) -> object:
        """Finish the bar."""


class ProgressFactory(Protocol):
    """Makes a progress bar; ``tqdm.auto.tqdm`` itself is one."""

    def __call__(self, *, total: int, desc: str) -> ProgressBar:
        """Return a bar expecting ``total`` bytes, labelled ``desc``."""


def check_manifest(manifest: Mapping[str, FileEntry]) -> None:
    """Refuse a manifest whose paths, digests or sizes are malformed, or whose paths clash."""
    for rel, entry in manifest.items():
        validate_relpath(rel)
        if not isinstance(entry, Mapping):
            msg = f"manifest entry for {rel!r} must be a mapping with 'digest' and 'size'"
            raise ValidationError(msg, field="files", value=entry)
        check_digest(entry.get("digest"), field=f"digest of {rel!r}")
        size = entry.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            msg = f"size of {rel!r} is {size!r}; expected a non-negative integer"
            raise ValidationError(msg, field="size", value=size)
    check_tree(list(manifest))


# ----------------------------------------------------------------------- progress


@contextlib.contextmanager
def progress_bar(total: int, desc: str, progress: bool | None) -> Iterator[Callable[[int], object]]:
    """Yield an ``update(n)`` callable, backed by a tqdm bar when one should be shown."""
    show = progress if progress is not None else total > PROGRESS_THRESHOLD
    if not show:
        yield lambda n: None
        return
    from tqdm.auto import tqdm  # imported here: slow to import, rarely needed

    bar = tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr
    )
    try:
        yield bar.update
    finally:
        bar.close()


# -------------------------------------------------------------------------- sizes


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        msg = f"file {str(path)!r} does not exist"
        raise NotFoundError(msg) from None


# ---------------------------------------------------------------------- manifests


def build_manifest(
    files: Mapping[str, Path], blobs: BlobStore, *, progress: bool | None = None
) -> Manifest:
    """Hash every file, add its content to ``blobs``, and return the manifest.

    Each file is read once: it is hashed while being copied into the store, and content
    already in the store is not stored again.

    Parameters
    ----------
    files
        Relative POSIX path -> source file, as returned by
        :func:`~registry_widget.files.sources.collect_files`.
    blobs
        The blob store receiving the contents.
    progress
        True shows a progress bar, False never does, None shows one above 4 MiB.

    Returns
    -------
    Manifest
        Relative path -> ``{"digest", "size"}``, sorted by relative path.

    Raises
    ------
    ValidationError
        If ``files`` is empty or a relative path is not allowed.
    NotFoundError
        If a file does not exist.
    ConflictError
        If a file changed while it was being read (its content is not recorded).
    """
    if not files:
        msg = "files is empty; an artifact needs at least one file"
        raise ValidationError(msg, field="files", value=files)
    for rel in files:
        validate_file_path(rel)
    check_tree(list(files))
    total = sum(_file_size(Path(path)) for path in files.values())
    manifest: Manifest = {}
    with progress_bar(total, f"hashing {plural(len(files), 'file')}", progress) as update:
        ordered = sorted(files)
        stored = blobs.ingest_many([as_source(files[rel]) for rel in ordered], on_read=update)
        for rel, (digest, size) in zip(ordered, stored, strict=True):
            manifest[rel] = {"digest": digest, "size": size}
    return manifest


def manifest_digest(manifest: Mapping[str, FileEntry]) -> str:
    r"""Return the sha256 hex digest identifying a manifest's content.

    The digest is taken over this UTF-8 text: the line ``registry_widget manifest v1``,
    then one line per file, ordered by relative path (Unicode code point order, the same
    as UTF-8 byte order), each ``<sha256 hex> <size in decimal> <relative path>``; every
    line, the last included, ends with ``\n``. Relative paths cannot contain control
    characters, so the encoding is unambiguous. In Python::

        text = "registry_widget manifest v1\n" + "".join(
            f"{e['digest']} {e['size']} {rel}\n" for rel, e in sorted(manifest.items())
        )
        hashlib.sha256(text.encode("utf-8")).hexdigest()

    The same files give the same digest whatever order they were listed in.

    Raises
    ------
    ValidationError
        If a path, digest or size in the manifest is malformed.
    """
    check_manifest(manifest)
    hasher = hashlib.sha256(b"registry_widget manifest v1\n")
    for rel in sorted(manifest):
        entry = manifest[rel]
        hasher.update(f"{entry['digest']} {entry['size']} {rel}\n".encode())
    return hasher.hexdigest()


def manifest_size(manifest: Mapping[str, FileEntry]) -> int:
    """Return the total size in bytes of the files of a manifest."""
    return sum(entry["size"] for entry in manifest.values())
