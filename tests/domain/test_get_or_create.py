"""Get-or-create: `exist_ok=True` on create_registry and create_collection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import registry_widget as rw


def test_create_registry_exist_ok_returns_the_existing_one_unchanged(
    client: rw.Client, backend: str, store_path: Path, store_bytes: Callable[[Path], bytes]
) -> None:
    first = client.create_registry("Cat Models", description="cats")
    with pytest.raises(rw.ConflictError, match="already exists"):
        client.create_registry("Cat Models")
    before = store_bytes(store_path) if backend == "json" else b""
    again = client.create_registry(
        "cat models", description="other", visibility="restricted", exist_ok=True
    )
    assert again == first
    assert (again.name, again.description, again.visibility) == (
        "Cat Models",
        "cats",
        "organization",
    )
    if backend == "json":
        assert store_bytes(store_path) == before
    assert len([h for h in first.history() if h.action == "registry.create"]) == 1
    # A new name is created as usual.
    assert client.create_registry("Dogs", exist_ok=True).name == "Dogs"


def test_create_registry_exist_ok_does_not_reveal_a_hidden_registry(
    make_client: Callable[[str], rw.Client],
) -> None:
    ada = make_client("ada")
    ada.add_user("bob", "member")
    ada.create_registry("Secret", visibility="restricted")
    bob = make_client("bob")
    with pytest.raises(rw.ConflictError):
        bob.create_registry("Secret", exist_ok=True)


def test_create_collection_exist_ok_returns_the_existing_one_of_the_same_type(
    client: rw.Client, backend: str, store_path: Path, store_bytes: Callable[[Path], bytes]
) -> None:
    models = client.registry("Models")
    first = models.create_collection("resnet", type="model", tags=["a"])
    with pytest.raises(rw.ConflictError, match="already has a collection"):
        models.create_collection("resnet", type="model")
    before = store_bytes(store_path) if backend == "json" else b""
    again = models.create_collection("resnet", type="model", tags=["b"], exist_ok=True)
    assert again == first
    assert again.tags == ["a"]
    with pytest.raises(rw.ConflictError, match=r"of type 'model', not 'onnx'"):
        models.create_collection("resnet", type="onnx", exist_ok=True)
    if backend == "json":
        assert store_bytes(store_path) == before
    assert models.create_collection("vit", type="model", exist_ok=True).name == "vit"
