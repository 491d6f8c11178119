"""Fixtures shared by the whole suite: every library test runs on every store backend.

The backends are ``memory``, ``json`` (the TinyDB file) and ``postgres``: a fresh schema per
test in a throwaway PostgreSQL server that the run starts on loopback (``make pg-deps``
installs it; without it the PostgreSQL cases fail, they never skip).
"""

from __future__ import annotations

import copy
import os
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.files.s3 import S3BlobStore
from registry_widget.names import normalize_key
from registry_widget.store import MemoryStore
from tests.servers import postgres as postgres_server
from tests.servers import swift as swift_server

MakeClient = Callable[..., rw.Client]


BACKENDS = ["json", "memory", "postgres"]
"""Every store backend; behavioural tests run on each."""


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store implementation under test.

    Modules about artifact files override it to run on every blob backend, adding
    ``"s3"``: a JSON store whose blobs are in the test object store (Swift).
    """
    return str(request.param)


PG_DATABASE = "rw_tests"
PG_LOGINS = (
    "ada", "bob", "carol", "dave", "eve", "mia", "val", "u", "rv", "radm", "vic", "tm", "tv",
    "newbie", "cy", "mallory", "out", "ov", "dan",
)  # fmt: skip
"""Logins made at the start: the users the tests add (a server store's users are logins)."""


class PgCluster:
    """The run's PostgreSQL server with the test database and logins (see ``postgres``)."""

    def __init__(self, server: postgres_server.Postgres) -> None:
        import psycopg

        self.server = server
        self.admin = psycopg.connect(server.url(), autocommit=True)
        self.admin.execute(f"CREATE DATABASE {PG_DATABASE}")
        self.db = psycopg.connect(server.url(database=PG_DATABASE), autocommit=True)
        self.logins: set[str] = set()
        for name in PG_LOGINS:
            self.login(name)

    def login(self, name: str) -> str:
        """The login for user ``name`` (its normalised key), made if missing."""
        from psycopg import sql

        key = normalize_key(name)
        if key not in self.logins:
            exists = self.admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [key])
            if exists.fetchone() is None:
                self.admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(key)))
            self.logins.add(key)
        return key

    def new_schema(self, owner: str = "ada") -> str:
        """A fresh schema that ``owner`` may create tables in and every login may use.

        As in a team's database (PostgreSQL 15's ``public`` belongs to the database's
        owner): nobody else may create objects in it, which a store refuses to open.
        """
        from psycopg import sql

        name = f"t_{uuid.uuid4().hex[:16]}"
        ident = sql.Identifier(name)
        owner_ident = sql.Identifier(self.login(owner))
        self.db.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(ident, owner_ident))
        self.db.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO PUBLIC").format(ident))
        return name

    def drop_schema(self, name: str) -> None:
        from psycopg import sql

        self.db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))

    def url(self, user: str, schema: str) -> str:
        """The URL of the test database as login ``user`` with ``schema`` first in its path."""
        login = urllib.parse.quote(self.login(user), safe="")
        server = self.server
        return (
            f"postgresql://{login}@{server.host}:{server.port}/{PG_DATABASE}"
            f"?options=-csearch_path%3D{schema}"
        )

    def close(self) -> None:
        self.db.close()
        self.admin.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """One PostgreSQL server for the run's behavioural tests, stopped at the end.

    ``fsync`` is off here: these tests are about logic, and a server that syncs would only
    make them slower. The durability tests (tests/store/test_postgres_store.py) start their own
    server with ``fsync`` on. Without PostgreSQL installed (``make pg-deps``) these cases
    fail with how to install it.
    """
    if not postgres_server.available():
        pytest.fail(f"PostgreSQL is missing from {postgres_server.BIN}: run `make pg-deps`")
    server = postgres_server.start(fsync=False)
    try:
        cluster = PgCluster(server)
        try:
            yield cluster
        finally:
            cluster.close()
    finally:
        server.stop()


@pytest.fixture
def pg_schema_owner() -> str:
    """The login that owns a test's fresh schema, so the first to open its store."""
    return "ada"


@pytest.fixture
def pg_schema(postgres: PgCluster, pg_schema_owner: str) -> Iterator[str]:
    """A fresh schema in the test database, dropped after the test."""
    name = postgres.new_schema(pg_schema_owner)
    yield name
    _close_postgres_stores()
    postgres.drop_schema(name)


def _close_postgres_stores() -> None:
    """Close the connections of the stores the test opened, so its schema can be dropped."""
    from registry_widget.domain import backend as composition

    for key, store in list(composition._stores.items()):
        if key.startswith("postgresql://"):
            store.close()


S3_BUCKET = "rw-tests"


@pytest.fixture(scope="session")
def swift() -> Iterator[swift_server.Swift]:
    """One real object store for the whole run: Swift with s3api on loopback.

    Started on first use, stopped by PID at the end. Without Swift installed
    (`make swift-deps`) the S3 tests skip, except under CI=true, where they fail.
    """
    if not swift_server.available():
        msg = f"Swift is missing from {swift_server.swift_venv()}: run `make swift-deps`"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    server = swift_server.start()
    try:
        client = s3_client(server)
        deadline = time.monotonic() + 20
        while True:  # the storage servers may answer a moment after the proxy
            try:
                client.create_bucket(Bucket=S3_BUCKET)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        server.stop()


def s3_client(server: swift_server.Swift) -> object:
    """A boto3 S3 client of the test object store (path-style, tempauth's test user)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture
def s3_url(swift: swift_server.Swift, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh ``s3://bucket/prefix`` in the test object store, with the AWS variables set."""
    for name, value in swift.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    return f"s3://{S3_BUCKET}/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "registry.json"


def read_blob_folder(folder: Path) -> bytes:
    """Every folder and every file's bytes below a blob store's folder, in one value."""
    if not folder.exists():
        return b"(none)"
    parts = [b"D ."]
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix().encode()
        parts.append(b"D " + rel if p.is_dir() else b"F " + rel + b"\0" + p.read_bytes())
    return b"\n".join(parts)


def read_store(path: Path) -> bytes:
    """The bytes of a JSON store on disk: its file, its journal (empty when missing) and
    its blob folder (every folder and every file's bytes)."""
    parts = []
    for p in (path, path.with_name(path.name + ".journal")):
        parts.append(p.read_bytes() if p.exists() else b"")
    parts.append(read_blob_folder(path.with_name(path.stem + ".blobs")))
    return b"\0".join(parts)


def read_bucket(blobs: S3BlobStore) -> object:
    """Every object under an S3 blob store's prefix with its bytes, and unfinished uploads."""
    s3 = blobs._client
    prefix = blobs.prefix + "/"
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=blobs.bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=blobs.bucket, Key=obj["Key"])["Body"].read()
            objects[obj["Key"]] = body
    uploads = s3.list_multipart_uploads(Bucket=blobs.bucket, Prefix=prefix).get("Uploads", [])
    return objects, sorted(u["Key"] for u in uploads)


def read_state(client: rw.Client) -> object:
    """All a store holds, to compare before and after a call, on every backend.

    A JSON store: :func:`read_store`, and the bucket's objects when its blobs are in S3
    (:func:`read_bucket`). A store in memory: its tables and its blobs.
    """
    store = client.store
    path = getattr(store, "path", None)
    blobs = client._s.blobs
    if store.login is not None:
        return read_postgres(store), read_blob_folder(Path(str(store.blob_location())))
    if isinstance(blobs, S3BlobStore):
        return read_store(Path(path)), read_bucket(blobs)
    if path is not None:
        return read_store(Path(path))
    contents = {}
    for digest in blobs.digests():
        with blobs.open(digest) as fh:
            contents[digest] = fh.read()
    # A read may create an empty table in memory; an empty table and none hold the same.
    tables = {name: docs for name, docs in store._dump().items() if docs}
    return copy.deepcopy(tables), contents


def read_postgres(store: object) -> object:
    """Every row of a PostgreSQL store's tables, in id order, documents as stored."""
    from registry_widget.store.postgres import PostgresStore
    from registry_widget.store.postgres_schema import TABLES

    assert isinstance(store, PostgresStore)
    tables = {}
    for table in (*TABLES, "settings", "schema_version"):
        key = "name" if table == "settings" else "version" if table == "schema_version" else "id"
        rows = store._run(f"SELECT * FROM {table} ORDER BY {key}")
        tables[table] = [tuple(map(repr, row)) for row in rows]
    return tables


@pytest.fixture
def store_state() -> Callable[[rw.Client], object]:
    """``store_state(client)``: all a store holds, on either backend (:func:`read_state`)."""
    return read_state


@pytest.fixture
def store_bytes() -> Callable[[Path], bytes]:
    """``store_bytes(path)``: the bytes of a store on disk, file and journal together."""
    return read_store


@pytest.fixture
def make_client(
    backend: str, store_path: Path, request: pytest.FixtureRequest
) -> Iterator[MakeClient]:
    """Clients of one store, as any user: ``make_client("bob")``; closed at teardown.

    On PostgreSQL each user connects as a login of the same name (its normalised key), to
    a fresh schema; the first client records the blob folder, later ones use the recorded.
    """
    memory = MemoryStore()
    # "s3": a JSON store whose blobs are in the test object store (modules opt in).
    blobs = request.getfixturevalue("s3_url") if backend == "s3" else None
    made: list[rw.Client] = []
    if backend == "postgres":
        cluster: PgCluster = request.getfixturevalue("postgres")
        schema: str = request.getfixturevalue("pg_schema")
        folder = store_path.with_name("registry.blobs")

    def make(user: str = "ada") -> rw.Client:
        if backend == "memory":
            client = rw.Client(memory, user=user)
        elif backend == "postgres":
            first = not folder.exists()
            url = cluster.url(user, schema)
            client = rw.Client(url, user=user, blobs=folder if first else None)
        else:
            client = rw.Client(store_path, user=user, blobs=blobs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> rw.Client:
    """The first user of a new store, so its organisation admin: ``ada``."""
    return make_client("ada")


@pytest.fixture
def files(tmp_path: Path) -> Callable[..., Path]:
    """Write small files: ``files("a.txt", b"...")`` → a path, in a fresh folder each call."""
    counter = iter(range(1_000_000))

    def write(name: str = "model.bin", content: bytes | str = b"weights") -> Path:
        folder = tmp_path / f"src{next(counter)}"
        folder.mkdir()
        path = folder / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def log(client: rw.Client, files: Callable[..., Path]) -> Callable[..., rw.ArtifactVersion]:
    """Log a small artifact version with unique content: ``log("cat", type="model")``."""
    counter = iter(range(1_000_000))

    def do(name: str = "cat", *, type: str = "model", **kwargs: object) -> rw.ArtifactVersion:
        path = files("model.bin", f"content {name} {next(counter)}")
        return client.log_artifact(name, type=type, files=path, **kwargs)  # type: ignore[arg-type]

    return do
