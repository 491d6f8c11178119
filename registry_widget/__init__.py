"""registry_widget: a local-first ML artifact registry that lives in Jupyter."""

from __future__ import annotations

from typing import Any

from registry_widget.domain.accepted_types import AcceptedType
from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.collection import Collection
from registry_widget.domain.copy import CopyReport, copy_store
from registry_widget.domain.garbage import GarbageReport
from registry_widget.domain.history import HistoryEntry
from registry_widget.domain.lineage import Lineage, LineageEdge, LineageNode
from registry_widget.domain.link import Link
from registry_widget.domain.registry import Registry
from registry_widget.domain.registry_access import Member
from registry_widget.domain.run import Run, RunSummary
from registry_widget.domain.search import SearchHit
from registry_widget.domain.users import User
from registry_widget.errors import (
    ConcurrentChangeError,
    ConflictError,
    DatabaseError,
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    StorageError,
    StoreCorruptedError,
    StoreLockedError,
    StoreUnavailableError,
    StoreWriteError,
    ValidationError,
)

__all__ = [
    "AcceptedType",
    "ArtifactVersion",
    "Client",
    "Collection",
    "ConcurrentChangeError",
    "ConflictError",
    "CopyReport",
    "DatabaseError",
    "GarbageReport",
    "HistoryEntry",
    "Lineage",
    "LineageEdge",
    "LineageNode",
    "Link",
    "Member",
    "NotFoundError",
    "PermissionDeniedError",
    "Registry",
    "RegistryError",
    "RegistryWidget",
    "Run",
    "RunSummary",
    "SearchHit",
    "StorageError",
    "StoreCorruptedError",
    "StoreLockedError",
    "StoreUnavailableError",
    "StoreWriteError",
    "User",
    "ValidationError",
    "copy_store",
]


def __getattr__(name: str) -> Any:
    # The widget pulls in ipywidgets and anywidget; import them only when it is used.
    if name == "RegistryWidget":
        from importlib import import_module

        return import_module("registry_widget.widget.app").RegistryWidget
    if name == "__version__":
        from importlib.metadata import version

        return version("registry_widget")
    msg = f"module 'registry_widget' has no attribute {name!r}"
    raise AttributeError(msg)
