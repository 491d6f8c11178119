"""Drive a real JupyterLab in real Chromium: start the server, open notebooks, run cells."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Locator, Page, expect

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = "Python 3 (ipykernel) | Idle"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@dataclass
class LabServer:
    """A JupyterLab server on loopback with throw-away config, data and runtime dirs."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def set_theme(self, theme: str) -> None:
        raw = json.dumps({"theme": theme})
        self.api("PUT", "/lab/api/settings/@jupyterlab/apputils-extension:themes", {"raw": raw})

    def stop_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    @classmethod
    def start(cls, workdir: Path) -> LabServer:
        root = workdir / "notebooks"
        root.mkdir(parents=True)
        config, data, runtime, ipython = (workdir / d for d in ("config", "data", "run", "ipy"))
        settings = config / "lab" / "user-settings" / "@jupyterlab"
        _write_json(
            settings / "apputils-extension" / "notification.jupyterlab-settings",
            {"fetchNews": "false", "checkForUpdates": False},
        )
        _write_json(
            settings / "docmanager-extension" / "plugin.jupyterlab-settings", {"autosave": False}
        )
        # Render every cell: with windowing, cells out of view are not laid out and cannot be
        # clicked.
        _write_json(
            settings / "notebook-extension" / "tracker.jupyterlab-settings",
            {"windowingMode": "none"},
        )
        port, token = free_port(), os.urandom(16).hex()
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_DATA_DIR": str(data),
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTERLAB_SETTINGS_DIR": str(config / "lab" / "user-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(config / "lab" / "workspaces"),
            "IPYTHONDIR": str(ipython),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "REGISTRY_WIDGET_USER": "ada",
        }
        log = workdir / "jupyterlab.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={token}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--ServerApp.open_browser=False",
                "--allow-root",
            ],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        server = cls(root=root, port=port, token=token, process=process, log=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                msg = f"JupyterLab exited early:\n{log.read_text()[-3000:]}"
                raise RuntimeError(msg)
            try:
                server.api("GET", "/api/status")
                return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        server.stop()
        msg = f"JupyterLab did not answer within 60 s:\n{log.read_text()[-3000:]}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class Notebook:
    """An open notebook in the page: run its cells and read their outputs."""

    def __init__(self, page: Page, server: LabServer, name: str, cells: list[str]) -> None:
        self.page = page
        self.server = server
        self.name = name
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nbformat.write(nb, server.root / name)

    def open(self) -> Notebook:
        # ?reset: a fresh workspace, so notebooks of earlier tests are not reopened.
        url = f"{self.server.base}/lab/tree/{self.name}?reset&token={self.server.token}"
        self.page.goto(url)
        expect(self.cells.first).to_be_visible(timeout=60_000)
        expect(self.page.get_by_text(IDLE).first).to_be_visible(timeout=60_000)
        return self

    @property
    def cells(self) -> Locator:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")

    def cell(self, index: int) -> Locator:
        return self.cells.nth(index)

    def _count(self, index: int) -> str:
        text = self.cell(index).locator(".jp-InputPrompt").first.inner_text()
        return text.strip()

    def run(self, index: int, *, timeout: float = 60_000) -> Locator:
        """Run one cell with Ctrl+Enter and wait until it has finished."""
        before = self._count(index)
        cell = self.cell(index)
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        prompt = cell.locator(".jp-InputPrompt").first
        expect(prompt).not_to_have_text(before, timeout=timeout)
        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)
        return cell

    def output(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea").inner_text()

    def add_cell(self, source: str) -> int:
        """Append a code cell with ``source`` at the end; returns its index."""
        count = self.cells.count()
        last = self.cell(count - 1)
        last.locator(".jp-InputPrompt").first.click()  # command mode on the last cell
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        expect(self.cells).to_have_count(count + 1)
        new = self.cell(count)
        new.locator(".jp-InputArea-editor").click()
        self.page.keyboard.insert_text(source)
        return count
