"""Calls run again when their transaction collided with a concurrent one.

A server store refuses a commit that collided with another committed at the same time
(a deadlock, a serialisation failure, a unique key taken meanwhile) with
:class:`~registry_widget.errors.ConcurrentChangeError`. A call decorated with
:func:`retried` then runs again from the start, reading the new state: a name taken
meanwhile is then refused with the usual friendly error, a counter simply moves on. Only
the outermost call runs again; inside an open transaction (``client.batch()``) the error
goes up to the caller, whose block cannot be run again by the library.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from registry_widget.errors import ConcurrentChangeError
from registry_widget.store import Store

__all__ = ["ATTEMPTS", "retried"]

ATTEMPTS = 12
"""How many times a colliding call is run in all before its error is raised."""

P = ParamSpec("P")
R = TypeVar("R")


def _store(owner: Any) -> Store:
    """The store of a session, or of an object holding one as ``_s``."""
    session = getattr(owner, "_s", owner)
    store = session.store
    assert isinstance(store, Store)
    return store


def retried(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` again while its transaction collides (its first argument leads to the store)."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        store = _store(args[0])
        if store.in_transaction():
            return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except ConcurrentChangeError:
                if attempt == ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 7)))  # noqa: S311
        raise AssertionError  # pragma: no cover

    return run
