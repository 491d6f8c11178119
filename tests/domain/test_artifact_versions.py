"""Artifact versions through the client: files into blobs, manifests, download, verify."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.files.folder import PACK_LIMIT, FileBlobStore


def test_files_go_into_a_content_addressed_folder_beside_the_store(store_path: Path, files) -> None:
    client = rw.Client(store_path, user="ada")
    big = os.urandom(PACK_LIMIT + 1)
    v = client.log_artifact(
        "cat", type="model", files=[files("w.bin", b"weights"), files("big.bin", big)]
    )
    folder = store_path.parent / "registry.blobs"
    # A small file goes into the pack, a large one into a file named by its digest.
    assert b"weights" in (folder / "blobs.pack").read_bytes()
    digest = v.files["big.bin"]["digest"]
    assert (folder / "sha256" / digest[:2] / digest[2:]).read_bytes() == big
    blobs = FileBlobStore(folder, pack_limit=PACK_LIMIT)
    with blobs.open(v.files["w.bin"]["digest"]) as fh:
        assert fh.read() == b"weights"


def test_log_from_folder_list_and_mapping(client: rw.Client, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("bb")
    v = client.log_artifact("dir", type="model", files=folder, metadata={"acc": 0.9})
    assert sorted(v.files) == ["a.txt", "sub/b.txt"]
    assert v.size == 3
    w = client.log_artifact("lst", type="model", files=[folder / "a.txt", folder / "sub" / "b.txt"])
    assert sorted(w.files) == ["a.txt", "b.txt"]
    m = client.log_artifact("map", type="model", files={"weights/final.bin": folder / "a.txt"})
    assert list(m.files) == ["weights/final.bin"]
    assert v.digest != w.digest


def test_version_fields(client: rw.Client, files) -> None:
    v = client.log_artifact(
        "cat",
        type="model",
        files=files(),
        metadata={"acc": 0.91, "cfg": {"lr": 0.1}},
        description="first try",
        tags=["resnet", "cats"],
    )
    assert (v.name, v.version, v.index, v.ref, v.type) == ("cat", "v0", 0, "cat:v0", "model")
    assert v.metadata == {"acc": 0.91, "cfg": {"lr": 0.1}}
    assert (v.description, v.tags, v.created_by) == ("first try", ["resnet", "cats"], "ada")
    assert v.created_at.endswith("Z")
    assert len(v.digest) == 64
    meta = v.metadata
    meta["acc"] = 0  # a copy: the version stays immutable
    assert v.metadata["acc"] == 0.91


def test_description_and_tags_stay_editable_and_reach_links(client: rw.Client, log) -> None:
    v = log()
    client.link(v, "Models/c")
    v.update(description="better words", tags=["good"])
    assert (v.description, v.tags) == ("better words", ["good"])
    assert [x.path for x in client.versions({"tag": "good"})] == ["Models/c:v0"]
    assert [h.action for h in v.history()] == ["artifact.update", "link.create", "artifact.create"]


def test_artifact_refs(client: rw.Client, log) -> None:
    a, b = log("m"), log("m")
    assert client.artifact("m") == client.artifact("m:latest") == b
    assert client.artifact("m:v0") == a
    with pytest.raises(rw.NotFoundError):
        client.artifact("m:v9")
    with pytest.raises(rw.ValidationError, match="aliases"):
        client.artifact("m:production")
    assert client.artifacts({"name": "m"}) == [b, a]
    assert client.artifacts(limit=1) == [b]


def test_download_round_trip_and_verify(client: rw.Client, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"alpha")
    (folder / "sub" / "b.bin").write_bytes(os.urandom(1000))
    link = client.link(client.log_artifact("m", type="model", files=folder), "Models/m")
    out = link.download(tmp_path / "out")
    assert (out / "a.txt").read_bytes() == b"alpha"
    assert (out / "sub" / "b.bin").read_bytes() == (folder / "sub" / "b.bin").read_bytes()
    assert link.artifact.verify()
    report = link.artifact.verify(out)
    assert report.ok
    assert report.checked == 2
    (out / "a.txt").write_bytes(b"tampered")
    report = link.artifact.verify(out)
    assert not report.ok
    assert report.changed == ["a.txt"]


def test_default_download_folder(client: rw.Client, log, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = log("cat").download()
    assert out == Path("artifacts", "cat", "v0")
    assert (tmp_path / out / "model.bin").exists()


def test_verify_reports_a_changed_blob(store_path: Path, files) -> None:
    client = rw.Client(store_path, user="ada")
    v = client.log_artifact("cat", type="model", files=files("w.bin", b"weights"))
    pack = store_path.parent / "registry.blobs" / "blobs.pack"
    pack.write_bytes(pack.read_bytes().replace(b"weights", b"bit rot"))
    report = v.verify()
    assert not report
    assert report.changed == ["w.bin"]
    assert "w.bin" in str(report)


def test_download_never_writes_outside_its_folder_whatever_the_manifest_says(
    store_path: Path, files, tmp_path: Path
) -> None:
    client = rw.Client(store_path, user="ada")
    client.log_artifact("cat", type="model", files=files("w.bin", b"x"))
    client.store.checkpoint()  # the store file alone then holds every document
    del client
    data = json.loads(store_path.read_text())
    for doc in data["artifacts"].values():
        doc["files"] = {"../../escaped.txt": doc["files"]["w.bin"]}
    store_path.write_text(json.dumps(data))
    client = rw.Client(store_path, user="ada")
    target = tmp_path / "a" / "b"
    with pytest.raises(rw.ValidationError, match=r"\.\."):
        client.artifact("cat:v0").download(target)
    assert not (tmp_path / "escaped.txt").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_restricted_viewer_may_not_download_through_the_registry(
    make_client, client: rw.Client, log, tmp_path: Path
) -> None:
    client.add_user("rv", "member")
    reg = client.create_registry("Team", visibility="restricted")
    reg.add_member("rv", "restricted_viewer")
    client.link(log(), "Team/c")
    rv = make_client("rv")
    link = rv.registry("Team").collection("c").version("v0")
    assert link.metadata == {}
    with pytest.raises(rw.PermissionDeniedError):
        link.download(tmp_path / "x")
    with pytest.raises(rw.PermissionDeniedError):
        link.artifact.verify()


def test_deleting_a_version_keeps_its_blobs_until_garbage_is_collected(
    store_path: Path, files
) -> None:
    client = rw.Client(store_path, user="ada")
    shared = files("shared.bin", b"shared")
    a = client.log_artifact("a", type="model", files=[shared, files("only-a.bin", b"only a")])
    b = client.log_artifact("b", type="model", files=[shared])
    blobs = FileBlobStore(store_path.parent / "registry.blobs", pack_limit=PACK_LIMIT)
    only_a = a.files["only-a.bin"]["digest"]
    both = sorted([only_a, b.files["shared.bin"]["digest"]])
    assert sorted(blobs.digests()) == both
    a.delete()
    assert sorted(blobs.digests()) == both
    assert client.collect_garbage(min_age=0) == rw.GarbageReport(removed=1, freed=6, kept=0)
    assert list(blobs.digests()) == [b.files["shared.bin"]["digest"]]
    assert not blobs.has(only_a)
    assert b.verify()


def test_identical_files_with_other_metadata_warn_that_it_was_not_applied(
    client: rw.Client, files
) -> None:
    a = client.log_artifact("m", type="model", files=files("w.bin", b"same"), metadata={"acc": 1})
    with pytest.warns(UserWarning, match=r"m:v0 is returned and the metadata"):
        b = client.log_artifact(
            "m", type="model", files=files("w.bin", b"same"), metadata={"acc": 2}
        )
    assert b == a
    assert b.metadata == {"acc": 1}
