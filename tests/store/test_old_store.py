"""A file store written when links copied their version's fields opens, reads and upgrades.

The store in ``old_store/`` was written by the library before links referred to their
artifact version only (``make_old_store.py``): its snapshot's links, and the journal's
changes to them, carry the version's name, number, type, tags, description and metadata.
It must read as it did, and its first commit must write it anew without those copies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import registry_widget as rw
from registry_widget.store import STORE_SCHEMA

OLD_STORE = Path(__file__).resolve().parent / "old_store"
COPIED = {"artifact_name", "artifact_index", "type", "tags", "description", "metadata"}


def reads(client: rw.Client) -> dict[str, Any]:
    """What the store answers: filters through links, search, aliases, history."""
    team = client.registry("Team")

    def paths(spec: dict[str, Any] | None = None) -> list[str]:
        return [link.path for link in client.versions(spec)]

    return {
        "all": paths(),
        "odd": paths({"tag": "odd"}),
        "best": paths({"tag": "best"}),
        "acc": paths({"metadata.acc": {"$gt": 0.65}}),
        "lr": paths({"metadata.opt.lr": {"$lt": 0.5}, "type": "model"}),
        "dataset": paths({"type": "dataset"}),
        "described": paths({"description": {"$contains": "retrained"}}),
        "named": paths({"name": "mnist", "alias": "prod"}),
        "team_cnn": [link.path for link in team.versions({"tag": "cnn"})],
        "search": [(h.kind, h.path, h.name, h.field, h.value) for h in client.search("b")],
        "champion": client.use("Team/classifier:champion").path,
        "baseline": client.use("Team/classifier:baseline").path,
        "prod": client.use("Team/digits:prod").path,
        "latest": client.use("Models/resnets:latest").path,
        "aliases": team.collection("classifier").versions()[0].aliases,
        "metadata": client.use("Team/classifier:v1").metadata,
        "repr": repr(client.use("Team/classifier:v1")),
        "version_history": [e.action for e in client.artifact("resnet:v1").history()],
        "link_history": [e.action for e in client.use("Team/classifier:v3").history()],
        "linked": sorted(link.path for link in client.artifact("resnet:v0").links()),
        "tags": client.artifact("resnet:v1").tags,
    }


EXPECTED: dict[str, Any] = {
    "all": [
        "Datasets/mnist:v0",
        "Team/digits:v0",
        "Team/classifier:v3",
        "Team/classifier:v2",
        "Team/classifier:v1",
        "Models/resnets:v0",
        "Team/classifier:v0",
    ],
    "odd": ["Team/classifier:v3"],
    "best": ["Team/classifier:v1"],  # tags changed in the journal
    "acc": ["Team/classifier:v3", "Team/classifier:v2"],
    "lr": ["Team/classifier:v3", "Team/classifier:v2", "Team/classifier:v1"],
    "dataset": ["Datasets/mnist:v0", "Team/digits:v0"],
    "described": ["Team/classifier:v1"],
    "named": ["Team/digits:v0"],
    "team_cnn": [
        "Team/classifier:v3",
        "Team/classifier:v2",
        "Team/classifier:v1",
        "Team/classifier:v0",
    ],
    "search": [
        ("version", "Team/classifier:v0", "resnet", "alias", "baseline"),
        ("version", "Team/classifier:v1", "resnet", "tag", "best"),
    ],
    "champion": "Team/classifier:v3",
    "baseline": "Team/classifier:v0",
    "prod": "Team/digits:v0",
    "latest": "Models/resnets:v0",
    "aliases": ["latest", "champion"],
    "metadata": {"acc": 0.6, "layers": 19, "opt": {"lr": 0.1}},
    "repr": "<Link Team/classifier:v1 → resnet:v1>",
    "version_history": [
        "link.delete",
        "artifact.update",
        "link.create",
        "link.create",
        "artifact.create",
    ],
    "link_history": ["alias.set", "link.create"],
    "linked": ["Models/resnets:v0", "Team/classifier:v0"],
    "tags": ["cnn", "best"],
}
"""What the store answered when read by the library that wrote it."""


def snapshot_links(path: Path) -> list[dict[str, Any]]:
    tables = json.loads(path.read_text())
    return list(tables["links"].values())


def test_an_old_store_reads_as_before_and_its_first_commit_upgrades_it(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    shutil.copytree(OLD_STORE, folder)
    store = folder / "registry.json"
    before = store.read_bytes()
    assert any(COPIED & link.keys() for link in snapshot_links(store))
    client = rw.Client(str(store), user="ada")
    assert reads(client) == EXPECTED
    assert store.read_bytes() == before  # reading writes nothing
    client.use("Team/classifier:v1").set_alias("candidate")  # the first commit
    client.use("Team/classifier:v1").remove_alias("candidate")
    links = snapshot_links(store)
    assert links
    assert not any(COPIED & link.keys() for link in links)
    assert {"registry_id", "collection_id", "index", "artifact_id", "aliases"} <= links[0].keys()
    meta = json.loads(store.read_text())["meta"]["1"]
    assert meta["schema"] == STORE_SCHEMA
    assert reads(client) == EXPECTED
    client.close()
    reopened = rw.Client(str(store), user="ada")
    assert reads(reopened) == EXPECTED
