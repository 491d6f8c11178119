"""What displaying the widget sends to the browser stays small however large the store is.

The frontend's first requests on each page are replayed here (the same methods and page
sizes as js/src/views/*.js) and the JSON bytes of the trait state and of every response
are counted. The code traits (_esm, _css: the bundle) are counted apart: they do not grow
with the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import registry_widget as rw

LIMIT = 64 * 1024
CODE_TRAITS = ("_esm", "_css")
RESULTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# route -> the requests its page makes when it is first shown
FIRST_REQUESTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "": [("registries.list", {})],
    "Models": [("registry.get", {"name": "Models", "filter": "", "offset": 0, "limit": 50})],
    "Models/cat-resnet": [
        ("collection.get", {"path": "Models/cat-resnet"}),
        ("collection.versions", {"path": "Models/cat-resnet", "offset": 0, "limit": 25}),
    ],
    "Models/cat-resnet:latest": [
        ("version.get", {"path": "Models/cat-resnet:latest", "file_offset": 0, "file_limit": 100})
    ],
}


def build_store(n: int, tmp_path: Path) -> rw.Client:
    client = rw.Client(":memory:", user="ada")
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"w" * 100)
    with client.batch():
        for i in range(n):
            art = client.log_artifact(
                f"cat-{i}",
                type="model",
                files=weights,
                metadata={"accuracy": i / n, "epoch": i, "note": f"run {i}", "cfg": {"lr": 1e-3}},
                tags=["resnet"],
            )
            client.link(art, "Models/cat-resnet", aliases=["production"] if i == 5 else ())
    return client


def bytes_on_display(client: rw.Client, route: str) -> int:
    widget = rw.RegistryWidget(client, route=route)
    try:
        state = {k: v for k, v in widget.get_state().items() if k not in CODE_TRAITS}
        total = len(json.dumps(state))
        for i, (method, params) in enumerate(FIRST_REQUESTS[route]):
            message = {"kind": "request", "id": f"r{i}", "method": method, "params": params}
            reply = widget.handle_request(message)
            assert reply["ok"], reply
            total += len(json.dumps(reply))
        return total
    finally:
        widget.close()


def _sizes(n: int, tmp_path: Path) -> dict[str, int]:
    client = build_store(n, tmp_path)
    assert client.registry("Models").collection("cat-resnet").count == n
    return {route: bytes_on_display(client, route) for route in FIRST_REQUESTS}


def test_bytes_on_display_do_not_grow_with_the_store(tmp_path):
    small = _sizes(30, tmp_path)
    large = _sizes(600, tmp_path)
    for route, size in large.items():
        assert size <= LIMIT, (route, size)
        # Only the numbers in counts and names grow (a few digits), never the lists.
        assert size - small[route] < 400, (route, small[route], size)


@pytest.mark.slow
def test_bytes_on_display_at_ten_thousand_versions(tmp_path):
    sizes = _sizes(10_000, tmp_path)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bytes-on-display-10000.json").write_text(json.dumps(sizes, indent=2))
    print("\nbytes on display at 10,000 versions:", sizes)
    assert max(sizes.values()) <= LIMIT, sizes
