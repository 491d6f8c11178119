"""Resolving ``Registry/Collection:selector`` to the linked version a user may use."""

from __future__ import annotations

from registry_widget.domain.collection import resolve_selector
from registry_widget.domain.link import Link, make_links
from registry_widget.domain.registry import Registry
from registry_widget.domain.session import Session
from registry_widget.errors import ValidationError
from registry_widget.paths import parse_path
from registry_widget.permissions import Action

__all__ = ["use_path"]


def use_path(s: Session, path: str) -> Link:
    """Resolve ``Registry/Collection:selector`` to a linked version the user may use."""
    p = parse_path(path)
    if p.collection is None:
        msg = f"use() takes 'Registry/Collection:alias', not the registry path {path!r}"
        raise ValidationError(msg, field="path", value=path)
    with s.store.reading():
        reg_id, reg = s.find_registry(p.registry)
        found = s.find_collection(reg_id, p.collection)
        if found is None:
            Registry(s, reg_id).collection(p.collection)  # refuses, naming what exists
            raise AssertionError  # pragma: no cover
        coll_id, coll = found
        s.require(reg, Action.USE, f"use versions from registry {reg['name']!r}")
        state = s.store.state
        link_id = resolve_selector(s, coll_id, coll, reg, p.selector or "latest")
        link = s.store.get("links", link_id)
        assert link is not None
        return make_links(s, state, [(link_id, link, coll, reg)])[0]
