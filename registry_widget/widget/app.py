"""RegistryWidget: the registry as an app inside the notebook, over a client's store.

View state (the route, the store revision, the acting user) travels in traits; records and
actions travel through the request/response protocol of :mod:`registry_widget.widget.protocol`.
The widget has no business rules: every request is answered by the domain API, acting as the
client's user.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anywidget
import traitlets

from registry_widget.domain.artifact_version import ArtifactVersion
from registry_widget.domain.client import Client
from registry_widget.domain.link import Link
from registry_widget.domain.registry import Registry
from registry_widget.domain.search import SearchHit

# Importing the handler modules registers their requests in HANDLERS, grouped by who may
# call them: reads (anyone who may see), member changes, administration, insight, files,
# runs and lineage.
from registry_widget.widget import admin, files, insight, members, reads, reads_find, runs
from registry_widget.widget.protocol import HANDLERS, dispatch

__all__ = ["RegistryWidget"]

_HANDLER_MODULES = (reads, reads_find, members, admin, insight, files, runs)

_STATIC = Path(__file__).parent.parent / "static"
if not (_STATIC / "widget.js").is_file():  # pragma: no cover - a broken checkout
    msg = (
        f"The widget's frontend bundle is missing ({_STATIC / 'widget.js'}). "
        "Build it with `make setup` or `cd js && npm install && npm run build`."
    )
    raise FileNotFoundError(msg)

VIEW_TIMEOUT = 30.0
"""Seconds after its last heartbeat that a view counts as closed (its tab went away)."""


class RegistryWidget(anywidget.AnyWidget):
    """The registry app in a notebook output, acting as ``client``'s user.

    Parameters
    ----------
    client
        The :class:`registry_widget.Client` whose store and user the widget shows.
    route
        The page to open first, e.g. ``"Models/cat-resnet"`` (see :meth:`open`).
    poll_interval
        Seconds between checks for changes made by other processes while a view is open
        (a PostgreSQL store is told of them as they are committed; its check asks nothing
        of the server).

    Examples
    --------
    >>> client = rw.Client("registry.json")
    >>> w = rw.RegistryWidget(client)
    >>> w  # display it
    >>> w.open("Models/cat-resnet")
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    route = traitlets.Unicode("").tag(sync=True)
    """The page shown: ``""``, ``"Registry"``, ``"Registry/Collection"``, ``"Reg/Coll:alias"``,
    or ``"?search=text"``. Setting it from a cell navigates every view of the widget."""

    revision = traitlets.Int(0).tag(sync=True)
    """Counts store changes seen by the widget; the frontend refetches what it shows."""

    user = traitlets.Unicode("", read_only=True).tag(sync=True)
    """The user the widget acts as (the client's user)."""

    connection = traitlets.Unicode("connected", read_only=True).tag(sync=True)
    """The store's :attr:`~registry_widget.Client.connection_state`: ``"reconnecting"``
    while a server store has lost its server (the frontend says so over what it shows)."""

    def __init__(self, client: Client, *, route: str = "", poll_interval: float = 1.0) -> None:
        super().__init__(route=route)
        self._client = client
        self.set_trait("user", client.user)
        self._poll_interval = poll_interval
        self._views: dict[str, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._bump_pending = False
        self._closed = False
        # Subscribe first: a server store then hears of every commit after the revision read.
        self._unsubscribe = client.subscribe(self._store_changed)
        self._seen_revision = client.revision
        self.set_trait("connection", client.connection_state)
        self.on_msg(self._on_message)

    @property
    def client(self) -> Client:
        """The client the widget acts through."""
        return self._client

    # -- driven from code ----------------------------------------------------------------

    def open(self, path: str | None = None) -> None:
        """Navigate to a page: a registry, ``"Reg/Coll"``, ``"Reg/Coll:alias"`` or ``""``.

        Without a path this is ipywidgets' ``Widget.open``, which opens the comm to the
        frontend (ipywidgets calls it that way when the widget is created).
        """
        if path is None:
            super().open()
            return
        self.route = path

    def create_registry(self, name: str, **kwargs: Any) -> Registry:
        """Create a registry as the widget's user (see ``Client.create_registry``) and show it."""
        reg = self._client.create_registry(name, **kwargs)
        self.open(reg.name)
        return reg

    def link(
        self,
        version: ArtifactVersion | str,
        target: str,
        aliases: tuple[str, ...] | list[str] = (),
    ) -> Link:
        """Link a version into ``"Registry/Collection"`` (see ``Client.link``) and show it."""
        link = self._client.link(version, target, aliases=aliases)
        self.open(link.path)
        return link

    def use(self, path: str) -> Link:
        """Resolve ``"Registry/Collection:alias"`` (see ``Client.use``) and show that version."""
        link = self._client.use(path)
        self.open(path)
        return link

    def search(self, text: str) -> list[SearchHit]:
        """Search what the user may see (see ``Client.search``) and show the results."""
        hits = self._client.search(text)
        self.open("?search=" + _quote(text))
        return hits

    def close(self) -> None:
        """Close the widget: stop watching the store and drop every view."""
        if not self._closed:
            self._closed = True
            self._unsubscribe()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        super().close()

    # -- messages from the frontend ------------------------------------------------------

    def handle_request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Answer one request message (the frontend's ``invoke``) with a response message."""
        return dispatch(HANDLERS, self._client, message)

    def _on_message(self, _widget: object, content: object, _buffers: object) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "request":
            self.send(self.handle_request(content))
        elif kind == "view":
            self._on_view(str(content.get("view", "")), bool(content.get("open")))

    # -- live updates --------------------------------------------------------------------

    def _on_view(self, view: str, is_open: bool) -> None:
        if is_open:
            self._views[view] = time.monotonic()
        else:
            self._views.pop(view, None)
        if self._loop is None:
            self._loop = _running_loop()
            if self._loop is None:
                return  # not inside a kernel: nothing to schedule on
        if self._views and self._timer is None and not self._closed:
            self._timer = self._loop.call_later(self._poll_interval, self._tick)

    def _live_views(self) -> int:
        cutoff = time.monotonic() - VIEW_TIMEOUT
        self._views = {v: t for v, t in self._views.items() if t >= cutoff}
        return len(self._views)

    def _tick(self) -> None:
        self._timer = None
        if self._closed or self._live_views() == 0:
            return  # no view is displayed: stop watching until one says hello again
        self.check_store()
        if self._loop is not None:
            self._timer = self._loop.call_later(self._poll_interval, self._tick)

    def check_store(self) -> bool:
        """Look for changes made by other processes; tell the frontend if there are any.

        Returns
        -------
        bool
            Whether the store changed since the widget last looked.
        """
        current = self._client.revision
        if current == self._seen_revision:
            return False
        self._bump()
        return True

    def _store_changed(self) -> None:
        # Called after every commit of this process (and, on a server store, from its
        # listening thread after commits made elsewhere and when the connection is lost
        # or back). Coalesce a burst of commits (a cell linking a thousand versions) into
        # one update once the kernel's loop is free.
        loop = self._loop
        if loop is None or self._closed:
            self._bump()
            return
        if self._bump_pending:
            return
        self._bump_pending = True
        if threading.current_thread() is threading.main_thread():
            loop.call_soon(self._bump)
        else:
            loop.call_soon_threadsafe(self._bump)

    def _bump(self) -> None:
        self._bump_pending = False
        if self._closed:
            return
        self.set_trait("connection", self._client.connection_state)
        current = self._client.revision
        if current != self._seen_revision:
            self._seen_revision = current
            self.revision += 1


def _running_loop() -> asyncio.AbstractEventLoop | None:
    # In a kernel, cells and comm messages run on the kernel's asyncio loop.
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _quote(text: str) -> str:
    return quote(text, safe="")
