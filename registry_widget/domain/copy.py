"""Copying one store into another: graduating a file store to a team's server (SPEC §8).

:func:`copy_store` copies users, registries (settings, members, protected aliases,
types), collections, runs, artifact versions with their files and producing run, links
with their numbers and aliases, what each run used and produced, and history, through
the store interface and the blob store interface only, so it works between any two
backends.

Objects are matched by their natural keys, never by ids (ids differ between stores):
users and registries by name, collections by registry and name, artifact versions by
name and version number, links by collection and number, history entries by what they
say (when, who, what, target, before and after). A run is matched by its ``origin``
when it has one (an imported run: ``"mlflow:<run id>"``, which importing it again in
the destination then finds), else by when it started, who started it and its name
(start times have microseconds: a source with two runs alike in all three is refused);
an edge of a run by its run, its version and its kind (input or output). A run that
went on in the source since it was copied (it ended, or its summary or heartbeat
changed) is brought up to date, as long as the destination's copy is still the running
run it was. History entries are copied as they read, so one naming a run by its source
id (``train (run 7)``) keeps that text.

A copy first reads both stores and refuses, before writing anything, any object the
destination holds that differs from the source's; then it copies what the destination
lacks, one whole object per transaction (an artifact version's files are in the
destination's blob store before the version is committed). A copy that fails part-way
leaves whole objects only, and running it again copies the rest; a copy with nothing
new changes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from registry_widget.domain.copy_plan import Planner, Step
from registry_widget.domain.copy_steps import Bars, Writer
from registry_widget.errors import ValidationError

if TYPE_CHECKING:
    from registry_widget.domain.client import Client

__all__ = ["KINDS", "CopyReport", "copy_store"]

KINDS = (
    "users",
    "registries",
    "artifact names",
    "runs",
    "versions",
    "collections",
    "links",
    "run edges",
    "history",
)
"""The kinds of object copied, in the order they are copied."""

_BATCH = 200
"""At most this many objects of one kind are copied per transaction."""
_BATCH_BYTES = 64 * 1024 * 1024
"""Artifact versions with more bytes of new files than this get a transaction of their own."""

_PROGRESS_OBJECTS = 200
_PROGRESS_BYTES = 4 * 1024 * 1024
"""Without ``progress=``, bars are shown for copies of more objects or bytes than these."""


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_store` copied.

    Attributes
    ----------
    copied
        The number of objects copied (or brought up to date) by kind (:data:`KINDS`).
    bytes
        The bytes of files copied into the destination's blob store (files whose
        content was already there cost nothing).
    """

    copied: Mapping[str, int]
    bytes: int

    @property
    def objects(self) -> int:
        """How many objects were copied in all."""
        return sum(self.copied.values())

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in self.copied.items() if n)
        return f"copied {self.objects} objects ({counts or 'nothing new'}), {self.bytes} bytes"


def copy_store(src: Client, dst: Client, *, progress: bool | None = None) -> CopyReport:
    """Copy everything in ``src``'s store that ``dst``'s store lacks into it.

    Users with their roles; registries with their settings, members, protected aliases
    and types; collections; runs with their state, times, heartbeat, config, summary,
    tags, origin and error (a run reads as it does in the source: a crashed run stays
    crashed); artifact versions with their files (copied between the two blob stores,
    whatever they are) and their producing run; links with their numbers (gaps
    included) and aliases; what each run used and produced; and the history, each entry
    with its original time, user and action. Safe to re-run: objects already copied are
    recognised by their natural keys (see the module's documentation) and left as they
    are, so a second run copies only what is new.

    Parameters
    ----------
    src, dst
        Clients of the two stores, each acting as an organisation admin of its store.
    progress
        Show progress bars over objects and bytes (tqdm). Default: when there are more
        than a few hundred objects or a few MB to copy.

    Raises
    ------
    PermissionDeniedError
        If either client's user is not an organisation admin of their store.
    ValidationError
        If both clients work on the same store.
    ConflictError
        If the destination holds an object of the same name as one of the source's but
        with different content (a registry with other settings, a version with other
        files…). The error names the object and what differs; nothing is written.
    """
    s, d = src._s, dst._s
    if s.store is d.store:
        msg = "copy_store() needs two different stores; both clients work on the same one"
        raise ValidationError(msg, field="dst_client", value=dst)
    s.require_org("admin", "copy the store (copy_store reads every object of the source)")
    d.require_org("admin", "copy a store into theirs (copy_store writes into the destination)")
    steps = Planner(s, d).plan()
    size = sum(step.size for step in steps)
    show = (
        progress
        if progress is not None
        else (len(steps) > _PROGRESS_OBJECTS or size > _PROGRESS_BYTES)
    )
    bars = Bars(len(steps), size, show)
    copied = dict.fromkeys(KINDS, 0)
    try:
        with tempfile.TemporaryDirectory(prefix="registry-copy-") as scratch:
            writer = Writer(s, d, Path(scratch))
            for chunk in _chunks(steps):
                copied[chunk[0].kind] += writer.run(chunk, bars)
    finally:
        bars.close()
    return CopyReport(copied=copied, bytes=writer.copied_bytes)


def _chunks(steps: list[Step]) -> Iterator[list[Step]]:
    """``steps`` in runs of one kind, at most :data:`_BATCH` long."""
    chunk: list[Step] = []
    size = 0
    for step in steps:
        if chunk and (
            step.kind != chunk[0].kind or len(chunk) >= _BATCH or size + step.size > _BATCH_BYTES
        ):
            yield chunk
            chunk, size = [], 0
        chunk.append(step)
        size += step.size
    if chunk:
        yield chunk
