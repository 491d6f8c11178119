"""Request handlers for a version's files: preview one, download one or all to a folder.

Both act through the domain (viewers and above may use files; a restricted viewer is
refused). A preview is size-capped and never executable: text, JSON (pretty-printed), CSV
(the first rows as a table) and raster images (PNG, JPEG, GIF, WebP, as a data URL);
anything else — SVG and HTML included — is shown as text or not at all. Downloads go to a
folder under the kernel's working directory, never outside it.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from registry_widget.domain.client import Client
from registry_widget.errors import ValidationError
from registry_widget.widget.protocol import Params, handler

__all__ = ["preview_of"]

TEXT_CAP = 64 * 1024
"""Bytes of a text file shown in a preview."""
IMAGE_CAP = 2 * 1024 * 1024
"""Largest image shown inline."""
CSV_ROWS = 20

_IMAGES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def _image_type(head: bytes) -> str | None:
    for magic, mime in _IMAGES.items():
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def preview_of(relpath: str, size: int, read: Callable[[int], bytes]) -> dict[str, object]:
    """Describe a file for an inline preview, reading at most what it shows.

    Parameters
    ----------
    relpath, size
        The file's path in the version and its size in bytes.
    read
        ``read(n)``: the first ``n`` bytes of the file.
    """
    head = read(min(size, IMAGE_CAP if size <= IMAGE_CAP else TEXT_CAP))
    mime = _image_type(head[:16])
    if mime is not None:
        if size > IMAGE_CAP:
            return {"kind": "too_large", "size": size, "limit": IMAGE_CAP}
        return {"kind": "image", "src": f"data:{mime};base64,{base64.b64encode(head).decode()}"}
    data = head[:TEXT_CAP]
    truncated = size > len(data)
    if b"\x00" in data[:1024]:
        return {"kind": "binary", "size": size}
    text = data.decode("utf-8", errors="replace")
    if truncated:  # do not end on a cut character
        text = text.rstrip("\ufffd")
    suffix = relpath.rsplit(".", 1)[-1].lower() if "." in relpath else ""
    if suffix == "json" and not truncated:
        try:
            return {"kind": "json", "text": json.dumps(json.loads(text), indent=2)[:TEXT_CAP]}
        except ValueError:
            pass
    if suffix in ("csv", "tsv"):
        lines = text.splitlines()
        if truncated and lines:
            lines = lines[:-1]  # the last line may be cut
        rows = list(
            csv.reader(
                io.StringIO("\n".join(lines[: CSV_ROWS + 1])),
                delimiter="\t" if suffix == "tsv" else ",",
            )
        )
        return {"kind": "table", "rows": rows, "more": len(lines) > CSV_ROWS + 1 or truncated}
    return {"kind": "text", "text": text, "truncated": truncated}


@handler("file.preview")
def file_preview(client: Client, p: Params) -> dict[str, object]:
    """A size-capped, safe preview of one file of a linked version."""
    path = p.text("path")
    relpath = p.text("file")
    p.done()
    art = client.use(path).artifact
    entry = art.files.get(relpath)
    size = 0 if entry is None else int(entry["size"])
    return {
        "file": relpath,
        "size": size,
        **preview_of(relpath, size, lambda n: art.read_file(relpath, limit=n)),
    }


def _folder(text: str) -> Path | None:
    """A download folder under the working directory (None: the library's default)."""
    text = text.strip()
    if not text:
        return None
    here = Path.cwd().resolve()
    folder = Path(text)
    target = (here / folder).resolve()
    if folder.is_absolute() or not target.is_relative_to(here):
        msg = (
            f"download folder {text!r} is outside the notebook's working directory {here}; "
            "give a folder inside it, such as 'downloads/cat-resnet'"
        )
        raise ValidationError(msg, field="folder", value=text)
    return folder


class Downloaded(TypedDict):
    """Where a download went (relative and absolute), how many files and bytes."""

    folder: str
    absolute: str
    files: int
    size: int


@handler("version.download")
def version_download(client: Client, p: Params) -> Downloaded:
    """Download a linked version's files (or one of them) under the working directory.

    Returns the folder they went to, relative and absolute, with their count and size.
    """
    path = p.text("path")
    folder = _folder(p.text("folder", ""))
    file = p.opt_text("file")
    p.done()
    art = client.use(path).artifact
    files = None if file is None else [file]
    written = art.download(folder, files=files, progress=False)
    shown = os.path.relpath(Path(written).resolve(), Path.cwd().resolve())
    count = len(art.files) if file is None else 1
    size = sum(int(e["size"]) for r, e in art.files.items() if file is None or r == file)
    return {"folder": shown, "absolute": str(Path(written).resolve()), "files": count, "size": size}
