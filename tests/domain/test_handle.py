"""What every domain object shares (registry_widget/domain/handle.py), on both backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import registry_widget as rw


def test_every_object_tells_who_created_it_and_when(make_client, client: rw.Client, files) -> None:
    client.add_user("bob", "member")
    client.add_user("cy", "member")
    reg = client.create_registry("Lab")
    reg.add_member("bob", "member")
    bob, cy = make_client("bob"), make_client("cy")
    version = cy.log_artifact("cat", type="model", files=files("w.bin", b"weights"))
    coll = bob.registry("Lab").create_collection("cats", type="model")
    link = bob.link(version.ref, "Lab/cats")
    objects: list[tuple[Any, str]] = [
        (client.registry("Lab"), "ada"),
        (client.registry("Lab").collection("cats"), "bob"),
        (client.use("Lab/cats:v0"), "bob"),
        (client.artifact("cat:v0"), "cy"),
    ]
    assert [type(obj).__name__ for obj, _ in objects] == [
        "Registry",
        "Collection",
        "Link",
        "ArtifactVersion",
    ]
    for obj, who in objects:
        assert obj.created_by == who
        when = datetime.fromisoformat(obj.created_at)
        assert when.utcoffset() is not None
    assert coll.created_at == client.registry("Lab").collection("cats").created_at
    assert link.created_at >= version.created_at
