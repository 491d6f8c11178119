"""What every domain object shares: a document id in one user's session, read afresh.

A handle holds ids, never live documents. It reads its documents through the session
after the store's freshness check, and reuses them while the store's state is unchanged,
so another process's commit is seen at the next attribute read.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from registry_widget.domain.reprs import object_html
from registry_widget.domain.session import Doc, Session
from registry_widget.names import validate_description, validate_tags

__all__ = ["Handle", "edits"]

T = TypeVar("T")


class Handle(Generic[T]):
    """A domain object: ``(session, id)``, equal to any handle of the same object."""

    def __init__(self, session: Session, doc_id: int) -> None:
        self._s = session
        self._id = doc_id
        # The documents last read, with the store state they were read at.
        self._cache: tuple[int, T] | None = None

    @abstractmethod
    def _load(self) -> T:
        """Read the object's documents (raises NotFoundError when gone or hidden)."""

    @abstractmethod
    def _doc(self) -> Doc:
        """The object's own document, the first of the documents it reads."""

    @property
    def created_at(self) -> str:
        """When it was created, logged (a version) or linked (a link): ISO-8601, UTC."""
        return str(self._doc()["created_at"])

    @property
    def created_by(self) -> str:
        """Who created, logged (a version) or linked (a link) it."""
        return str(self._doc()["created_by"])

    def _docs(self) -> T:
        store = self._s.store
        with store.reading():  # one freshness check, however many documents _load reads
            state = store.state
            cache = self._cache
            if cache is not None and cache[0] == state:
                return cache[1]
            docs = self._load()
        self._cache = (state, docs)
        return docs

    def _prime(self, state: int, docs: T) -> None:
        """Hand over documents just read at ``state`` so the first read needs no lookup."""
        self._cache = (state, docs)

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, Handle)
            and other._s.store.identity == self._s.store.identity
            and other._id == self._id
        )

    def __hash__(self) -> int:
        return hash((self._s.store.identity, type(self).__name__, self._id))

    def _repr_fields_(self) -> dict[str, str]:
        """Labelled short texts for the notebook's table display (see ``reprs``)."""
        return {}

    def _repr_html_(self) -> str | None:
        return object_html(self)


def edits(description: str | None, tags: Iterable[str] | None) -> dict[str, Any]:
    """The validated description and tag changes of an ``update()`` call."""
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = validate_description(description)
    if tags is not None:
        changes["tags"] = validate_tags(tags)
    return changes
