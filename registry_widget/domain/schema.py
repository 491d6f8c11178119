"""The fields every document of the registry's tables holds, for the store to check.

A store file whose documents lack one of these fields (or hold one of another type) was
damaged or written by something else: it is refused as such when it is read, instead of
failing later wherever the field is used.
"""

from __future__ import annotations

from typing import Any

from registry_widget.domain.session import now
from registry_widget.names import normalize_key
from registry_widget.store import STORE_FORMAT, STORE_SCHEMA, Transaction
from registry_widget.store.interface import Fields

__all__ = ["CORE_REGISTRIES", "DOCUMENT_FIELDS", "create_store_docs", "registry_doc"]

_STR = (str,)
_INT = (int,)
_LIST = (list,)
_DICT = (dict,)

DOCUMENT_FIELDS: Fields = {
    "meta": {"format": _STR},
    "users": {"name": _STR, "key": _STR, "role": _STR},
    "registries": {
        "name": _STR,
        "key": _STR,
        "kind": _STR,
        "description": _STR,
        "visibility": _STR,
        "artifact_types": (list, type(None)),
        "preconfigured_types": _LIST,
        "protected_aliases": _LIST,
        "members": _DICT,
    },
    "collections": {
        "registry_id": _INT,
        "name": _STR,
        "key": _STR,
        "type": _STR,
        "description": _STR,
        "tags": _LIST,
        "aliases": _DICT,
        "next_index": _INT,
    },
    "links": {
        "registry_id": _INT,
        "collection_id": _INT,
        "index": _INT,
        "artifact_id": _INT,
        "aliases": _LIST,
    },
    "artifact_names": {"name": _STR, "type": _STR, "next_index": _INT},
    "artifacts": {
        "name": _STR,
        "index": _INT,
        "type": _STR,
        "digest": _STR,
        "files": _DICT,
        "metadata": _DICT,
        "description": _STR,
        "tags": _LIST,
    },
    "history": {"at": _STR, "user": _STR, "action": _STR, "target": _STR},
    "runs": {
        "name": _STR,
        "state": _STR,
        "config": _DICT,
        "summary": _DICT,
        "tags": _LIST,
        "created_at": _STR,
        "created_by": _STR,
        "heartbeat_at": _STR,
        "ended_at": (str, type(None)),
        "error": (str, type(None)),
        "origin": (str, type(None)),
    },
    "run_edges": {"run_id": _INT, "artifact_id": _INT, "kind": _STR},
}

CORE_REGISTRIES = (
    ("Models", "model", "Trained models: the weights and files a team ships and serves."),
    ("Datasets", "dataset", "Datasets: the data a team trains and evaluates on."),
)


def registry_doc(
    name: str,
    kind: str,
    description: str,
    visibility: str,
    types: list[str] | None,
    preconfigured: list[str],
    creator: str,
) -> dict[str, Any]:
    """A registry's document: the one place that says what a registry holds."""
    at = now()
    return {
        "name": name,
        "key": normalize_key(name),
        "kind": kind,
        "description": description,
        "visibility": visibility,
        "artifact_types": types,
        "preconfigured_types": preconfigured,
        "protected_aliases": [],
        "members": {creator: "admin"} if kind == "custom" else {},
        "created_at": at,
        "created_by": creator,
        "updated_at": at,
    }


def create_store_docs(txn: Transaction, creator: str) -> None:
    """Insert what a new store holds: its format marker and the core registries."""
    txn.insert("meta", {"format": STORE_FORMAT, "schema": STORE_SCHEMA, "created_at": now()})
    for name, artifact_type, description in CORE_REGISTRIES:
        txn.insert(
            "registries",
            registry_doc(
                name, "core", description, "organization", [artifact_type], [artifact_type], creator
            ),
        )
