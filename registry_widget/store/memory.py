"""A store that lives in memory only: for tests, examples and throw-away work."""

from __future__ import annotations

from registry_widget.store.base import Change, WorkingSetStore
from registry_widget.store.journal import encode_record

__all__ = ["MemoryStore"]


class MemoryStore(WorkingSetStore):
    """TinyDB in memory; commits are atomic and isolated but not durable."""

    location = ":memory:"

    def _unchanged(self) -> bool:
        return True  # no other process writes to it

    def _persist(self, changes: list[Change]) -> None:
        """Nothing to write (the working set is the store), but nothing JSON would change.

        As a file store does, refuse documents whose JSON would not read back the same,
        so that a store behaves alike whatever holds it (and the big tables, held as
        JSON text, give back what was written).

        Raises
        ------
        ValidationError
            If a document holds such a value; the transaction is rolled back.
        """
        encode_record(changes)

    def __repr__(self) -> str:
        return "MemoryStore()"
