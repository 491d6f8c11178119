"""The exception tree of registry_widget.

Every refusal raised by the library is a :class:`RegistryError`. The subclasses say
what kind of refusal it is; the message says which field or object, which value, and
what would have been accepted.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = [
    "ConcurrentChangeError",
    "ConflictError",
    "DatabaseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RegistryError",
    "StorageError",
    "StoreCorruptedError",
    "StoreLockedError",
    "StoreUnavailableError",
    "StoreWriteError",
    "ValidationError",
]


_E = TypeVar("_E", bound="RegistryError")


class RegistryError(Exception):
    """Base class of every error raised by registry_widget.

    A common refusal also carries a ``code`` and its ``params`` (the facts its message is
    made of), so that an interface for people can say it in its own words and point to the
    control that fixes it; the message stays written for code.
    """

    code: str | None = None
    """What kind of common refusal this is (``"role_needed"``…), or None."""

    params: dict[str, object] | None = None
    """The facts of the refusal named by ``code``."""

    def with_code(self: _E, code: str, **params: object) -> _E:
        """Name the kind of refusal and its facts; returns the error, to be raised."""
        self.code = code
        self.params = params
        return self


class NotFoundError(RegistryError):
    """The named object does not exist, or the user may not see it."""


class PermissionDeniedError(RegistryError):
    """The user's role does not allow the action."""


class ValidationError(RegistryError, ValueError):
    """An input is malformed: the message names the field, the value and what is allowed.

    Parameters
    ----------
    message
        The full, human-readable explanation.
    field
        The name of the offending field or argument, when there is one.
    value
        The offending value, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class ConflictError(RegistryError):
    """The request contradicts the current state (a duplicate name, a linked version…)."""


class ConcurrentChangeError(ConflictError):
    """A change collided with one committed concurrently by someone else (a server store).

    The library runs the call again by itself; this is raised only when that kept
    colliding, or inside ``client.batch()``, whose block cannot be run again.
    """


class StoreCorruptedError(RegistryError):
    """The store file cannot be read as a registry store; it is left untouched."""


class StorageError(RegistryError, OSError):
    """The file system refused a read or a write: an unreadable file, a full disk.

    The message names the file and what failed; the call changed nothing. It is also an
    :class:`OSError`, so code that handled the raw error keeps working.
    """

    @classmethod
    def from_os_error(cls, exc: OSError, what: str) -> StorageError:
        """The refusal for ``exc`` met while doing ``what`` (e.g. "read file 'x'")."""
        reason = exc.strerror or str(exc) or type(exc).__name__
        error = cls(f"cannot {what}: {reason}; nothing was changed")
        error.errno = exc.errno
        return error


class StoreLockedError(RegistryError):
    """Another process held the store's lock for longer than the wait allowed."""


class StoreWriteError(StorageError):
    """The store's files could not be written (a full disk…); nothing was changed."""


class DatabaseError(RegistryError):
    """The database server refused a statement for a reason the library does not expect.

    The message names the server's reason; the call changed nothing.
    """


class StoreUnavailableError(DatabaseError):
    """The database server cannot be reached, or the connection to it was lost.

    The message says whether the change being made may have been committed.
    """
