"""The files given to ``log_artifact``: safe relative paths and their source files."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path, PosixPath
from typing import BinaryIO

from registry_widget.errors import ConflictError, NotFoundError, StorageError, ValidationError
from registry_widget.paths import validate_relpath

__all__ = [
    "MAX_PATH_BYTES",
    "MAX_SEGMENT_BYTES",
    "FolderFile",
    "as_source",
    "check_tree",
    "collect_files",
    "open_source",
    "validate_file_path",
]

MAX_SEGMENT_BYTES = 255
"""The longest file or folder name, in UTF-8 bytes, that file systems commonly allow."""

MAX_PATH_BYTES = 3072
"""The longest file path, in UTF-8 bytes: with the folder it is downloaded to, a path must
stay within the 4096 bytes that systems commonly allow (PATH_MAX), so 1024 are left for
that folder."""

_MISSING_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})
"""Errors of ``stat`` that mean nothing is there (those ``Path.exists`` answers False to)."""


class FolderFile(PosixPath):
    """A file found below a logged folder, with the identity the folder's walk saw.

    The walk refuses links that lead out of the folder; the file is read later, to be
    hashed and stored, and :func:`open_source` then refuses it unless it is still the
    file the walk found (not replaced meanwhile, say by a link to a file outside).
    """

    seen: tuple[int, int] | None = None
    """``(st_dev, st_ino)`` of the file the walk found; None for a path derived from it."""
    link = False
    """Whether the walk found a symbolic link there (one that stays inside the folder)."""


def as_source(path: Path | str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, keeping what a folder's walk saw of it."""
    return path if isinstance(path, Path) else Path(path)


def open_source(path: Path) -> BinaryIO:
    """Open the source file ``path`` for reading, in binary.

    A :class:`FolderFile` must still be the file its folder's walk found: it is opened
    without following a link when the walk found none there, then compared with what the
    walk saw.

    Raises
    ------
    ConflictError
        If ``path`` is no longer the file its folder's walk found.
    OSError
        If the file cannot be opened (FileNotFoundError if it is missing).
    """
    if not isinstance(path, FolderFile) or path.seen is None:
        return path.open("rb")
    # Not blocking, so that a named pipe put there meanwhile cannot stall the open.
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
    if not path.link:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ELOOP or path.link:
            raise
        raise _changed(path) from None  # a link now, where the walk found a file
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != path.seen or not stat.S_ISREG(st.st_mode):
            raise _changed(path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _changed(path: Path) -> ConflictError:
    msg = (
        f"file {str(path)!r} changed while it was being logged: it is no longer the file "
        "found in its folder (it was replaced, maybe by a symbolic link); log it again "
        "once nothing is changing the folder"
    )
    return ConflictError(msg)


def validate_file_path(path: object) -> str:
    """Validate the relative path of a file of an artifact version, and return it.

    On top of :func:`~registry_widget.paths.validate_relpath`, the path must be valid
    UTF-8 text (no lone surrogates, which is what a file name that is not UTF-8 becomes
    when Python lists a folder), each of its segments at most 255 bytes long and the
    whole at most :data:`MAX_PATH_BYTES`, so that every file logged can be downloaded
    again.

    Raises
    ------
    ValidationError
        If the path is not allowed; the message names it.
    """
    # Checked before the generic rules, which refuse a lone surrogate without naming the
    # bytes of the file name it came from.
    rel = path if isinstance(path, str) else validate_relpath(path)
    try:
        encoded = rel.encode("utf-8")
    except UnicodeEncodeError as exc:
        try:
            named = f" (the file name {os.fsencode(rel)!r} is not UTF-8)"
        except UnicodeEncodeError:
            named = " (a lone surrogate)"
        msg = (
            f"file path {rel!r} is not valid UTF-8 text: it contains {rel[exc.start]!r} at "
            f"position {exc.start}{named}; rename the file, or give it another path with a "
            "dict {relpath: path}"
        )
        raise ValidationError(msg, field="file path", value=rel) from None
    validate_relpath(rel)
    if len(encoded) > MAX_PATH_BYTES:
        msg = (
            f"file path {rel[:40]!r}… is {len(encoded)} bytes long in UTF-8; file paths "
            f"may be at most {MAX_PATH_BYTES} bytes, so that a download can write them "
            "(most systems refuse paths over 4096 bytes, the folder downloaded to included)"
        )
        raise ValidationError(msg, field="file path", value=rel)
    for segment in encoded.split(b"/"):
        if len(segment) > MAX_SEGMENT_BYTES:
            shown = segment[:40].decode("utf-8", "replace")
            msg = (
                f"file path {rel!r} has a segment of {len(segment)} bytes ({shown!r}…); "
                f"file and folder names may be at most {MAX_SEGMENT_BYTES} bytes in UTF-8"
            )
            raise ValidationError(msg, field="file path", value=rel)
    return rel


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


def _mode(path: Path, given: object) -> int:
    """The ``st_mode`` of what ``path`` leads to; refuse it missing, naming it as written.

    ``given`` is the caller's value: ``"weights/"`` keeps its trailing slash (a folder was
    meant) and the message shows where it was looked for, from the working directory.
    """
    try:
        return path.stat().st_mode
    except OSError as exc:
        if exc.errno not in _MISSING_ERRNOS:
            raise
    except ValueError:  # a NUL in the name: nothing can be there
        pass
    text = str(os.fspath(given)) if isinstance(given, str | os.PathLike) else str(path)
    folder = text.endswith(("/", os.sep))
    where = os.path.abspath(path) + (os.sep if folder else "")  # noqa: PTH100
    what = "folder" if folder else "file or folder"
    msg = f"{what} {text!r} does not exist (looked for {where})" + (
        "; it is a broken symbolic link" if path.is_symlink() else ""
    )
    raise NotFoundError(msg)


def _walk(top: Path) -> dict[str, Path]:
    """Every file below ``top``, keyed by its POSIX path relative to ``top``.

    Anything else that is not a folder is refused, never skipped: a broken or looping
    symbolic link, a named pipe, a socket, a device.
    """
    real_top = top.resolve()
    # The real folders on the way down to each folder walked, to stop at links that loop.
    chains: dict[str, frozenset[Path]] = {os.fspath(top): frozenset({real_top})}
    found: dict[str, Path] = {}

    def unreadable(exc: OSError) -> None:
        raise StorageError.from_os_error(
            exc, f"list folder {exc.filename!r} inside {str(top)!r}"
        ) from exc

    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable, followlinks=True):
        here = Path(dirpath)
        chain = chains.pop(dirpath)
        for name in sorted(dirnames):
            real = _real(here / name, top)
            _inside_or_refuse(real, real_top, here / name, top)
            if real in chain:
                dirnames.remove(name)
            else:
                chains[os.path.join(dirpath, name)] = chain | {real}  # noqa: PTH118
        for name in filenames:
            path = here / name
            _inside_or_refuse(_real(path, top), real_top, path, top)
            found[path.relative_to(top).as_posix()] = _found(path, top)
    if not found:
        msg = f"folder {str(top)!r} contains no files; an artifact needs at least one file"
        raise ValidationError(msg, field="files", value=str(top))
    return found


def _real(path: Path, top: Path) -> Path:
    """Where ``path`` leads, links followed; refuse a link that loops."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # a loop (RuntimeError before Python 3.13)
        if isinstance(exc, OSError) and exc.errno != errno.ELOOP:
            raise StorageError.from_os_error(exc, f"read {str(path)!r}") from exc
        raise _looping(path, top) from None


def _looping(path: Path, top: Path) -> ValidationError:
    msg = (
        f"{str(path)!r} inside the folder {str(top)!r} is a symbolic link that loops; "
        "a logged folder may hold only files, folders and links to them"
    )
    return ValidationError(msg, field="files", value=str(path))


_KINDS = {
    stat.S_IFIFO: "named pipe",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def _found(path: Path, top: Path) -> FolderFile:
    """``path`` (found in the folder ``top``) with its identity; refuse all but a file."""
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _looping(path, top) from None
        if exc.errno not in _MISSING_ERRNOS:
            raise StorageError.from_os_error(exc, f"read file {str(path)!r}") from exc
        if not path.is_symlink():
            msg = f"file {str(path)!r} inside the folder {str(top)!r} was removed meanwhile"
            raise NotFoundError(msg) from None
        msg = (
            f"file {str(path)!r} inside the folder {str(top)!r} does not exist; it is a "
            f"broken symbolic link to {str(path.readlink())!r}. Restore what it leads to or "
            "remove the link"
        )
        raise NotFoundError(msg) from None
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
        msg = (
            f"{str(path)!r} inside the folder {str(top)!r} is a {kind}, not a regular "
            "file; a logged folder may hold only files, folders and links to them"
        )
        raise ValidationError(msg, field="files", value=str(path))
    found = FolderFile(path)
    found.seen = (st.st_dev, st.st_ino)
    found.link = path.is_symlink()
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
    mode = _mode(path, given)  # one stat: this runs for every file logged
    if stat.S_ISDIR(mode):
        inner = _walk(path)
        if prefix is None:
            return inner
        return {f"{prefix}/{rel}": p for rel, p in inner.items()}
    if not stat.S_ISREG(mode):
        msg = f"{str(path)!r} is not a regular file or folder"
        raise ValidationError(msg, field="files", value=str(path))
    return {prefix if prefix is not None else path.name: path}


def _readable(path: Path) -> None:
    """Refuse a file that cannot be opened for reading, before anything is stored."""
    try:
        with open_source(path):
            pass
    except FileNotFoundError:
        msg = f"file {str(path)!r} does not exist"
        raise NotFoundError(msg) from None
    except OSError as exc:
        raise StorageError.from_os_error(exc, f"read file {str(path)!r}") from exc


def collect_files(files: object) -> dict[str, Path]:
    """Normalise the ``files`` argument of ``log_artifact`` to ``{relpath: path}``.

    Parameters
    ----------
    files
        - a path (str or os.PathLike) to a file: stored under its base name;
        - a path to a folder: every file below it, under its POSIX path relative to the
          folder (symbolic links are followed only while they stay inside it; anything
          else that is not a folder, such as a broken link or a named pipe, is refused);
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
        For empty input, a folder without files, a link leading out of its folder or
        looping, a named pipe, socket or device in a folder, a relative path that is not
        allowed (not UTF-8 text, a name over 255 bytes…), or two sources for the same
        relative path.
    NotFoundError
        If a named file or folder does not exist, or a link inside a folder is broken.
    StorageError
        If a file or a folder below a named folder cannot be read.
    """
    found: dict[str, Path] = {}
    sources: dict[str, object] = {}

    def add(part: dict[str, Path], source: object) -> None:
        for rel, path in part.items():
            validate_file_path(rel)
            if rel in found:
                msg = (
                    f"file path {rel!r} would come from both {str(sources[rel])!r} and "
                    f"{str(source)!r}; give one of them another path with a dict "
                    "{relpath: path}"
                )
                raise ValidationError(msg, field="files", value=rel)
            _readable(path)
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
            validate_file_path(rel)
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
