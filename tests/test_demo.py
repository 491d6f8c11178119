"""A fresh clone: `make setup` and `make demo` work as root and leave `git status` clean."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser.lab import free_port

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "js" / "package-lock.json"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _git_status(*paths: str) -> str:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_lock_file_lists_every_platforms_optional_binaries() -> None:
    # `npm ci` installs from a complete lock file without rewriting it; a lock file missing
    # some platforms' optional packages (esbuild, biome, rollup) makes npm add them on
    # install, and a fresh clone is dirty before any work.
    packages = json.loads(LOCK.read_text())["packages"]
    missing = [
        f"{owner or 'js'} -> {dep}"
        for owner, entry in packages.items()
        for dep in entry.get("optionalDependencies", {})
        if f"node_modules/{dep}" not in packages
    ]
    assert missing == []
    assert "npm ci" in (ROOT / "Makefile").read_text()


def test_make_demo_passes_allow_root_only_as_root_and_extra_flags() -> None:
    out = subprocess.run(
        ["make", "-n", "demo", "LAB_ARGS=--port=1234 --no-browser"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lab = next(line for line in out.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in lab) == (os.getuid() == 0)
    assert "--port=1234 --no-browser" in lab


def test_make_demo_serves_copies_of_the_notebooks_and_keeps_the_checkout_clean(
    tmp_path: Path,
) -> None:
    before = _git_status("notebooks", "js", ".gitignore")
    port, token = free_port(), os.urandom(8).hex()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "run"),
        "IPYTHONDIR": str(tmp_path / "ipy"),
    }
    lab_args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        ["make", "demo", f"LAB_ARGS={lab_args}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/contents/01-quickstart.ipynb?content=0"
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        deadline = time.monotonic() + 90
        model = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    model = json.loads(resp.read())
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert model is not None, (tmp_path / "demo.log").read_text()[-3000:]
        assert model["type"] == "notebook"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    # The server's root is the demo folder of copies: the tracked notebooks stay untouched.
    assert (ROOT / "demo" / "01-quickstart.ipynb").is_file()
    assert _git_status("demo") == ""
    assert _git_status("notebooks", "js", ".gitignore") == before
