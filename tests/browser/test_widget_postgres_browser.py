"""The widget over a PostgreSQL store in real JupyterLab: live changes and reconnection.

A registry created by another process appears in the open widget by itself, within a few
seconds; while the server is down the widget says it is reconnecting (and dims what it
shows); once the server is back the banner goes and the page is read again. The test
runs its own PostgreSQL server, which it stops and starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

import registry_widget as rw
from tests.browser.lab import Notebook
from tests.servers import postgres as postgres_server


@pytest.fixture
def server() -> Iterator[postgres_server.Postgres]:
    pg = postgres_server.start(fsync=False)
    try:
        yield pg
    finally:
        pg.stop()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_changes_from_another_process_and_reconnection_show_in_the_widget(
    page, lab, screenshots, server, tmp_path: Path, theme: str
):
    url = server.url()
    first = rw.Client(url, blobs=tmp_path / "blobs")  # creates the schema, records the blobs
    first.create_registry("Vision")
    first.store.close()
    lab.set_theme("JupyterLab Dark" if theme == "dark" else "JupyterLab Light")
    try:
        nb = Notebook(
            page,
            lab,
            f"postgres-live-{theme}.ipynb",
            [
                f"import registry_widget as rw\nclient = rw.Client({url!r})",
                "w = rw.RegistryWidget(client)\nw",
            ],
        ).open()
        nb.run(0)
        assert "Error" not in nb.output(0)
        nb.run(1)
        widget = nb.cell(1).locator(".rw-app")
        expect(widget.locator(".rw-card[data-registry='Vision']")).to_be_visible()
        banner = widget.locator(".rw-reconnecting")
        expect(banner).to_have_count(0)

        # A second process (this one) commits: the page shows it with nobody touching it.
        other = rw.Client(url)
        other.create_registry("FromAnotherProcess")
        other.store.close()
        expect(widget.locator(".rw-card[data-registry='FromAnotherProcess']")).to_be_visible(
            timeout=5_000
        )

        server.halt()
        expect(banner).to_be_visible(timeout=10_000)
        expect(banner).to_contain_text("Reconnecting")
        expect(banner).to_contain_text("cannot be reached")
        expect(widget.locator(".rw-body")).to_have_class("rw-body rw-stale")
        # What was shown stays (dimmed): nothing is fetched from a server that is away.
        expect(widget.locator(".rw-card[data-registry='FromAnotherProcess']")).to_be_visible()
        expect(widget.locator(".rw-error")).to_have_count(0)
        widget.screenshot(path=str(screenshots / f"postgres-reconnecting-{theme}.png"))

        server.start()
        # Committed as soon as the server is back, most likely before the widget listens
        # again (it retries every 2 s at most): the page is read again once it is connected.
        again = rw.Client(url)
        again.create_registry("WhileAway")
        again.store.close()
        expect(banner).to_have_count(0, timeout=15_000)
        expect(widget.locator(".rw-card[data-registry='WhileAway']")).to_be_visible(timeout=5_000)
        expect(widget.locator(".rw-body")).to_have_class("rw-body")
        widget.screenshot(path=str(screenshots / f"postgres-reconnected-{theme}.png"))
        assert page.page_errors == []
    finally:
        lab.set_theme("JupyterLab Light")
