"""RegistryWidget: traits, driving it from code, live updates and the bytes sent on display."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anywidget
import pytest

import registry_widget as rw

REPO = Path(__file__).resolve().parents[2]
_CODE_TRAITS = {"_esm", "_css"}


@pytest.fixture
def client() -> rw.Client:
    return rw.Client(":memory:", user="ada")


@pytest.fixture
def widget(client: rw.Client) -> Any:
    w = rw.RegistryWidget(client)
    w.sent = []
    w.send = lambda content, buffers=None: w.sent.append(content)
    yield w
    w.close()


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"1234")
    return path


def run_on_fresh_loop(scenario: Any) -> Any:
    """Run a coroutine function on a new event loop in its own thread, as a kernel would.

    (Playwright's sync API keeps a loop running in the main thread during the browser tests.)
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result(timeout=60)


def request(w: Any, method: str, **params: Any) -> dict[str, Any]:
    w._on_message(w, {"kind": "request", "id": "1", "method": method, "params": params}, [])
    return w.sent.pop()


def test_traits_are_few_and_small(widget, client):
    state = widget.get_state()
    assert state["route"] == ""
    assert state["user"] == "ada"
    assert state["revision"] == 0
    assert state["connection"] == "connected"
    base = anywidget.AnyWidget().get_state()
    assert set(state) - set(base) - _CODE_TRAITS == {"route", "revision", "user", "connection"}
    assert len(json.dumps({k: v for k, v in state.items() if k not in _CODE_TRAITS})) < 1024


def test_the_comm_is_opened_on_creation(client):
    w = rw.RegistryWidget(client)
    assert w.comm is not None
    w.open()  # ipywidgets' meaning: make sure the comm is open; does not navigate
    assert w.route == ""
    w.close()


def test_messages_are_answered_through_send(widget):
    reply = request(widget, "registries.list")
    assert reply["kind"] == "response"
    assert reply["ok"]
    assert {r["name"] for r in reply["result"]["core"]} == {"Models", "Datasets"}
    widget._on_message(widget, "not a dict", [])
    widget._on_message(widget, {"kind": "something else"}, [])
    assert widget.sent == []


def test_driven_from_code(widget, client, weights):
    widget.open("Models")
    assert widget.route == "Models"
    reg = widget.create_registry("Team", description="ours")
    assert reg.name == "Team"
    assert widget.route == "Team"
    art = client.log_artifact("cat", type="model", files=weights)
    link = widget.link(art, "Models/cat", aliases=["staging"])
    assert widget.route == "Models/cat:v0"
    assert widget.use("Models/cat:staging") == link
    assert widget.route == "Models/cat:staging"
    hits = widget.search("cat net")
    assert hits == client.search("cat net")
    assert widget.route == "?search=cat%20net"
    with pytest.raises(rw.ValidationError):
        widget.create_registry("a/b")
    assert widget.route == "?search=cat%20net"


def test_changes_from_any_client_in_this_process_bump_the_revision(widget, client, weights):
    other = rw.Client(client.store, user="ada")
    other.create_registry("Elsewhere")
    assert widget.revision == 1
    with client.batch():
        for i in range(3):
            client.create_registry(f"R{i}")
    assert widget.revision == 2


def test_closed_widget_stops_listening(client):
    w = rw.RegistryWidget(client)
    w.close()
    client.create_registry("After")
    assert w.revision == 0


def test_changes_by_another_process_are_seen_by_polling(tmp_path):
    path = tmp_path / "store.json"
    client = rw.Client(path, user="ada")
    w = rw.RegistryWidget(client)
    assert w.check_store() is False
    script = (
        "import registry_widget as rw; "
        f"rw.Client({str(path)!r}, user='ada').create_registry('FromElsewhere')"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    assert w.revision == 0  # nothing happens until the widget looks
    assert w.check_store() is True
    assert w.revision == 1
    assert w.check_store() is False
    w.close()


def test_polling_runs_on_the_event_loop_only_while_a_view_is_open(tmp_path):
    async def scenario() -> list[int]:
        path = tmp_path / "store.json"
        client = rw.Client(path, user="ada")
        w = rw.RegistryWidget(client, poll_interval=0.05)
        w.send = lambda *a, **k: None
        w._on_message(w, {"kind": "view", "view": "a", "open": True}, [])
        other = rw.Client(type(client.store)(str(path)), user="ada")
        other.create_registry("One")
        await asyncio.sleep(0.3)
        seen = [w.revision]
        w._on_message(w, {"kind": "view", "view": "a", "open": False}, [])
        await asyncio.sleep(0.1)
        other.create_registry("Two")
        await asyncio.sleep(0.3)
        seen.append(w.revision)
        w.close()
        return seen

    seen = run_on_fresh_loop(scenario)
    assert seen == [1, 1]


def test_in_process_commits_are_coalesced_on_the_loop(client):
    async def scenario() -> int:
        w = rw.RegistryWidget(client)  # created on the loop, as in a kernel's cell
        for i in range(5):
            client.create_registry(f"R{i}")
        assert w.revision == 0  # not yet: the loop has not run
        await asyncio.sleep(0)
        value = w.revision
        w.close()
        return value

    assert run_on_fresh_loop(scenario) == 1
