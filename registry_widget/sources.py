"""The files given to ``log_artifact``: safe relative paths and their source files."""

from __future__ import annotations

import importlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from registry_widget.errors import NotFoundError, ValidationError

__all__ = ["check_tree", "collect_files", "validate_relpath"]

_CONTROL = {"Cc"}
_DRIVE_RE = re.compile(r"[A-Za-z]:")


def _check_relpath(path: object) -> str:
    """Return ``path`` if it is a safe relative POSIX path inside an artifact, else raise."""
    why = None
    if not isinstance(path, str):
        why = f"it is a {type(path).__name__}, not a string"
    elif not path:
        why = "it is empty"
    elif any(unicodedata.category(c) in _CONTROL for c in path):
        why = "it contains NUL or control characters"
    elif "\\" in path:
        why = "it contains a backslash (use '/' between folders)"
    elif path.startswith("/"):
        why = "it is absolute (or a UNC path)"
    elif _DRIVE_RE.match(path):
        why = "it starts with a drive letter"
    elif ".." in path.split("/"):
        why = "it has a '..' segment"
    elif any(seg in ("", ".") for seg in path.split("/")):
        why = "it has an empty or '.' segment"
    if why is None:
        return str(path)
    msg = (
        f"file path {path!r} is not allowed: {why}; a file path must be relative, "
        "with '/' between non-empty folder names, e.g. 'weights/model.pt'"
    )
    raise ValidationError(msg, field="path", value=path)


def _find_validator() -> Callable[[object], str]:
    """``names.validate_relpath`` when that module provides it, else :func:`_check_relpath`."""
    try:
        names = importlib.import_module("registry_widget.names")
    except ModuleNotFoundError as exc:
        if exc.name != "registry_widget.names":
            raise
        return _check_relpath
    found: Callable[[object], str] = getattr(names, "validate_relpath", _check_relpath)
    return found


validate_relpath = _find_validator()
"""Return a path if it is a safe relative POSIX path inside an artifact, else raise.

Absolute and UNC paths, drive letters, backslashes, ``..``, empty or ``.`` segments, NUL
and control characters are refused with a :class:`ValidationError` (field ``"path"``).
"""


def check_tree(relpaths: Iterable[str]) -> None:
    """Refuse a set of relative paths in which one file would have to be another's folder.

    Raises
    ------
    ValidationError
        If a path is also a folder of another path (``"a"`` and ``"a/b"``).
    """
    names = sorted(relpaths)
    files = set(names)
    for rel in names:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in files:
                msg = (
                    f"file path {rel!r} needs {folder!r} to be a folder, but {folder!r} is "
                    "also a file; each path must be a file or a folder, not both"
                )
                raise ValidationError(msg, field="path", value=rel)


def _as_path(value: object, what: str) -> Path:
    if isinstance(value, str | os.PathLike) and not isinstance(value, bytes):
        text = os.fspath(value)
        if isinstance(text, str) and text:
            return Path(text)
    msg = f"{what} {value!r} is not a file path; expected a non-empty str or os.PathLike"
    raise ValidationError(msg, field="files", value=value)


def _existing(path: Path) -> Path:
    if not path.exists():
        msg = f"file {str(path)!r} does not exist" + (
            " (it is a broken symbolic link)" if path.is_symlink() else ""
        )
        raise NotFoundError(msg)
    return path


def _walk(top: Path) -> dict[str, Path]:
    """Every regular file below ``top``, keyed by its POSIX path relative to ``top``."""
    real_top = top.resolve()
    # The real folders on the way down to each folder walked, to stop at links that loop.
    chains: dict[str, frozenset[Path]] = {os.fspath(top): frozenset({real_top})}
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        here = Path(dirpath)
        chain = chains.pop(dirpath)
        for name in sorted(dirnames):
            real = (here / name).resolve()
            _inside_or_refuse(real, real_top, here / name, top)
            if real in chain:
                dirnames.remove(name)
            else:
                chains[os.path.join(dirpath, name)] = chain | {real}  # noqa: PTH118
        for name in filenames:
            path = here / name
            real = path.resolve()
            _inside_or_refuse(real, real_top, path, top)
            if real.is_file():
                found[path.relative_to(top).as_posix()] = path
    if not found:
        msg = f"folder {str(top)!r} contains no files; an artifact needs at least one file"
        raise ValidationError(msg, field="files", value=str(top))
    return found


def _inside_or_refuse(real: Path, real_top: Path, path: Path, top: Path) -> None:
    if not real.is_relative_to(real_top):
        msg = (
            f"{str(path)!r} is a symbolic link to {str(real)!r}, outside the folder "
            f"{str(top)!r}; only links that stay inside the folder are followed"
        )
        raise ValidationError(msg, field="files", value=str(path))


def _expand(path: Path, prefix: str | None) -> dict[str, Path]:
    """Map a file to ``{prefix or basename: path}``, a folder's files to paths under it."""
    _existing(path)
    if path.is_dir():
        inner = _walk(path)
        if prefix is None:
            return inner
        return {f"{prefix}/{rel}": p for rel, p in inner.items()}
    if not path.is_file():
        msg = f"{str(path)!r} is not a regular file or folder"
        raise ValidationError(msg, field="files", value=str(path))
    return {prefix if prefix is not None else path.name: path}


def collect_files(files: object) -> dict[str, Path]:
    """Normalise the ``files`` argument of ``log_artifact`` to ``{relpath: path}``.

    Parameters
    ----------
    files
        - a path (str or os.PathLike) to a file: stored under its base name;
        - a path to a folder: every regular file below it, under its POSIX path relative
          to the folder (symbolic links are followed only while they stay inside it);
        - a list or tuple of paths: files under their base names, folders expanded under
          their own name (``data/a.txt``);
        - a dict ``{relpath: path}``: each path stored under its relpath (a folder is
          expanded below it).

    Returns
    -------
    dict[str, Path]
        Relative POSIX path -> source file, sorted by relative path.

    Raises
    ------
    ValidationError
        For empty input, a folder without files, a link leading out of its folder, a
        relative path that is not allowed, or two sources for the same relative path.
    NotFoundError
        If a named file or folder does not exist.
    """
    found: dict[str, Path] = {}
    sources: dict[str, object] = {}

    def add(part: dict[str, Path], source: object) -> None:
        for rel, path in part.items():
            validate_relpath(rel)
            if rel in found:
                msg = (
                    f"file path {rel!r} would come from both {str(sources[rel])!r} and "
                    f"{str(source)!r}; give one of them another path with a dict "
                    "{relpath: path}"
                )
                raise ValidationError(msg, field="files", value=rel)
            found[rel] = path
            sources[rel] = source

    if isinstance(files, str | os.PathLike):
        path = _as_path(files, "files")
        add(_expand(path, None), path)
    elif isinstance(files, list | tuple):
        for item in files:
            path = _as_path(item, "files item")
            add(_expand(path, path.resolve().name if path.is_dir() else None), path)
    elif isinstance(files, Mapping):
        for rel, item in files.items():
            validate_relpath(rel)
            path = _as_path(item, f"files[{rel!r}]")
            add(_expand(path, rel), path)
    else:
        msg = (
            f"files must be a path, a list of paths or a dict {{relpath: path}}, "
            f"not {type(files).__name__}"
        )
        raise ValidationError(msg, field="files", value=files)
    if not found:
        msg = f"files {files!r} names no files; an artifact needs at least one file"
        raise ValidationError(msg, field="files", value=files)
    check_tree(list(found))
    return dict(sorted(found.items()))
