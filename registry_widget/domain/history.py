"""The append-only history of changes, read per registry, collection or version."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from registry_widget.choices import validate_page
from registry_widget.domain.reprs import ResultList
from registry_widget.errors import ValidationError
from registry_widget.store import Store

__all__ = ["HistoryEntry", "read_history"]


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change: who did what, when, to what, and the value before and after.

    Attributes
    ----------
    at
        When, as an ISO-8601 UTC string.
    user
        Who made the change.
    action
        What kind of change, e.g. ``"registry.create"``, ``"link.create"``, ``"alias.set"``.
    target
        The path of the changed object at the time (``"Models/cat:v2"``).
    before, after
        The changed value before and after (None where there was none).
    """

    at: str
    user: str
    action: str
    target: str
    before: Any
    after: Any


def read_history(
    store: Store,
    field: str,
    value: int,
    *,
    action: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    registries: Container[int] | None = None,
) -> list[HistoryEntry]:
    """Entries whose ``field`` (``"registry_id"``, ``"link_id"``…) is ``value``, newest first.

    ``action`` keeps only entries whose action is it or starts with it and a dot
    (``"alias"`` keeps ``"alias.set"`` and ``"alias.remove"``). ``registries``, when given,
    drops entries about any other registry (those the reader may not see).
    """
    if action is not None and not isinstance(action, str):
        msg = (
            f"history action filter must be a str such as 'alias' or 'link.create', not {action!r}"
        )
        raise ValidationError(msg, field="action", value=action)
    limit, offset = validate_page(limit, offset)
    store.refresh()
    rows = store.history(
        field,
        value,
        kinds=None if action is None else (action,),
        registries=registries,
        limit=limit,
        offset=offset,
    )
    return ResultList(
        HistoryEntry(d["at"], d["user"], d["action"], d["target"], d["before"], d["after"])
        for _, d in rows
    )
