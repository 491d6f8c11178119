"""Fixtures of the real-browser tests: one JupyterLab server and one Chromium per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.lab import CHROMIUM, CHROMIUM_ARGS, REPO, LabServer

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.failed = True  # type: ignore[attr-defined]
    return report


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests (make browser-deps)")
        pytest.skip(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    return CHROMIUM


# Package scope: the server and Playwright (whose sync API keeps an event loop running in
# the main thread) stop when the browser tests are done, before the rest of the suite.
@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer.start(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    messages: list[str] = []
    pg.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))

    def on_dialog(dialog: Any) -> None:
        messages.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.page_errors = messages  # type: ignore[attr-defined]
    received: list[int] = []  # sizes of the websocket frames the page receives
    pg.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
    pg.ws_received = received  # type: ignore[attr-defined]
    yield pg
    if getattr(request.node, "failed", False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    lab.stop_kernels()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
