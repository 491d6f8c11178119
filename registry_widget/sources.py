"""The files given to ``log_artifact``: safe relative paths and their source files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from registry_widget.errors import NotFoundError, ValidationError
from registry_widget.names import validate_relpath

__all__ = ["check_tree", "collect_files", "validate_relpath"]


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


def _existing(path: Path, given: object) -> Path:
    """Return ``path`` if it exists; else refuse, naming it as the caller wrote it.

    ``given`` is the caller's value: ``"weights/"`` keeps its trailing slash (a folder was
    meant) and the message shows where it was looked for, from the working directory.
    """
    if not path.exists():
        text = str(os.fspath(given)) if isinstance(given, str | os.PathLike) else str(path)
        folder = text.endswith(("/", os.sep))
        where = os.path.abspath(path) + (os.sep if folder else "")  # noqa: PTH100
        what = "folder" if folder else "file or folder"
        msg = f"{what} {text!r} does not exist (looked for {where})" + (
            "; it is a broken symbolic link" if path.is_symlink() else ""
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


def _expand(path: Path, prefix: str | None, given: object) -> dict[str, Path]:
    """Map a file to ``{prefix or basename: path}``, a folder's files to paths under it."""
    _existing(path, given)
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
        add(_expand(path, None, files), path)
    elif isinstance(files, list | tuple):
        for item in files:
            path = _as_path(item, "files item")
            add(_expand(path, path.resolve().name if path.is_dir() else None, item), path)
    elif isinstance(files, Mapping):
        for rel, item in files.items():
            validate_relpath(rel)
            path = _as_path(item, f"files[{rel!r}]")
            add(_expand(path, rel, item), path)
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
