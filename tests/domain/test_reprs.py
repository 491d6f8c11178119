"""Rich notebook displays: domain objects and returned lists show as small HTML tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import registry_widget as rw


def test_lists_are_lists_and_show_as_tables(
    client: rw.Client, log: Callable[..., rw.ArtifactVersion]
) -> None:
    client.create_registry("Cat <Models>", description="cats & dogs")
    v = log("cat", metadata={"acc": 0.9412345, "epochs": 3, "opt": {"lr": 1}})
    client.link(v, "Cat <Models>/resnet", aliases=["production"])
    regs = client.registries()
    assert isinstance(regs, list)
    assert regs == list(regs)
    table = regs._repr_html_()  # type: ignore[attr-defined]
    assert table is not None
    assert "<table" in table
    assert "3 registries" in table
    # User text is escaped, never markup.
    assert "Cat &lt;Models&gt;" in table
    assert "cats &amp; dogs" in table
    assert "<Models>" not in table
    coll = client.registry("Cat <Models>").collection("resnet")
    versions_html = coll.versions()._repr_html_()  # type: ignore[attr-defined]
    assert "Cat &lt;Models&gt;/resnet:v0" in versions_html
    assert "production" in versions_html
    assert "acc=0.9412, epochs=3, …" in versions_html
    for lst in (
        client.artifacts(),
        client.versions(),
        client.users(),
        client.search("cat"),
        client.registry("Cat <Models>").collections(),
        client.registry("Cat <Models>").members(),
        coll.history(),
        v.links(),
    ):
        assert isinstance(lst, list)
        html = lst._repr_html_()  # type: ignore[attr-defined]
        assert html is not None, lst
        assert html.startswith("<table"), lst
    assert client.search("nothing-like-this")._repr_html_() is None  # type: ignore[attr-defined]


def test_objects_show_their_fields_and_fall_back_when_gone(
    client: rw.Client, log: Callable[..., rw.ArtifactVersion]
) -> None:
    v = log("cat", metadata={"acc": 0.9})
    link = client.link(v, "Models/resnet", aliases=["staging"])
    assert "staging" in link._repr_html_()  # type: ignore[operator]
    assert "acc=0.9" in v._repr_html_()  # type: ignore[operator]
    coll = client.registry("Models").collection("resnet")
    assert "staging → v0" in coll._repr_html_()  # type: ignore[operator]
    assert "Models" in client.registry("Models")._repr_html_()  # type: ignore[operator]
    link.unlink()
    # A handle whose object is gone shows its plain repr, which says so.
    assert link._repr_html_() is None
    assert "unlinked" in repr(link)


def test_plain_reprs_count_files_in_words(
    client: rw.Client, log: Callable[..., rw.ArtifactVersion], tmp_path: Path
) -> None:
    one = log("cat")
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")
    two = client.log_artifact("dog", type="model", files=folder)
    assert "(model, 1 file, " in repr(one)
    assert "(model, 2 files, " in repr(two)


def test_a_lineage_repr_counts_its_nodes_in_words(
    client: rw.Client, log: Callable[..., rw.ArtifactVersion], files: Callable[..., Path]
) -> None:
    data = log("data", type="dataset")
    with client.start_run("train") as run:
        run.use(client.link(data, "Datasets/images").path)
        model = run.log_artifact("cat", type="model", files=files("w.bin", "weights"))
    text = repr(model.lineage())
    assert text.startswith("<Lineage of cat:v0: 2 versions, 1 run, ")
    assert "1 runs" not in text
