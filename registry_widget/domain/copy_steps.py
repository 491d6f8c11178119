"""Copying the planned steps: one kind of object per transaction, files first.

A :class:`Writer` copies the :class:`~registry_widget.domain.copy_plan.Step` s of one
kind in one transaction of the destination, looking each object up again under the
lock (a step already copied meanwhile is skipped); an artifact version's files are put
into the destination's blob store, checked against their digests, before the version is
committed. :class:`Bars` shows the progress over objects and bytes.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from registry_widget.domain.copy_match import (
    REGISTRY_SETTINGS,
    RUN_PROGRESS,
    Matcher,
    changed_fields,
    conflict,
    is_behind,
    natural_run_key,
    untouched_core,
)
from registry_widget.domain.copy_plan import Step
from registry_widget.domain.linking import LATEST, insert_link, place_alias
from registry_widget.domain.session import Doc, Session
from registry_widget.errors import NotFoundError, StoreCorruptedError
from registry_widget.files.blobs import CHUNK_SIZE, BlobStore
from registry_widget.store import Transaction

__all__ = ["Bars", "Writer"]


class Bars:
    """Progress over objects and bytes (tqdm.auto: a widget in notebooks)."""

    def __init__(self, objects: int, size: int, show: bool) -> None:
        self._objects: Any = None
        self._bytes: Any = None
        if not show:
            return
        from tqdm.auto import tqdm  # slow to import, rarely needed

        self._objects = tqdm(total=objects, desc="copying objects", unit="object", file=sys.stderr)
        if size:
            self._bytes = tqdm(
                total=size,
                desc="copying files",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
            )

    def object(self, n: int) -> None:
        """Count ``n`` objects copied."""
        if self._objects is not None:
            self._objects.update(n)

    def bytes(self, n: int) -> None:
        """Count ``n`` bytes of files copied."""
        if self._bytes is not None:
            self._bytes.update(n)

    def close(self) -> None:
        """Close the bars."""
        for bar in (self._objects, self._bytes):
            if bar is not None:
                bar.close()


class Writer(Matcher):
    """Copies planned steps into the destination, counting the bytes of files copied."""

    def __init__(self, src: Session, dst: Session, scratch: Path) -> None:
        super().__init__(src, dst)
        self.scratch = scratch
        self.copied_bytes = 0

    def run(self, steps: list[Step], bars: Bars) -> int:
        """Copy the objects of ``steps`` (one kind) in one transaction; return how many.

        Objects found already there (copied meanwhile) are not counted. The files of
        artifact versions are put into the destination's blob store first.
        """
        kind = steps[0].kind
        if kind == "versions":
            for step in steps:
                self._copy_blobs(step, bars)
        do: Callable[[Step, Transaction], int] = getattr(self, "_" + kind.replace(" ", "_"))
        with self.dst.store.transaction() as txn:
            written = sum(do(step, txn) for step in steps)
        bars.object(len(steps))
        return written

    def _users(self, step: Step, txn: Transaction) -> int:
        (user,) = step.docs
        if self.dst.store.find_one("users", key=user["key"]) is not None:
            return 0
        txn.insert("users", user)
        return 1

    def _registries(self, step: Step, txn: Transaction) -> int:
        (reg,) = step.docs
        found = self.dst_reg(reg["key"])
        if found is None:
            txn.insert("registries", reg)
            return 1
        there = found[1]
        settings = {f: reg[f] for f in (*REGISTRY_SETTINGS, "members")}
        if all(there.get(f) == v for f, v in settings.items()):
            return 0
        if not untouched_core(there):
            raise conflict(step.label, "it changed while copying")
        txn.update("registries", found[0], {**settings, "updated_at": reg.get("updated_at")})
        return 1

    def _artifact_names(self, step: Step, txn: Transaction) -> int:
        (name_doc,) = step.docs
        found = self.dst.store.find_one("artifact_names", name=name_doc["name"])
        if found is None:
            txn.insert("artifact_names", name_doc)
            return 1
        if found[1]["next_index"] >= name_doc["next_index"]:
            return 0
        txn.update("artifact_names", found[0], {"next_index": name_doc["next_index"]})
        return 1

    def _runs(self, step: Step, txn: Transaction) -> int:
        (run,) = step.docs
        found = self.dst_run(natural_run_key(run))
        if found is None:
            # The document as it is, not import_run(): that records a new "run.import"
            # entry (the source's own history is copied instead), needs an origin, and
            # sets the heartbeat from the run's times, which could end a running run.
            txn.insert("runs", run)
            return 1
        there = found[1]
        if not changed_fields(there, run, RUN_PROGRESS):
            return 0
        if not is_behind(there, run):
            raise conflict(step.label, "it changed while copying")
        txn.update("runs", found[0], {f: run[f] for f in RUN_PROGRESS})
        return 1

    def _versions(self, step: Step, txn: Transaction) -> int:
        (art,) = step.docs
        if self.dst_art(art["name"], art["index"]) is not None:
            return 0
        doc = dict(art)
        if step.refs["run"] is not None:
            run = self.dst_run(step.refs["run"])
            if run is None:
                msg = f"cannot copy {step.label}: its producing run is missing in the destination"
                raise NotFoundError(msg)
            doc["run_id"] = run[0]
        elif "run_id" in doc:
            doc["run_id"] = None  # its run is not in the source: no run to name
        # Under the lock: a blob collected since it was copied is copied again.
        for digest in self.dst.blobs.missing(sorted(step.digests)):
            self._copy_blob(digest, None)
        txn.insert("artifacts", doc)
        return 1

    def _collections(self, step: Step, txn: Transaction) -> int:
        coll, reg = step.docs
        dst_reg = self.dst_reg(reg["key"])
        if dst_reg is None:
            raise conflict(step.label, "its registry was deleted while copying")
        found = self.dst.store.find_one("collections", key=coll["key"], registry_id=dst_reg[0])
        if found is None:
            txn.insert("collections", {**coll, "registry_id": dst_reg[0], "aliases": {}})
            return 1
        if found[1]["next_index"] >= coll["next_index"]:
            return 0
        txn.update("collections", found[0], {"next_index": coll["next_index"]})
        return 1

    def _links(self, step: Step, txn: Transaction) -> int:
        link, coll, reg, ref = step.docs
        coll_key = (str(reg["key"]), str(coll["key"]))
        if self.dst_link(coll_key, link["index"]) is not None:
            return 0
        dst_reg = self.dst_reg(reg["key"])
        dst_coll = self.dst_coll(coll_key)
        art = self.dst_art(ref["name"], ref["index"])
        if dst_reg is None or dst_coll is None or art is None:
            msg = f"cannot copy {step.label}: what it links to is missing in the destination"
            raise NotFoundError(msg)
        d = self.dst
        link_id = insert_link(
            d,
            txn,
            dst_reg[0],
            dst_reg[1],
            dst_coll[0],
            art[0],
            art[1],
            index=int(link["index"]),
            created=(str(link["created_at"]), str(link["created_by"])),
        )
        for alias in link["aliases"]:
            if alias != LATEST:
                place_alias(d, txn, link_id, alias)
        return 1

    def _run_edges(self, step: Step, txn: Transaction) -> int:
        (edge,) = step.docs
        run_key, art_key = step.refs["run"], step.refs["artifact"]
        if self.dst_edge(run_key, art_key, edge["kind"]):
            return 0
        run, art = self.dst_run(run_key), self.dst_art(*art_key)
        if run is None or art is None:
            msg = f"cannot copy {step.label}: its run or version is missing in the destination"
            raise NotFoundError(msg)
        txn.insert("run_edges", {**edge, "run_id": run[0], "artifact_id": art[0]})
        return 1

    def _history(self, step: Step, txn: Transaction) -> int:
        (entry,) = step.docs
        keys = entry["_keys"]
        ids: dict[str, int | None] = {}
        for field_name, key in keys.items():
            found: tuple[int, Doc] | None
            if key is None:
                found = None
            elif field_name == "registry_id":
                found = self.dst_reg(key)
            elif field_name == "collection_id":
                found = self.dst_coll(tuple(key))
            elif field_name == "link_id":
                found = self.dst_link(None if key[0] is None else tuple(key[0]), key[1])
            elif field_name == "run_id":
                found = self.dst_run(key)
            else:
                found = self.dst_art(key[0], key[1])
            ids[field_name] = None if found is None else found[0]
        doc = {k: v for k, v in entry.items() if k != "_keys"}
        ids_fields = ("registry_id", "collection_id", "link_id", "artifact_id", "run_id")
        doc.update(dict.fromkeys(ids_fields))
        doc.update(ids)
        txn.insert("history", doc)
        return 1

    # -- files ------------------------------------------------------------------------------------

    def _copy_blobs(self, step: Step, bars: Bars) -> None:
        """Put the files of an artifact version into the destination's blob store."""
        for digest in sorted(self.dst.blobs.missing(sorted(step.digests))):
            self._copy_blob(digest, bars)

    def _copy_blob(self, digest: str, bars: Bars | None) -> None:
        src_blobs: BlobStore = self.src.blobs
        local = src_blobs.path_hint(digest)
        if local is not None:
            self.dst.blobs.put_file(local, digest)
            size = local.stat().st_size
        else:
            with self._spooled(src_blobs, digest) as (path, size):
                self.dst.blobs.put_file(path, digest)
        self.copied_bytes += size
        if bars is not None:
            bars.bytes(size)

    @contextmanager
    def _spooled(self, blobs: BlobStore, digest: str) -> Iterator[tuple[Path, int]]:
        """The blob ``digest`` of ``blobs`` in a local file, checked against its digest."""
        path = self.scratch / digest
        hasher = hashlib.sha256()
        size = 0
        try:
            with blobs.open(digest) as src, path.open("wb") as out:
                while chunk := src.read(CHUNK_SIZE):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            if hasher.hexdigest() != digest:
                msg = (
                    f"blob {digest} of the source store's blob store {blobs!r} holds content "
                    f"with sha256 {hasher.hexdigest()}; it is damaged and was not copied"
                )
                raise StoreCorruptedError(msg)
            yield path, size
        finally:
            path.unlink(missing_ok=True)
