"""A store that lives in memory only: for tests, examples and throw-away work."""

from __future__ import annotations

from registry_widget.store.base import Change, WorkingSetStore

__all__ = ["MemoryStore"]


class MemoryStore(WorkingSetStore):
    """TinyDB in memory; commits are atomic and isolated but not durable."""

    location = ":memory:"

    def _unchanged(self) -> bool:
        return True  # no other process writes to it

    def _persist(self, changes: list[Change]) -> None:
        """Nothing to write: the working set is the store."""

    def __repr__(self) -> str:
        return "MemoryStore()"
