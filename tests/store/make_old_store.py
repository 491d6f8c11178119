"""Write the file store of tests/store/old_store/, whose links copy their version's fields.

The store was written by the library as it was before links referred to their artifact
version only; ``test_old_store.py`` opens it with today's code. Run from the repository
root: ``python -m tests.store.make_old_store`` (it replaces the folder's contents).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import registry_widget as rw

HERE = Path(__file__).resolve().parent / "old_store"


def make(folder: Path) -> None:
    """Fill a new store in ``folder``: snapshot, then a journal tail with more changes."""
    scratch = Path(tempfile.mkdtemp())
    client = rw.Client(str(folder / "registry.json"), user="ada")
    client.add_user("bob", "member")
    team = client.create_registry(
        "Team", description="team models", artifact_types=["model", "dataset"]
    )
    team.create_collection("classifier", type="model", tags=["vision"])
    for i in range(4):
        path = scratch / f"w{i}.bin"
        path.write_bytes(f"weights {i}".encode())
        version = client.log_artifact(
            "resnet",
            type="model",
            files=path,
            metadata={"acc": 0.5 + i / 10, "layers": 18 + i, "opt": {"lr": 10.0**-i}},
            description=f"resnet try {i}",
            tags=["cnn", "even" if i % 2 == 0 else "odd"],
        )
        client.link(version, "Team/classifier", aliases=["champion"] if i == 2 else [])
        if i < 2:
            client.link(version, "Models/resnets")
    data = scratch / "d.csv"
    data.write_text("a,b\n1,2\n")
    dataset = client.log_artifact(
        "mnist", type="dataset", files=data, metadata={"rows": 1}, tags=["digits"]
    )
    client.link(dataset, "Team/digits", aliases=["prod"])
    client.link(dataset, "Datasets/mnist")
    client.use("Team/classifier:v0").set_alias("baseline")
    client.store.checkpoint()
    # In the journal: a version's new tags and description (copied onto its links then),
    # an alias moved, a version unlinked.
    client.artifact("resnet:v1").update(description="resnet retrained", tags=["cnn", "best"])
    client.use("Team/classifier:v3").set_alias("champion")
    client.use("Models/resnets:v1").unlink()
    client.close()
    shutil.rmtree(scratch)


if __name__ == "__main__":
    if HERE.exists():
        shutil.rmtree(HERE)
    HERE.mkdir()
    make(HERE)
    for path in sorted(HERE.rglob("*")):
        print(path.relative_to(HERE))
