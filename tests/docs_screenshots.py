"""The README's screenshots (docs/*.png) are taken by the browser tests, never by hand.

Each PNG records, in a text chunk, a digest of the frontend sources (js/src) and of the
test that takes it. The browser test replaces a screenshot whose digest is not current;
the fast suite fails when one is stale, so the README cannot show an older UI. A checkout
whose screenshots are current stays clean (``git status``) after the tests.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCES = [ROOT / "js" / "src", ROOT / "tests" / "browser" / "test_widget_screens.py"]
KEY = b"registry-widget-frontend"
README_SHOTS = ("widget.png", "widget-dark.png", "compare.png", "lineage.png")


def frontend_digest() -> str:
    """A digest of every file the screenshots depend on (frontend sources and the test)."""
    h = hashlib.sha256()
    for top in SOURCES:
        files = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in files:
            if path.is_file():
                h.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
                h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        out.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def recorded_digest(path: Path) -> str | None:
    """The frontend digest a docs screenshot was taken at, or None."""
    if not path.is_file():
        return None
    for kind, body in _chunks(path.read_bytes()):
        if kind == b"tEXt" and body.startswith(KEY + b"\0"):
            return body[len(KEY) + 1 :].decode()
    return None


def save(png: bytes, path: Path, digest: str) -> None:
    """Write ``png`` to ``path`` with ``digest`` recorded in a text chunk after its header."""
    body = KEY + b"\0" + digest.encode()
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF)
    (ihdr_length,) = struct.unpack(">I", png[8:12])
    end_of_ihdr = 8 + 12 + ihdr_length
    path.write_bytes(png[:end_of_ihdr] + chunk + png[end_of_ihdr:])


def refresh(name: str, png: bytes) -> None:
    """Replace ``docs/<name>`` by ``png`` unless it was taken at the current frontend."""
    digest = frontend_digest()
    path = DOCS / name
    if recorded_digest(path) != digest:
        save(png, path, digest)
