"""The request/response protocol between the widget's frontend and the kernel.

A request from the browser is ``{"kind": "request", "id": str, "method": str, "params": {...}}``.
Its answer is ``{"kind": "response", "id": ..., "ok": True, "result": ...}`` or, for a refusal,
``{"kind": "response", "id": ..., "ok": False, "error": {"type", "message", "field", "code",
"detail"}}``, where ``type`` is the exception's class name (``ValidationError``,
``PermissionDeniedError``, ...) and ``message`` says the refusal to a person (see
:func:`error_envelope`).

The handlers only translate between JSON and the domain API: every permission check and
every rule lives in the domain, so a request forged in the browser is refused exactly like
the same call made from a notebook cell.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

from registry_widget.errors import RegistryError, ValidationError
from registry_widget.widget.wording import in_words

if TYPE_CHECKING:
    from registry_widget.domain.client import Client

__all__ = [
    "HANDLERS",
    "Done",
    "Handler",
    "Params",
    "change_handler",
    "dispatch",
    "error_envelope",
    "handler",
]

_log = logging.getLogger(__name__)

Handler = Callable[["Client", "Params"], Mapping[str, object]]
"""A request handler: ``(client, params) -> JSON-able answer``."""

HANDLERS: dict[str, Handler] = {}
"""Every request the frontend may send, by method name; filled by :func:`handler`."""

_T = TypeVar("_T")
_H = TypeVar("_H", bound=Handler)


class Done(TypedDict):
    """The answer of a change: the page refetches what it shows when the store's revision moves."""

    ok: Literal[True]


def handler(name: str, registry: dict[str, Handler] = HANDLERS) -> Callable[[_H], _H]:
    """Register a function as the handler of the request method ``name``.

    Parameters
    ----------
    name
        The method name the frontend sends (``"registry.get"``).
    registry
        Where to register it (the widget's :data:`HANDLERS` unless a test gives its own).

    Raises
    ------
    ValueError
        At import time, when ``name`` already has a handler: two modules answering the same
        request would leave one of them silently unreachable.
    """

    def register(fn: _H) -> _H:
        if name in registry:
            other = registry[name]
            msg = (
                f"request method {name!r} is handled twice: by "
                f"{other.__module__}.{getattr(other, '__qualname__', other)} and "
                f"{fn.__module__}.{getattr(fn, '__qualname__', fn)}"
            )
            raise ValueError(msg)
        registry[name] = fn
        return fn

    return register


def change_handler(name: str, *params: str) -> Callable[[Callable[..., object]], Handler]:
    """Register a change that takes required text parameters and answers :class:`Done`.

    The decorated function takes the client and the values of ``params``, in the order
    named, and makes the change through the domain; the handler reads them (refusing a
    missing, malformed or unknown parameter) and answers ``ok``.

    Parameters
    ----------
    name
        The request method name (``"alias.set"``).
    params
        The names of the request's text parameters.
    """

    def register(fn: Callable[..., object]) -> Handler:
        @functools.wraps(fn)
        def handle(client: Client, p: Params) -> Done:
            values = [p.text(param) for param in params]
            p.done()
            fn(client, *values)
            return {"ok": True}

        return handler(name)(handle)

    return register


class Params:
    """Typed access to a request's parameters; unknown or malformed ones are refused.

    Parameters
    ----------
    method
        The request's method name, used in refusal messages.
    raw
        The ``params`` object sent by the frontend.
    """

    def __init__(self, method: str, raw: object) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            msg = f"params of {method!r} must be an object, got {type(raw).__name__}"
            raise ValidationError(msg, field="params", value=raw)
        self._method = method
        self._raw: dict[str, Any] = dict(raw)
        self._used: set[str] = set()

    def _get(self, name: str, kind: type[_T] | tuple[type, ...], default: object) -> Any:
        self._used.add(name)
        if name not in self._raw or self._raw[name] is None:
            if default is _REQUIRED:
                msg = f"{self._method}: parameter {name!r} is required"
                raise ValidationError(msg, field=name)
            return default
        value = self._raw[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            expected = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            msg = (
                f"{self._method}: parameter {name!r} must be {expected}, "
                f"got {type(value).__name__} {value!r:.80}"
            )
            raise ValidationError(msg, field=name, value=value)
        return value

    def text(self, name: str, default: str | None = None) -> str:
        """Return a text parameter (``default`` when absent; required without a default)."""
        value: str = self._get(name, str, _REQUIRED if default is None else default)
        return value

    def opt_text(self, name: str) -> str | None:
        """Return a text parameter that may be absent or null."""
        value: str | None = self._get(name, str, None)
        return value

    def integer(self, name: str, default: int, *, low: int = 0, high: int = 10_000) -> int:
        """Return a whole-number parameter within ``[low, high]``."""
        value: int = self._get(name, int, default)
        if not low <= value <= high:
            msg = (
                f"{self._method}: parameter {name!r} must be between {low} and {high}, got {value}"
            )
            raise ValidationError(msg, field=name, value=value)
        return value

    def text_list(self, name: str, *, optional: bool = False) -> list[str] | None:
        """Return a list of texts; ``None`` only when ``optional`` and absent or null."""
        value = self._get(name, list, None if optional else [])
        if value is None:
            return None
        for item in value:
            if not isinstance(item, str):
                msg = f"{self._method}: every item of {name!r} must be text, got {item!r:.80}"
                raise ValidationError(msg, field=name, value=item)
        return list(value)

    def done(self) -> None:
        """Refuse parameters the handler did not read (a typo must not be ignored)."""
        unknown = sorted(set(self._raw) - self._used)
        if unknown:
            msg = (
                f"{self._method}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(self._used)) or 'none'}"
            )
            raise ValidationError(msg, field=unknown[0])


_REQUIRED = object()


class ErrorEnvelope(TypedDict):
    """A refusal as the frontend shows it."""

    type: str
    message: str
    field: str | None
    code: str | None
    detail: str | None


def error_envelope(exc: BaseException, user: str | None = None) -> ErrorEnvelope:
    """Describe an exception as JSON, the way the frontend shows it to the user.

    A common refusal is said in the widget's words (:mod:`.wording`), with the library's
    message for code kept as ``detail``; any other keeps the library's message.

    Parameters
    ----------
    exc
        The exception raised while answering a request.
    user
        The user the widget acts as.

    Returns
    -------
    ErrorEnvelope
        ``{"type", "message", "field", "code", "detail"}``.
    """
    if isinstance(exc, RegistryError):
        words = in_words(exc, user)
        return {
            "type": type(exc).__name__,
            "message": str(exc) if words is None else words,
            "field": getattr(exc, "field", None),
            "code": exc.code,
            "detail": None if words is None else str(exc),
        }
    return {
        "type": "InternalError",
        "message": f"Unexpected {type(exc).__name__} in the kernel: {exc}",
        "field": None,
        "code": None,
        "detail": None,
    }


def _check_json(value: Any) -> Any:
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _check_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_check_json(v) for v in value]
    return value


def dispatch(
    handlers: Mapping[str, Handler], client: Client, message: Mapping[str, Any]
) -> dict[str, Any]:
    """Answer one request message with a response message; never raises.

    Parameters
    ----------
    handlers
        Method name to handler.
    client
        The domain client the handlers act through (its user is the acting user).
    message
        The request as received from the frontend.

    Returns
    -------
    dict
        The response message to send back.
    """
    request_id = message.get("id")
    reply: dict[str, Any] = {"kind": "response", "id": request_id}
    try:
        method = message.get("method")
        handler = handlers.get(method) if isinstance(method, str) else None
        if handler is None:
            msg = f"unknown request method {method!r}; allowed: {', '.join(sorted(handlers))}"
            raise ValidationError(msg, field="method", value=method)
        params = Params(method, message.get("params"))  # type: ignore[arg-type]
        result = handler(client, params)
        reply.update(ok=True, result=_check_json(result))
    except Exception as exc:  # every failure is reported to the user
        if not isinstance(exc, RegistryError):
            _log.exception("widget request %r failed", message.get("method"))
        reply.update(ok=False, error=error_envelope(exc, client.user))
    return reply
