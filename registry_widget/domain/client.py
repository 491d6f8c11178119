"""The client: one user's entry point to a store (SPEC §6)."""

from __future__ import annotations

import getpass
import os
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from registry_widget.choices import validate_page, validate_visibility
from registry_widget.domain.artifact_log import log_artifact
from registry_widget.domain.artifact_version import (
    ARTIFACT_FIELDS,
    ArtifactVersion,
    artifact_id,
    find_artifact,
)
from registry_widget.domain.backend import (
    BlobLocation,
    Location,
    close_backend,
    collected,
    open_backend,
)
from registry_widget.domain.garbage import DEFAULT_MIN_AGE, GarbageReport, collect_garbage
from registry_widget.domain.link import Link
from registry_widget.domain.linking import link_version
from registry_widget.domain.registry import REGISTRY_FIELDS, Registry
from registry_widget.domain.reprs import ResultList
from registry_widget.domain.retry import retried
from registry_widget.domain.run import Run
from registry_widget.domain.run_records import list_runs, start_run
from registry_widget.domain.schema import DOCUMENT_FIELDS, create_store_docs, registry_doc
from registry_widget.domain.search import SearchHit, linked_versions, search
from registry_widget.domain.session import Session
from registry_widget.domain.users import (
    User,
    add_user,
    insert_user,
    list_users,
    remove_user,
    set_user_role,
)
from registry_widget.domain.using import use_path
from registry_widget.entity_names import validate_registry_name, validate_user_name
from registry_widget.errors import (
    PermissionDeniedError,
    ValidationError,
)
from registry_widget.names import normalize_key, validate_artifact_types, validate_description
from registry_widget.permissions import same_user
from registry_widget.store import Store

__all__ = ["Client"]


def _default_user() -> str:
    return os.environ.get("REGISTRY_WIDGET_USER") or getpass.getuser()


class Client:
    """A user's connection to a registry store.

    Parameters
    ----------
    location
        The store file (created when missing), ``":memory:"`` for a throw-away store, a
        ``"postgresql://…"`` URL of a team's PostgreSQL database (libpq URL; ``PG*``
        variables and ``~/.pgpass`` honoured; needs the ``postgres`` extra), or a
        :class:`~registry_widget.store.Store`. Clients of one file in one process share it.
    blobs
        Where the artifact files' bytes live: a folder (created when missing), an
        ``"s3://bucket/prefix"`` URL (endpoint and credentials from the standard AWS
        variables and profiles, e.g. ``AWS_ENDPOINT_URL``) or a
        :class:`~registry_widget.files.blobs.BlobStore`. Default: the folder
        ``<stem>.blobs/`` beside a store file, in memory for a store without one. A
        PostgreSQL store records the location it is created with (a folder every client
        can reach, or an ``s3://`` URL) and later clients use it; creating one without
        ``blobs`` is refused.
    user
        Who acts. Default: ``$REGISTRY_WIDGET_USER``, else the OS login name; on a
        PostgreSQL store always the database login, which ``user`` may only repeat. The
        first user to open a new store becomes its organisation admin; anyone else must
        have been added with :meth:`add_user` (on PostgreSQL: an existing login). User
        names compare like registry names: the client acts under the spelling the
        organisation knows (``bob`` opens as ``Bob``).
    """

    def __init__(
        self,
        location: Location = "registry.json",
        *,
        blobs: BlobLocation | None = None,
        user: str | None = None,
    ) -> None:
        asked = None if user is None else validate_user_name(user)
        name = asked if asked is not None else validate_user_name(_default_user())
        backend = open_backend(location, blobs=blobs)
        login = backend.store.login
        try:
            if login is not None:
                # On a server store the database login is the user: nobody acts as another.
                if asked is not None and not same_user(asked, login):
                    msg = (
                        f"this connection is logged in to the database as {login!r}, so it "
                        f"acts as {login!r} and cannot act as user {asked!r}; connect as the "
                        f"login {asked!r} instead (user= may only name the login itself)"
                    )
                    raise PermissionDeniedError(msg).with_code(
                        "not_the_login", user=asked, login=login
                    )
                name = validate_user_name(login)
            backend.store.expect_fields(DOCUMENT_FIELDS)
            self._s = Session(backend.store, backend.blobs, name)
            self._bootstrap()
            self._s.org_role()  # refuse an unknown user now, with how to be added
        except BaseException:
            close_backend(backend)
            raise
        # Released by close(), or soon after the client and every registry, collection
        # or version it handed out (which share its session) are collected unclosed.
        self._release = weakref.finalize(self._s, collected, backend)
        # One user, one name: act under the spelling the organisation knows, so that
        # creators, members and history all record the same name.
        known = self._s.user_doc()
        if known is not None:
            self._s.user = str(known[1]["name"])

    @retried
    def _bootstrap(self) -> None:
        store = self._s.store
        store.refresh()
        if store.is_initialized() and store.count("users"):
            return
        with store.transaction() as txn:
            if not store.is_initialized():
                create_store_docs(txn, self._s.user)
            if not store.count("users"):
                insert_user(self._s, txn, self._s.user, "admin")

    def __repr__(self) -> str:
        if self._s.closed:
            return f"<Client user={self._s.user!r} (closed)>"
        where = getattr(self._s.store, "location", repr(self._s.store))
        return f"Client({where!r}, user={self.user!r})"

    def close(self) -> None:
        """Release the store's files and locks and the object store's connections now.

        Clients of one store file in a process share them: they are released when the
        last of those clients is closed. A closed client (and every registry, collection
        or version it handed out) refuses further calls; closing it again does nothing.
        ``with rw.Client(...) as client:`` closes the client at the end of the block.
        """
        self._s.close()
        unclosed = self._release.detach()
        if unclosed is not None:
            close_backend(unclosed[2][0])

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def store(self) -> Store:
        """The store this client works on."""
        return self._s.store

    # -- users ------------------------------------------------------------------------------

    @property
    def user(self) -> str:
        """Who this client acts as."""
        return self._s.user

    @property
    def org_role(self) -> str:
        """This user's organisation role: ``"admin"``, ``"member"`` or ``"viewer"``."""
        return self._s.org_role()

    def users(self) -> list[User]:
        """The organisation's users, by name."""
        return list_users(self._s)

    @retried
    def add_user(self, name: str, role: str = "member") -> User:
        """Add a user to the organisation (organisation admins)."""
        name = add_user(self._s, name, role)
        return next(u for u in self.users() if u.name == name)

    @retried
    def set_user_role(self, name: str, role: str) -> None:
        """Change a user's organisation role (organisation admins)."""
        set_user_role(self._s, name, role)

    @retried
    def remove_user(self, name: str) -> None:
        """Remove a user from the organisation, with their registry roles (organisation admins).

        What they logged, linked or created stays, under their name. The organisation's only
        admin cannot be removed, and nobody removes themselves (another admin can).
        """
        remove_user(self._s, name)

    # -- registries ---------------------------------------------------------------------------

    def registries(self, filter: Mapping[str, Any] | None = None) -> list[Registry]:
        """The registries this user may see (core first, then by name), optionally filtered."""
        s = self._s
        with s.store.reading():
            tree = s.parse_filter(filter, REGISTRY_FIELDS)
            rows = [
                row
                for row in s.store.query("registries", tree, order=("key", "id"))
                if s.role_on(row[1]) is not None
            ]
        rows.sort(key=lambda row: row[1]["kind"] != "core")  # stable: by name within
        return ResultList(Registry(s, reg_id) for reg_id, _ in rows)

    def registry(self, name: str) -> Registry:
        """The registry named ``name`` (case-insensitively)."""
        return Registry(self._s, self._s.find_registry(validate_registry_name(name))[0])

    @retried
    def create_registry(
        self,
        name: str,
        *,
        description: str = "",
        visibility: str = "organization",
        artifact_types: Iterable[str] | None = None,
        exist_ok: bool = False,
    ) -> Registry:
        """Create a custom registry; its creator becomes its admin.

        ``artifact_types=None`` accepts every type. With ``exist_ok=True`` a registry of
        that name that the user may see is returned as it is (like ``mkdir -p``): its
        description, visibility and types are not compared or changed, and nothing is
        written; re-running a script that creates its registry then works.
        """
        name = validate_registry_name(name)
        description = validate_description(description)
        visibility = validate_visibility(visibility)
        types = validate_artifact_types(artifact_types)
        s = self._s
        if exist_ok:
            with s.store.reading():
                existing = s.store.find_one("registries", key=normalize_key(name))
                if existing is not None and s.role_on(existing[1]) is not None:
                    return Registry(s, existing[0])
        with s.store.transaction() as txn:
            s.require_org("member", "create registries")
            s.check_registry_name_free(name)
            reg_id = txn.insert(
                "registries",
                registry_doc(name, "custom", description, visibility, types, [], s.user),
            )
            s.record(
                txn,
                "registry.create",
                name,
                after={"visibility": visibility, "artifact_types": types},
                registry_id=reg_id,
            )
        return Registry(s, reg_id)

    # -- artifact versions ---------------------------------------------------------------------

    def log_artifact(
        self,
        name: str,
        *,
        type: str,
        files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
        description: str = "",
        tags: Iterable[str] = (),
    ) -> ArtifactVersion:
        """Log an immutable version of artifact ``name`` from ``files``.

        ``files`` is a path (file or folder), a list of paths, or ``{relpath: path}``.
        Content identical to the newest version of ``name`` returns that version.
        """
        art_id = log_artifact(
            self._s,
            name,
            artifact_type=type,
            files=files,
            metadata=metadata,
            description=description,
            tags=tags,
        )
        return ArtifactVersion(self._s, art_id)

    def artifact(self, ref: str) -> ArtifactVersion:
        """The artifact version ``name:vM`` (``name`` or ``name:latest``: the newest)."""
        return ArtifactVersion(self._s, find_artifact(self._s, ref))

    def artifacts(
        self,
        filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ArtifactVersion]:
        """Logged artifact versions the user may see, newest first, optionally filtered and paged.

        A version linked only into registries the user may not see is left out.
        """
        limit, offset = validate_page(limit, offset)
        s = self._s
        store = s.store
        order = ("-created_at", "-id")
        with store.reading():
            tree = s.parse_filter(filter, ARTIFACT_FIELDS)
            s.org_role()
            if len(s.visible_registries()) == store.count("registries"):
                # Every registry is visible, so is every version: the store pages.
                rows = store.query("artifacts", tree, order=order, limit=limit, offset=offset)
            else:
                rows = [
                    row
                    for row in store.query("artifacts", tree, order=order)
                    if s.sees_artifact(row[0])
                ]
                end = None if limit is None else offset + limit
                rows = rows[offset:end]
        return ResultList(ArtifactVersion(s, art_id) for art_id, _ in rows)

    def collect_garbage(self, min_age: timedelta | float = DEFAULT_MIN_AGE) -> GarbageReport:
        """Remove the stored files that no artifact version refers to (organisation admins).

        Deleting a version leaves its files in the blob store; this removes the ones no
        version uses any more and that were not stored (or stored again by a logger)
        within ``min_age`` (a ``timedelta`` or seconds; default one hour), so a logger
        that is about to refer to a blob never loses it. What killed loggers left half
        uploaded goes too; an upload in progress is never disturbed, even with
        ``min_age=0`` (see :func:`~registry_widget.domain.garbage.collect_garbage`).
        """
        return collect_garbage(self._s, min_age)

    # -- links ----------------------------------------------------------------------------------

    def link(self, version: ArtifactVersion | str, path: str, aliases: Iterable[str] = ()) -> Link:
        """Link an artifact version into ``Registry/Collection`` (created if missing)."""
        return Link(self._s, link_version(self._s, artifact_id(self._s, version), path, aliases))

    def use(self, path: str) -> Link:
        """Resolve ``Registry/Collection:selector`` (default ``latest``) to a linked version.

        Using needs at least the viewer role (restricted viewers may only look).
        """
        return use_path(self._s, path)

    # -- runs -----------------------------------------------------------------------------

    def start_run(
        self,
        name: str,
        *,
        config: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
    ) -> Run:
        """Start a run: record what it uses and produces (organisation members and admins).

        ``config`` (the run's settings: a JSON object under the rules of metadata) is
        fixed at start. Use the run as a context manager so that it ends ``finished``, or
        ``failed`` with the exception's text; a run whose process was killed reads as
        ``crashed`` once its heartbeat is older than
        :data:`~registry_widget.domain.run_query.HEARTBEAT_TIMEOUT`.
        """
        return Run(self._s, start_run(self._s, name, config, tags))

    def runs(
        self,
        filter: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Run]:
        """Runs, newest first, optionally filtered and paged.

        Filter fields: ``name``, ``state``, ``tag``, ``created_at``, ``created_by``,
        ``ended_at``, ``config.<dotted.path>`` and ``summary.<dotted.path>``.
        """
        return ResultList(Run(self._s, i) for i in list_runs(self._s, filter, limit, offset))

    def run(self, id: str | int) -> Run:
        """The run with this id (``run.id``)."""
        text = str(id) if isinstance(id, (str, int)) and not isinstance(id, bool) else ""
        if not text.isascii() or not text.isdigit():
            msg = f"a run id is the number in run.id, such as '7', not {id!r}"
            raise ValidationError(msg, field="id", value=id)
        run = Run(self._s, int(text))
        run._doc()  # refuses an id that names no run
        return run

    def versions(self, filter: Mapping[str, Any] | None = None) -> list[Link]:
        """Linked versions across every registry the user may see, newest first."""
        return linked_versions(self._s, filter)

    def search(self, text: str, *, limit: int | None = 100) -> list[SearchHit]:
        """Find registries, collections and versions whose name, tags or aliases contain ``text``.

        Case-insensitive; only what the user may see; at most ``limit`` hits (None: all).
        """
        return search(self._s, text, limit=limit)

    # -- transactions and changes ---------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Client]:
        """Group many changes into one durable commit at the end (all or nothing).

        A call refused inside the block changes nothing, as outside one: when the block
        handles the refusal and goes on, the batch commits its other changes. A block
        that raises commits nothing.
        """
        with self._s.store.transaction(batch=True):
            yield self

    @property
    def revision(self) -> int:
        """A number that changes whenever the store changes, here or in another process."""
        return self._s.store.revision

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after every commit this process makes to the store.

        Returns a function that unsubscribes. Changes by other processes are seen through
        :attr:`revision`; on a PostgreSQL store the callback also hears of them as they are
        committed (from another thread), and of changes of :attr:`connection_state`.
        """
        return self._s.store.subscribe(callback)

    @property
    def connection_state(self) -> str:
        """``"connected"``, or ``"reconnecting"`` while a server store has lost its server.

        While reconnecting, changes made elsewhere go unheard; once connected again,
        subscribers are told to read everything again.
        """
        return self._s.store.connection_state
