"""Logging an artifact version: files stored, content compared, the new version recorded.

:func:`log_artifact` is what ``Client.log_artifact`` and ``Run.log_artifact`` do: it
validates the call, hashes and copies the files into the blob store before the store's
lock is taken, and records the version (or returns the newest one when its content is
identical) in one transaction; a refused call takes back the blobs it added.
:func:`newest_version` finds a name's newest version, which logging compares with and
``name:latest`` resolves to.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from registry_widget.domain.garbage import referenced_digests
from registry_widget.domain.retry import retried
from registry_widget.domain.session import Doc, Session, now
from registry_widget.errors import ConflictError, RegistryError, ValidationError
from registry_widget.files.blobs import Added
from registry_widget.files.manifest import Manifest, build_manifest, manifest_digest, manifest_size
from registry_widget.files.sources import collect_files
from registry_widget.metadata import validate_metadata
from registry_widget.names import (
    validate_artifact_name,
    validate_artifact_type,
    validate_description,
    validate_tags,
)
from registry_widget.store import Transaction

__all__ = ["log_artifact", "newest_version"]

_MAX_PROBES = 64


def log_artifact(
    s: Session,
    name: str,
    *,
    artifact_type: str,
    files: object,
    metadata: Mapping[str, Any] | None,
    description: str,
    tags: Iterable[str],
    on_version: Callable[[Transaction, int], None] | None = None,
) -> int:
    """Store the files and record a new version of artifact ``name``; return its id.

    Content identical to the newest version of ``name`` returns that version's id.
    ``on_version(txn, id)``, when given, runs in the same transaction once the version
    is known (new or identical), so what it records commits with it or not at all.
    """
    name = validate_artifact_name(name)
    artifact_type = validate_artifact_type(artifact_type)
    meta = validate_metadata(metadata)
    description = validate_description(description)
    tag_list = validate_tags(tags)
    s.require_org("member", "log artifact versions")
    sources = collect_files(files)
    _check_type(s, name, artifact_type)
    # Files are hashed and copied into the blob store before the lock is taken; a call
    # refused after that takes back what it added, so the blob store is unchanged too.
    with s.blobs.recording() as added:
        try:
            manifest = build_manifest(sources, s.blobs)
            digest = manifest_digest(manifest)
            return _record_version(
                s,
                name,
                artifact_type,
                sources,
                manifest,
                digest,
                (meta, description, tag_list),
                on_version,
            )
        except BaseException:
            if added:
                _take_back(s, added)
            raise


def _check_type(s: Session, name: str, artifact_type: str) -> tuple[int, Doc] | None:
    """The name's row, after refusing a type other than the name's."""
    found = s.store.find_one("artifact_names", name=name)
    if found is None:
        return None
    name_doc = found[1]
    if name_doc["type"] != artifact_type:
        # Naming the type would confirm a name whose versions the user may not see.
        msg = (
            f"artifact {name!r} has type {name_doc['type']!r}; its versions cannot be "
            f"logged as {artifact_type!r}. Use another name for another type"
            if newest_version(s, name) is not None
            else f"the artifact name {name!r} is not available for type "
            f"{artifact_type!r}; use another name"
        )
        raise ValidationError(msg, field="type", value=artifact_type)
    return found


def _take_back(s: Session, added: Added) -> None:
    """Remove what a refused call added to the blob store (none of it is referred to)."""
    # Best effort: what stays behind is unreferenced, and garbage collection removes it.
    with contextlib.suppress(RegistryError, OSError), s.store.transaction():
        s.blobs.discard(added, referenced_digests(s, added.digests))


def _ensure_blobs(s: Session, sources: Mapping[str, Path], manifest: Manifest) -> None:
    """Store again, under the lock, blobs that garbage collection removed since ingest."""
    absent = s.blobs.missing([entry["digest"] for entry in manifest.values()])
    for rel, entry in manifest.items():
        if entry["digest"] not in absent:
            continue
        absent.discard(entry["digest"])
        try:
            s.blobs.put_file(sources[rel], entry["digest"])
        except ValidationError:
            msg = (
                f"file {str(sources[rel])!r} changed while it was being logged; log it again "
                "once nothing is writing to it"
            )
            raise ConflictError(msg) from None


@retried
def _record_version(
    s: Session,
    name: str,
    artifact_type: str,
    sources: Mapping[str, Path],
    manifest: Manifest,
    digest: str,
    fields: tuple[dict[str, Any], str, list[str]],
    on_version: Callable[[Transaction, int], None] | None,
) -> int:
    meta, description, tag_list = fields
    with s.store.transaction() as txn:
        name_row = _check_type(s, name, artifact_type)
        if name_row is not None:
            name_id, name_doc = name_row
            newest = newest_version(s, name, visible=False)
            # Identical content returns the newest version, unless the user may not see it.
            if newest is not None and newest[1]["digest"] == digest and s.sees_artifact(newest[0]):
                _warn_unapplied(newest[1], meta, description, tag_list)
                if on_version is not None:
                    on_version(txn, newest[0])
                return newest[0]
            index = int(name_doc["next_index"])
            txn.update("artifact_names", name_id, {"next_index": index + 1})
        else:
            index = 0
            txn.insert("artifact_names", {"name": name, "type": artifact_type, "next_index": 1})
        _ensure_blobs(s, sources, manifest)
        art_id = txn.insert(
            "artifacts",
            {
                "name": name,
                "index": index,
                "type": artifact_type,
                "digest": digest,
                "size": manifest_size(manifest),
                "files": manifest,
                "metadata": meta,
                "description": description,
                "tags": tag_list,
                "created_at": now(),
                "created_by": s.user,
            },
        )
        s.record(
            txn,
            "artifact.create",
            f"{name}:v{index}",
            after={"digest": digest},
            artifact_id=art_id,
        )
        if on_version is not None:
            on_version(txn, art_id)
    return art_id


def _warn_unapplied(doc: Doc, meta: dict[str, Any], description: str, tags: list[str]) -> None:
    """Warn when identical files came with other metadata, which the call does not apply."""
    differ = [
        field
        for field, given in (("metadata", meta), ("description", description), ("tags", tags))
        if given and given != doc[field]
    ]
    if differ:
        ref = f"{doc['name']}:v{doc['index']}"
        msg = (
            f"the files are identical to {ref}, so {ref} is returned and the "
            f"{' and '.join(differ)} given here were not applied (metadata is fixed at "
            f"logging; use {ref}.update() for description and tags)"
        )
        warnings.warn(msg, UserWarning, stacklevel=4)


def newest_version(s: Session, name: str, *, visible: bool = True) -> tuple[int, Doc] | None:
    """The newest version of ``name``: probed down from the next number, then sorted.

    Only versions the user may see count, unless ``visible`` is False.
    """
    store = s.store
    name_row = store.find_one("artifact_names", name=name)
    top = int(name_row[1]["next_index"]) - 1 if name_row is not None else -1
    for index in range(top, max(top - _MAX_PROBES, -1), -1):
        found = store.find_one("artifacts", index=index, name=name)
        if found is not None and (not visible or s.sees_artifact(found[0])):
            return found
    for art_id, doc in store.query("artifacts", where={"name": name}, order=("-index",)):
        if doc["index"] <= top - _MAX_PROBES and (not visible or s.sees_artifact(art_id)):
            return art_id, doc
    return None
