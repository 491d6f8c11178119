"""What only a PostgreSQL store does: schema by the first login, identity by login,
numbering under concurrent writers, collisions run again, restarts, migrations, and
filters compiled to SQL that agree with the Python predicate.

The behavioural suite runs on PostgreSQL through the ``backend`` fixture; these tests use
the same server (``postgres``, fsync off) except the durability tests, which start their
own server with fsync on.
"""

from __future__ import annotations

import ast
import contextlib
import json
import multiprocessing
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql as pgsql

import registry_widget as rw
from registry_widget.domain.session import Session
from registry_widget.errors import (
    ConcurrentChangeError,
    DatabaseError,
    PermissionDeniedError,
    StoreCorruptedError,
    StoreUnavailableError,
)
from registry_widget.filter_tree import Filter
from registry_widget.filters import parse_filter
from registry_widget.store import WorkingSetStore
from registry_widget.store.postgres import PostgresStore
from registry_widget.store.postgres_schema import SCHEMA_VERSION, TABLES
from registry_widget.store.postgres_security import POLICIES
from tests.conftest import PgCluster
from tests.servers import postgres as postgres_server

PACKAGE = Path(rw.__file__).resolve().parent


@pytest.fixture
def url(postgres: PgCluster, pg_schema: str) -> Callable[[str], str]:
    """``url("bob")``: the fresh schema's URL as login ``bob``."""
    return lambda user="ada": postgres.url(user, pg_schema)


def _files(tmp_path: Path, content: str) -> Path:
    path = tmp_path / f"src-{content}" / "model.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


# -- the shape of the backend -----------------------------------------------------------------


def test_the_postgres_store_neither_imports_nor_inherits_tinydb() -> None:
    assert not issubclass(PostgresStore, WorkingSetStore)
    for path in PACKAGE.glob("store/postgres*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("tinydb", "registry_widget.store.base"))
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("tinydb") for a in node.names)


# -- schema and identity -------------------------------------------------------------------------


@pytest.mark.parametrize("pg_schema_owner", ["carol"])
def test_the_first_login_creates_the_schema_and_becomes_the_organisation_admin(
    url: Callable[[str], str], postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    client = rw.Client(url("carol"), blobs=tmp_path / "blobs")
    assert client.user == "carol"
    assert [(u.name, u.role) for u in client.users()] == [("carol", "admin")]
    db = postgres.db
    owners = db.execute(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = %s", [pg_schema]
    ).fetchall()
    assert {t for t, _ in owners} == {*TABLES, "schema_version", "settings"}
    assert {o for _, o in owners} == {"carol"}
    versions = db.execute(
        f"SELECT version FROM {pg_schema}.schema_version ORDER BY version"
    ).fetchall()
    assert versions == [(n,) for n in range(1, SCHEMA_VERSION + 1)]
    # A second login opening it neither migrates again nor becomes an admin.
    with pytest.raises(rw.PermissionDeniedError, match=r"client\.add_user\('bob'\)"):
        rw.Client(url("bob"))
    count = db.execute(f"SELECT count(*) FROM {pg_schema}.schema_version").fetchone()
    assert count == (SCHEMA_VERSION,)


def test_the_login_is_the_user_and_user_may_not_name_another(
    url: Callable[[str], str], tmp_path: Path, store_state: Callable[[rw.Client], object]
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.add_user("bob")
    before = store_state(ada)
    with pytest.raises(rw.PermissionDeniedError) as err:
        rw.Client(url("bob"), user="ada")
    message = str(err.value)
    assert "logged in to the database as 'bob'" in message
    assert "cannot act as user 'ada'" in message
    assert store_state(ada) == before
    assert rw.Client(url("bob")).user == "bob"
    assert rw.Client(url("bob"), user="BOB").user == "bob"  # the login itself, any case
    assert rw.Client(url("ada"), user=None).user == "ada"


def test_adding_a_user_without_a_login_is_refused_with_the_line_to_run(
    url: Callable[[str], str], tmp_path: Path, store_state: Callable[[rw.Client], object]
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    before = store_state(ada)
    with pytest.raises(rw.NotFoundError) as err:
        ada.add_user("zoe_without_login", "member")
    assert 'CREATE ROLE "zoe_without_login" LOGIN' in str(err.value)
    assert store_state(ada) == before


def test_an_added_login_is_granted_what_a_user_needs(
    url: Callable[[str], str], postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.add_user("Eve", "member")  # the login is "eve": names compare case-insensitively
    eve = rw.Client(url("eve"))
    assert eve.user == "Eve"
    version = eve.log_artifact("net", type="model", files=_files(tmp_path, "w"))
    link = eve.link(version, "Models/nets")
    assert ada.use("Models/nets:latest") == link
    grants = postgres.db.execute(
        "SELECT DISTINCT privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = 'eve' AND table_schema = %s",
        [pg_schema],
    ).fetchall()
    assert {g for (g,) in grants} == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_the_blob_location_is_recorded_at_creation(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    with pytest.raises(rw.ValidationError, match="records no blob location"):
        rw.Client(url("ada"))
    folder = tmp_path / "shared-blobs"
    ada = rw.Client(url("ada"), blobs=folder)
    ada.add_user("bob")
    bob = rw.Client(url("bob"))  # no blobs=: the recorded folder
    version = bob.log_artifact("net", type="model", files=_files(tmp_path, "weights"))
    assert bob.store.blob_location() == str(folder.absolute())
    assert (ada.artifact("net:v0").download(tmp_path / "out") / "model.bin").read_text() == (
        "weights"
    )
    assert version.digest


def test_a_server_store_records_its_bucket_and_every_client_uses_it(
    url: Callable[[str], str], tmp_path: Path, s3_url: str
) -> None:
    """The team setup: metadata on the server, files in an S3 bucket named once."""
    ada = rw.Client(url("ada"), blobs=s3_url)
    ada.add_user("bob")
    assert ada.store.blob_location() == s3_url
    bob = rw.Client(url("bob"))  # only the database URL: the bucket comes from the store
    big = tmp_path / "big" / "model.bin"
    big.parent.mkdir()
    big.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    version = bob.log_artifact("net", type="model", files=big.parent)
    bob.link(version, "Models/net", aliases=["production"])
    again = rw.Client(url("ada")).use("Models/net:production")
    out = again.download(tmp_path / "out")
    assert (out / "model.bin").read_bytes() == big.read_bytes()
    report = again.artifact.verify()  # re-hashes the objects in the bucket
    assert report.ok
    assert report.checked == 1
    assert type(bob._s.blobs).__name__ == "S3BlobStore"


def test_text_postgresql_cannot_hold_is_refused_as_invalid(
    url: Callable[[str], str], tmp_path: Path, store_state: Callable[[rw.Client], object]
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    before = store_state(ada)
    with pytest.raises(rw.ValidationError, match=r"U\+0000"):
        ada.log_artifact("net", type="model", files=_files(tmp_path, "w"), metadata={"a": "x\0"})
    assert store_state(ada) == before


# -- migrations ---------------------------------------------------------------------------------


def test_concurrent_first_opens_migrate_once(url: Callable[[str], str]) -> None:
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []

    def open_one(i: int) -> None:
        try:
            stores.append(PostgresStore(url("ada") + f"&application_name=open{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    (first, *_) = stores
    versions = first._run("SELECT version FROM schema_version ORDER BY version")
    assert versions == [(n,) for n in range(1, SCHEMA_VERSION + 1)]
    for store in stores:
        store.close()


def test_an_empty_schema_is_migrated_from_version_zero_and_a_newer_one_refused(
    url: Callable[[str], str], postgres: PgCluster, pg_schema: str
) -> None:
    store = PostgresStore(url("ada"))
    assert store._schema_version() == SCHEMA_VERSION
    with store.transaction() as txn:
        txn.insert("meta", {"format": "registry_widget"})
    store.close()
    again = PostgresStore(url("ada"))  # data kept, nothing applied twice
    assert again.is_initialized()
    assert again._run("SELECT count(*) FROM schema_version") == [(SCHEMA_VERSION,)]
    again._run("INSERT INTO schema_version (version) VALUES (%s)", [SCHEMA_VERSION + 1])
    again.close()
    with pytest.raises(StoreCorruptedError, match="newer than this registry_widget knows"):
        PostgresStore(url("ada"))


_COPIED = ("artifact_name", "artifact_index", "type", "tags", "description", "metadata")


def _copy_version_fields_onto_links(postgres: PgCluster, pg_schema: str) -> None:
    """Give every link the copies of its version's fields that schemas before 3 held."""
    from registry_widget.store.postgres_txn import fold

    db = postgres.db  # a superuser: every row, whatever the policies
    db.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(pg_schema)))
    rows = db.execute(
        "SELECT links.id, links.doc, artifacts.doc FROM links "
        "JOIN artifacts ON artifacts.id = links.artifact_id"
    ).fetchall()
    for link_id, link, art in rows:
        copies = dict(
            zip(_COPIED, (art[f] for f in ("name", "index", "type", "tags")), strict=False)
        )
        copies |= {"description": art["description"], "metadata": art["metadata"]}
        doc = {**link, **copies}
        db.execute(
            "UPDATE links SET doc = %s, folded = %s WHERE id = %s",
            [psycopg.types.json.Json(doc), psycopg.types.json.Jsonb(fold(doc)), link_id],
        )
    db.execute("RESET search_path")


@pytest.mark.parametrize("version", [1, 2])  # schemas from before links lost their copies
def test_links_lose_their_copied_version_fields_when_migrated_from_an_earlier_schema(
    version: int,
    url: Callable[[str], str],
    postgres: PgCluster,
    pg_schema: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import registry_widget.store.postgres as postgres_module

    with monkeypatch.context() as patch:
        patch.setattr(postgres_module, "SCHEMA_VERSION", version)
        ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
        ada.add_user("bob", "member")
        ada.add_user("carol", "member")
        for i in range(3):
            v = ada.log_artifact(
                "net",
                type="model",
                files=_files(tmp_path, f"w{i}"),
                metadata={"acc": i / 10},
                tags=["even" if i % 2 == 0 else "odd"],
                description=f"try {i}",
            )
            ada.link(v, "Models/nets", aliases=["best"] if i == 1 else [])
        if version >= 2:  # row-level security: a registry carol may not see
            bob = rw.Client(url("bob"), blobs=tmp_path / "blobs")
            bob.create_registry("Lab", visibility="restricted")
            secret = bob.log_artifact(
                "secret", type="model", files=_files(tmp_path, "s"), tags=["hidden"]
            )
            bob.link(secret, "Lab/secrets")
            bob.close()
        assert ada.store._schema_version() == version  # type: ignore[attr-defined]
        ada.close()
    _copy_version_fields_onto_links(postgres, pg_schema)
    order = postgres.db.execute(
        pgsql.SQL("SELECT doc::text FROM {}.links ORDER BY id LIMIT 1").format(
            pgsql.Identifier(pg_schema)
        )
    ).fetchone()
    assert order is not None
    assert "artifact_name" in order[0]

    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")  # migrates
    assert ada.store._schema_version() == SCHEMA_VERSION  # type: ignore[attr-defined]
    rows = postgres.db.execute(
        pgsql.SQL("SELECT doc, folded, doc::text FROM {}.links ORDER BY id").format(
            pgsql.Identifier(pg_schema)
        )
    ).fetchall()
    assert len(rows) == (4 if version >= 2 else 3)
    for doc, folded, text in rows:
        assert not set(_COPIED) & doc.keys()
        assert not set(_COPIED) & folded.keys()
        assert list(doc) == [
            "registry_id", "collection_id", "index", "artifact_id", "aliases", "created_at",
            "created_by",
        ]  # fmt: skip
        assert list(json.loads(text)) == list(doc)
    assert [x.path for x in ada.versions({"tag": "odd"})] == ["Models/nets:v1"]
    assert [x.path for x in ada.versions({"metadata.acc": {"$gte": 0.1}})] == [
        "Models/nets:v2",
        "Models/nets:v1",
    ]
    assert [h.path for h in ada.search("odd")] == ["Models/nets:v1"]
    assert ada.use("Models/nets:best").metadata == {"acc": 0.1}
    assert [x.path for x in ada.registry("Models").versions({"type": "model"})] == [
        "Models/nets:v2",
        "Models/nets:v1",
        "Models/nets:v0",
    ]
    if version >= 2:  # row-level security holds after the migration
        carol = rw.Client(url("carol"), blobs=tmp_path / "blobs")
        assert carol.versions({"tag": "hidden"}) == []
        assert carol.search("hidden") == []
        assert [x.path for x in carol.versions({"tag": "odd"})] == ["Models/nets:v1"]
        carol.close()
        bob = rw.Client(url("bob"), blobs=tmp_path / "blobs")
        assert [x.path for x in bob.versions({"tag": "hidden"})] == ["Lab/secrets:v0"]
        assert [h.path for h in bob.search("hidden")] == ["Lab/secrets:v0"]
        bob.close()
    ada.close()


def test_a_store_at_every_earlier_version_is_migrated_and_names_the_table_it_notifies(
    postgres: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry_widget.store import postgres as postgres_module

    for start in range(1, SCHEMA_VERSION):
        schema = postgres.new_schema()
        try:
            older = postgres.url("ada", schema)
            with monkeypatch.context() as m:
                m.setattr(postgres_module, "SCHEMA_VERSION", start)
                store = PostgresStore(older)
                with store.transaction() as txn:
                    txn.insert("meta", {"format": "registry_widget"})
                store.close()
            store = PostgresStore(older)
            assert store._schema_version() == SCHEMA_VERSION
            assert store.is_initialized()
            with psycopg.connect(store._conninfo, autocommit=True) as listen:
                listen.execute(pgsql.SQL("LISTEN {}").format(pgsql.Identifier(schema)))
                with store.transaction() as txn:
                    txn.insert("users", {"name": "ada", "key": "ada", "role": "admin"})
                got = list(listen.notifies(timeout=0.5))
            assert [n.payload for n in got] == ["users"]
            store.close()
        finally:
            postgres.drop_schema(schema)


def _what_each_login_sees(url: Callable[[str], str]) -> dict[str, Any]:
    """Per login: the versions, and the history entries about versions, its queries return."""
    seen: dict[str, Any] = {}
    for login in ("ada", "bob", "carol"):
        store = PostgresStore(url(login))
        seen[login] = (
            store._run("SELECT name, number FROM artifacts ORDER BY name, number"),
            store._run(
                "SELECT a.name, h.action FROM history h JOIN artifacts a ON a.id = h.artifact_id "
                "ORDER BY a.name, h.action"
            ),
            store._run(
                "SELECT qual FROM pg_policies WHERE tablename = 'artifacts' "
                "AND policyname = 'rw_select' AND schemaname = current_schema()"
            ),
        )
        store.close()
    return seen


def _restricted_lab(
    url: Callable[[str], str], tmp_path: Path, *, carol: str
) -> tuple[rw.Client, rw.Client]:
    """ada (admin), bob (member) and carol; bob's restricted ``Lab`` holds ``secret`` and
    ``both``, which is also in ``Models``; ``loose`` is linked nowhere. Returns ada and bob.
    """
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.add_user("bob", "member")
    ada.add_user("carol", carol)
    bob = rw.Client(url("bob"), blobs=tmp_path / "blobs")
    bob.create_registry("Lab", visibility="restricted")
    bob.link(bob.log_artifact("secret", type="model", files=_files(tmp_path, "s")), "Lab/s")
    both = bob.log_artifact("both", type="model", files=_files(tmp_path, "b"))
    bob.link(both, "Lab/b")
    bob.link(both, "Models/b")
    bob.log_artifact("loose", type="model", files=_files(tmp_path, "l"))
    return ada, bob


def test_a_store_migrated_from_version_4_shows_each_login_the_same_versions(
    url: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry_widget.store.postgres as postgres_module

    with monkeypatch.context() as patch:
        patch.setattr(postgres_module, "SCHEMA_VERSION", 4)
        ada, bob = _restricted_lab(url, tmp_path, carol="member")
        bob.close()
        ada.close()
        before = _what_each_login_sees(url)

    rw.Client(url("ada"), blobs=tmp_path / "blobs").close()  # migrates
    after = _what_each_login_sees(url)
    for login in before:
        assert after[login][:2] == before[login][:2], login
        assert "rw_sees_artifact" in before[login][2][0][0]
        assert "rw_linked_in" in after[login][2][0][0]
    # A version linked only in a registry hidden from carol is hidden, with its history.
    assert [name for name, _ in after["carol"][0]] == ["both", "loose"]
    assert {name for name, _ in after["carol"][1]} == {"both", "loose"}
    assert [name for name, _ in after["bob"][0]] == ["both", "loose", "secret"]
    assert [name for name, _ in after["ada"][0]] == ["both", "loose", "secret"]


def _what_each_function_answers(url: Callable[[str], str]) -> dict[str, Any]:
    """Per login: every policy function's answer about every registry and version.

    With what each login's own queries return (``dave`` is a login but no user).
    """
    admin = PostgresStore(url("ada"))
    regs = admin._run("SELECT id, visibility, members FROM registries ORDER BY id")
    arts = [row[0] for row in admin._run("SELECT id FROM artifacts ORDER BY id")]
    admin.close()
    answers: dict[str, Any] = {"registries": regs, "artifacts": arts}
    for login in ("ada", "bob", "carol", "dave"):
        store = PostgresStore(url(login))
        run = store._run
        answers[login] = (
            [sorted(run("SELECT rw_registries(current_user, %s)", [r])[0][0]) for r in range(4)],
            run("SELECT rw_org_role(current_user), rw_me(current_user)"),
            [
                run(
                    "SELECT rw_rank(current_user, %s, %s::jsonb), "
                    "rw_hides_registry(current_user, %s)",
                    [vis, json.dumps(members), reg],
                )
                for reg, vis, members in [*regs, (999, "restricted", None)]
            ],
            [
                run(
                    "SELECT rw_sees_artifact(current_user, %s), "
                    "rw_may_edit_artifact(current_user, %s), rw_linked_in(%s, '{}')",
                    [art, art, art],
                )
                for art in [*arts, 999]
            ],
            run(
                "SELECT rw_is_me(current_user, n) "
                "FROM unnest(ARRAY['ada', 'ADA', 'bob', 'x', NULL]) n"
            ),
            None if login == "dave" else run("SELECT count(*) FROM collections"),
            None if login == "dave" else run("SELECT count(*) FROM history"),
        )
        store.close()
    return answers


def test_policy_functions_answer_the_same_in_pl_pgsql_after_migration_6(
    url: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry_widget.store.postgres as postgres_module

    with monkeypatch.context() as patch:
        patch.setattr(postgres_module, "SCHEMA_VERSION", 5)
        ada, bob = _restricted_lab(url, tmp_path, carol="viewer")
        bob.registry("Lab").add_member("carol", "restricted_viewer")
        ada.create_registry("Hidden", visibility="restricted")
        ada.link(ada.log_artifact("own", type="model", files=_files(tmp_path, "o")), "Hidden/o")
        bob.close()
        ada.close()
        before = _what_each_function_answers(url)
        languages = PostgresStore(url("ada"))
        old = languages._run(
            "SELECT DISTINCT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE p.prosecdef AND p.pronamespace = current_schema()::regnamespace"
        )
        languages.close()

    with monkeypatch.context() as patch:
        # Migrations 6 and 7 only: migration 8 drops rw_hides_registry, asked above.
        patch.setattr(postgres_module, "SCHEMA_VERSION", 7)
        rw.Client(url("ada"), blobs=tmp_path / "blobs").close()  # migrates
        after = _what_each_function_answers(url)
    assert after == before
    assert old == [("sql",)]
    store = PostgresStore(url("ada"))
    assert store._run(
        "SELECT DISTINCT l.lanname, p.proconfig IS NOT NULL FROM pg_proc p "
        "JOIN pg_language l ON l.oid = p.prolang "
        "WHERE p.prosecdef AND p.pronamespace = current_schema()::regnamespace"
    ) == [("plpgsql", True)]
    store.close()
    # The answers are not all alike: the logins differ, as the role table says.
    assert before["ada"][0] != before["carol"][0] != before["dave"][0]
    assert before["dave"][0] == [[], [], [], []]
    assert before["carol"][3] != before["bob"][3]
    assert before["ada"][5] != before["bob"][5]


def _rows_each_login_reads(url: Callable[[str], str]) -> dict[str, Any]:
    """Per login and table: the ids its own ``SELECT`` returns, or the error's name."""
    seen: dict[str, Any] = {}
    for login in ("ada", "bob", "carol", "dave"):
        with psycopg.connect(url(login), autocommit=True) as raw:
            for table in TABLES:
                query = pgsql.SQL("SELECT id FROM {} ORDER BY id").format(pgsql.Identifier(table))
                try:
                    seen[f"{login} {table}"] = raw.execute(query).fetchall()
                except psycopg.Error as exc:
                    seen[f"{login} {table}"] = type(exc).__name__
    return seen


def _select_policies(url: Callable[[str], str]) -> list[tuple[str, str]]:
    with psycopg.connect(url("ada")) as raw:
        rows = raw.execute(
            "SELECT tablename, qual FROM pg_policies WHERE schemaname = current_schema() "
            "AND policyname = 'rw_select' ORDER BY tablename"
        ).fetchall()
    return [(str(table), str(qual)) for table, qual in rows]


def test_select_policies_let_the_same_rows_through_after_migration_7(
    url: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry_widget.store.postgres as postgres_module

    with monkeypatch.context() as patch:
        patch.setattr(postgres_module, "SCHEMA_VERSION", 6)
        ada, bob = _restricted_lab(url, tmp_path, carol="viewer")
        ada.create_registry("Hidden", visibility="restricted")
        ada.link(ada.log_artifact("own", type="model", files=_files(tmp_path, "o")), "Hidden/o")
        bob.close()
        ada.close()
        before = _rows_each_login_reads(url)
        policies_before = _select_policies(url)

    rw.Client(url("ada"), blobs=tmp_path / "blobs").close()  # migrates
    after = _rows_each_login_reads(url)
    policies_after = _select_policies(url)

    assert after == before
    # The answers are not all alike: what each login reads differs, as the role table says.
    assert before["carol artifacts"] != before["bob artifacts"] != before["ada artifacts"]
    assert before["carol registries"] != before["bob registries"] != before["ada registries"]
    assert before["carol history"] != before["bob history"]
    assert before["dave users"] == [(1,)]  # not a user: only whom to ask
    # Every select policy names the owner by its oid now, with no catalog query.
    assert [t for t, _ in policies_after] == [t for t, _ in policies_before]
    assert len(policies_after) == sum(1 for c in POLICIES.values() if c["select"] is not None)
    assert all("pg_namespace" in qual for _, qual in policies_before)
    for table, qual in policies_after:
        assert "pg_namespace" not in qual, table
        assert "pg_get_userbyid" in qual, table
    with psycopg.connect(url("ada")) as raw:
        owner = raw.execute("SELECT relowner FROM pg_class WHERE oid = 'users'::regclass")
        (oid,) = owner.fetchone() or (None,)
    assert all(f"pg_get_userbyid(({oid})::oid)" in q for _, q in policies_after)


def test_a_login_that_does_not_own_the_tables_is_told_who_must_migrate(
    url: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry_widget.store.postgres as postgres_module

    with monkeypatch.context() as patch:
        patch.setattr(postgres_module, "SCHEMA_VERSION", 5)
        ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
        ada.add_user("bob", "admin")
        ada.close()
    with pytest.raises(PermissionDeniedError) as caught:
        rw.Client(url("bob"), blobs=tmp_path / "blobs")
    message = str(caught.value)
    assert "schema version 5" in message
    assert f"version {SCHEMA_VERSION}" in message
    assert "'ada'" in message
    assert "'bob' may not" in message
    with psycopg.connect(url("bob")) as raw:  # nothing of the migration stayed
        assert raw.execute("SELECT max(version) FROM schema_version").fetchone() == (5,)
    rw.Client(url("ada"), blobs=tmp_path / "blobs").close()  # the owner migrates
    bob = rw.Client(url("bob"), blobs=tmp_path / "blobs")
    assert bob.registry("Models").name == "Models"
    bob.close()


# -- concurrency ---------------------------------------------------------------------------------


def _writer(url: str, folder: str, worker: int, count: int) -> None:
    client = rw.Client(url)
    for i in range(count):
        path = Path(folder) / f"w{worker}-{i}" / "model.bin"
        path.parent.mkdir(parents=True)
        path.write_text(f"{worker}-{i}")
        version = client.log_artifact("shared", type="model", files=path)
        client.link(version, "Models/shared")


def test_a_collection_created_by_another_writer_meanwhile_is_linked_into(
    url: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # link() looks for the collection, finds none, and creates it; another writer that
    # created it between those two reads makes the call run again and link into it.
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    other = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    (tmp_path / "m.bin").write_text("m")
    version = ada.log_artifact("shared", type="model", files=tmp_path / "m.bin")
    looked = Session.find_collection
    raced: list[int] = []

    def find_collection(self: Session, reg_id: int, name: str) -> tuple[int, Any] | None:
        found = looked(self, reg_id, name)
        if self is ada._s and found is None and not raced:
            raced.append(1)
            other.registry("Models").create_collection("shared", type="model")
        return found

    monkeypatch.setattr(Session, "find_collection", find_collection)
    link = ada.link(version, "Models/shared")
    assert raced == [1]
    assert link.path == "Models/shared:v0"
    assert [c.name for c in other.registry("Models").collections()] == ["shared"]
    ada.close()
    other.close()


def test_create_collection_exist_ok_returns_one_created_by_another_writer_meanwhile(
    url: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Like mkdir -p: a collection another writer created between the lookup and the
    # creation is returned, not refused.
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    other = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    looked = Session.find_collection
    raced: list[int] = []

    def find_collection(self: Session, reg_id: int, name: str) -> tuple[int, Any] | None:
        found = looked(self, reg_id, name)
        if self is ada._s and found is None and not raced:
            raced.append(1)
            other.registry("Models").create_collection("shared", type="model")
        return found

    monkeypatch.setattr(Session, "find_collection", find_collection)
    made = ada.registry("Models").create_collection("shared", type="model", exist_ok=True)
    assert raced == [1]
    assert made.name == "shared"
    assert [c.name for c in other.registry("Models").collections()] == ["shared"]
    ada.close()
    other.close()


def test_numbering_is_gap_free_with_concurrent_writer_processes(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    workers, each = 8, 50
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    assert ada.registries()
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_writer, args=(url("ada"), str(tmp_path), w, each))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    assert [p.exitcode for p in procs] == [0] * workers
    links = ada.registry("Models").collection("shared").versions()
    assert sorted(link.index for link in links) == list(range(workers * each))
    names = sorted(link.artifact.version for link in links)
    assert names == sorted(f"v{i}" for i in range(workers * each))


def test_a_serialisation_failure_is_run_again_inside_the_library(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    store = ada.store
    assert isinstance(store, PostgresStore)
    attempts: list[int] = []

    def collide() -> None:
        attempts.append(1)
        if len(attempts) == 1:  # the server refuses the first commit as PostgreSQL would
            store._run(
                "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' "
                "USING ERRCODE = 'serialization_failure'; END $$"
            )

    store.before_commit(collide)
    registry = ada.create_registry("Lab")
    assert len(attempts) == 2
    assert [r.name for r in ada.registries()].count("Lab") == 1
    assert [e.action for e in registry.history()] == ["registry.create"]
    # Inside a batch the block cannot be run again: the collision is the caller's to see.
    attempts.clear()
    with pytest.raises(ConcurrentChangeError, match="collided"), ada.batch():
        ada.create_registry("Lab2")
    assert "Lab2" not in [r.name for r in ada.registries()]


def test_racing_creators_of_one_name_get_the_friendly_conflict(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    outcomes: list[object] = []
    barrier = threading.Barrier(4)

    def create(i: int) -> None:
        client = rw.Client(url("ada") + f"&application_name=racer{i}")
        barrier.wait()
        try:
            outcomes.append(client.create_registry("Same"))
        except rw.RegistryError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [o for o in outcomes if isinstance(o, rw.Registry)]
    refused = [o for o in outcomes if not isinstance(o, rw.Registry)]
    assert len(made) == 1
    assert all(type(e) is rw.ConflictError and "already exists" in str(e) for e in refused)
    assert [r.name for r in ada.registries()].count("Same") == 1


# -- round trips ------------------------------------------------------------------------------


def pg_store(client: rw.Client) -> PostgresStore:
    store = client.store
    assert isinstance(store, PostgresStore)
    return store


class Statements:
    """The statements one store sends, counted by wrapping its ``_run``."""

    def __init__(self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        run = store._run

        def counted(query: Any, params: Any = ()) -> list[tuple[Any, ...]]:
            text = query if isinstance(query, str) else query.as_string(None)
            self.sent.append(" ".join(text.split()))
            return run(query, params)

        monkeypatch.setattr(store, "_run", counted)

    def checks(self) -> int:
        """How many of them asked whether anything was committed since."""
        return sum("FROM changes" in text for text in self.sent)

    def clear(self) -> None:
        self.sent.clear()


def _commit_elsewhere(url: str, description: str) -> None:
    """Change the registry Team's description in another process."""
    code = (
        "import registry_widget as rw\n"
        f"c = rw.Client({url!r})\n"
        f"c.registry('Team').update(description={description!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_a_warm_read_sends_nothing_and_a_commit_elsewhere_arrives_by_notification(
    url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.create_registry("Team", description="old")
    store = pg_store(ada)
    assert ada.registry("Team").description == "old"
    sent = Statements(store, monkeypatch)
    for _ in range(3):  # a new handle each time: answered from the store's cache
        assert ada.registry("Team").description == "old"
    assert sent.sent == []
    before = store.state
    _commit_elsewhere(url("ada"), "new")
    # Nothing here asks the server: the listener's notification drops the cache.
    assert _wait(lambda: store.state != before, timeout=1.0)
    assert sent.sent == []
    assert ada.registry("Team").description == "new"
    assert sent.checks() == 0
    for call in (
        lambda: ada.versions(filter={"type": "model"}),
        lambda: ada.artifacts(filter={"type": "model"}),
        lambda: ada.registries(filter={"kind": "team"}),
    ):
        call()
        sent.clear()
        call()
        assert sent.sent == []


def test_a_client_reads_its_own_write_at_once_and_so_does_another_in_its_process(
    url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.create_registry("Team", description="old")
    other = PostgresStore(url("ada"))  # a second store of the same database
    assert ada.registry("Team").description == "old"
    found = other.find_one("registries", key="team")
    assert found is not None
    assert found[1]["description"] == "old"
    # The notification is not waited for: it may arrive later than the reads below.
    monkeypatch.setattr(PostgresStore, "_heard_of", lambda *a: None)
    ada.registry("Team").update(description="mine")
    assert ada.registry("Team").description == "mine"
    found = other.find_one("registries", key="team")
    assert found is not None
    assert found[1]["description"] == "mine"
    other.close()


def test_with_the_listener_disconnected_every_call_checks_and_reads_are_fresh(
    url: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    postgres: PgCluster,
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.create_registry("Team", description="old")
    store = pg_store(ada)
    team = ada.registry("Team")
    assert team.description == "old"
    listener = store._listener
    assert listener is not None
    assert listener.backend_pid is not None

    def refused(self: Any) -> None:
        raise psycopg.OperationalError("the server is away")

    monkeypatch.setattr(type(listener), "_connect", refused)
    postgres.admin.execute("SELECT pg_terminate_backend(%s)", [listener.backend_pid])
    assert _wait(lambda: store.connection_state == "reconnecting", timeout=5.0)
    sent = Statements(store, monkeypatch)
    assert team.description == "old"  # unsure what was missed: asks, and reads again
    assert sent.checks() == 1
    sent.clear()
    assert team.description == "old"
    assert (sent.checks(), len(sent.sent)) == (1, 1)  # asked, and nothing was new
    _commit_elsewhere(url("ada"), "new")
    sent.clear()
    assert team.description == "new"  # at once, without a notification
    assert sent.checks() == 1


class RoundTrips:
    """The statements every store sends, and the round trips they took (a pipeline: one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        self.trips = 0
        execute = psycopg.Connection.execute
        pipeline = psycopg.Connection.pipeline

        def counted(conn: psycopg.Connection[Any], query: Any, *args: Any, **kw: Any) -> Any:
            text = query if isinstance(query, str) else query.as_string(conn)
            self.sent.append(" ".join(str(text).split()))
            if conn._pipeline is None:
                self.trips += 1
            return execute(conn, query, *args, **kw)

        @contextlib.contextmanager
        def piped(conn: psycopg.Connection[Any]) -> Iterator[Any]:
            self.trips += 1
            with pipeline(conn) as p:
                yield p

        monkeypatch.setattr(psycopg.Connection, "execute", counted)
        monkeypatch.setattr(psycopg.Connection, "pipeline", piped)

    def clear(self) -> None:
        self.sent.clear()
        self.trips = 0


def test_a_transaction_rereads_nothing_it_holds_and_commits_in_one_round_trip(
    url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore(url("ada"))
    other = PostgresStore(url("ada"))  # another connection, as another process would hold
    # The first user of a new store (row-level security lets only that row in before it).
    ada = {"name": "ada", "key": "ada", "role": "admin"}
    with store.transaction() as txn:
        doc_id = txn.insert("users", {**ada, "n": 1})
    other.refresh()
    before = other.state
    sent = RoundTrips(monkeypatch)
    with store.transaction() as txn:
        txn.update("users", doc_id, {"n": 2})
        held = store.get("users", doc_id)
        assert held == {**ada, "n": 2}
        held["n"] = 99  # the caller's copy: what the transaction holds stays
        assert store.get("users", doc_id) == {**ada, "n": 2}
    monkeypatch.undo()
    # BEGIN with the row locked; the update with the commit and its count.
    assert sent.trips == 2, sent.sent
    assert len(sent.sent) == 5, sent.sent
    assert other.get("users", doc_id) == {**ada, "n": 2}
    other.refresh()
    assert other.state != before  # the commit was counted: readers elsewhere refresh
    store.close()
    other.close()


def test_a_transaction_that_writes_nothing_sends_nothing(
    url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore(url("ada"))
    sent = RoundTrips(monkeypatch)
    with store.transaction():
        pass
    assert sent.sent == []
    store.close()


def test_log_and_link_take_few_round_trips_and_a_warm_resolve_none(
    url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.create_registry("Team")
    sent = RoundTrips(monkeypatch)
    trips = []
    for i in range(3):
        sent.clear()
        version = ada.log_artifact("model", type="model", files=_files(tmp_path, f"v{i}"))
        ada.link(version, "Team/models", aliases=["champion"] if i == 2 else [])
        trips.append(sent.trips)
    # Reads of rows locked or written go to the server; updates and history entries go
    # with the next statement or the commit; rows already locked are not read again.
    assert trips[1] <= 15, trips  # 24 when each statement was a round trip
    link = ada.use("Team/models:champion")
    assert (link.version, link.artifact.digest) == ("v2", version.digest)  # read once
    sent.clear()
    for _ in range(3):
        link = ada.use("Team/models:champion")
        assert (link.version, link.path, link.artifact.digest) == (
            "v2",
            link.path,
            version.digest,
        )
    assert sent.sent == []  # nothing changed: answered from the cache
    page = [
        (v.version, v.aliases, v.created_at)
        for v in ada.registry("Team").collection("models").versions(limit=50)
    ]
    assert len(page) == 3
    sent.clear()
    again = [
        (v.version, v.aliases, v.created_at)
        for v in ada.registry("Team").collection("models").versions(limit=50)
    ]
    assert (again, sent.sent) == (page, [])


def test_a_refusal_of_a_write_sent_with_the_commit_applies_nothing(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.create_registry("Team", description="kept")
    ada.add_user("bob", role="viewer")
    bob = PostgresStore(url("bob"))
    found = bob.find_one("registries", key="team")
    assert found is not None
    before = (bob.count("history"), found[1])
    with pytest.raises(PermissionDeniedError), bob.transaction() as txn:
        txn.append("history", {"at": "now", "user": "bob", "action": "test", "target": "x"})
        # Deferred: a viewer may not change a registry, which the server says at the commit.
        txn.update("registries", found[0], {"description": "changed"})
    after = bob.find_one("registries", key="team")
    assert after is not None
    assert (bob.count("history"), after[1]) == before
    assert ada.registry("Team").description == "kept"
    bob.close()


def test_a_refused_first_statement_sent_with_its_begin_leaves_the_connection_usable(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    rw.Client(url("ada"), blobs=tmp_path / "blobs")  # ada is the organisation admin
    store = PostgresStore(url("ada"))
    name = {"name": "taken", "type": "model", "next_index": 1}
    with store.transaction() as txn:
        txn.insert("artifact_names", name)
    # BEGIN and the refused insert go in one round trip: the transaction is rolled back.
    with pytest.raises(ConcurrentChangeError), store.transaction() as txn:
        txn.insert("artifact_names", name)
    assert [d["name"] for _, d in store.find("artifact_names", name="taken")] == ["taken"]
    with store.transaction() as txn:
        txn.insert("artifact_names", {**name, "name": "free"})
    assert store.count("artifact_names") == 2
    store.close()


def test_a_statement_the_server_refuses_inside_a_batch_is_rolled_back_alone(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    rw.Client(url("ada"), blobs=tmp_path / "blobs")
    store = PostgresStore(url("ada"))
    name = {"name": "taken", "type": "model", "next_index": 1}
    with store.transaction() as txn:
        txn.insert("artifact_names", name)
    with store.transaction(batch=True) as txn:
        txn.insert("artifact_names", {**name, "name": "before"})
        # The server refuses the duplicate and aborts what the transaction does since the
        # call began; the batch goes on from there.
        with pytest.raises(ConcurrentChangeError), store.transaction() as call:
            call.insert("artifact_names", {**name, "name": "dropped"})
            call.insert("artifact_names", name)
        txn.insert("artifact_names", {**name, "name": "after"})
    names = sorted(d["name"] for _, d in store.query("artifact_names"))
    assert names == ["after", "before", "taken"]
    store.close()


def test_a_transaction_the_server_aborted_is_not_reported_committed(
    url: Callable[[str], str], tmp_path: Path
) -> None:
    rw.Client(url("ada"), blobs=tmp_path / "blobs")
    store = PostgresStore(url("ada"))
    name = {"name": "taken", "type": "model", "next_index": 1}
    with store.transaction() as txn:
        txn.insert("artifact_names", name)
    # A refusal handled inside a transaction, with no savepoint: the server answers its
    # COMMIT with a ROLLBACK, and the store says so.
    with pytest.raises(DatabaseError, match="nothing was changed"), store.transaction() as txn:
        txn.insert("artifact_names", {**name, "name": "lost"})
        with pytest.raises(ConcurrentChangeError):
            txn.insert("artifact_names", name)
    assert [d["name"] for _, d in store.query("artifact_names")] == ["taken"]
    with store.transaction() as txn:  # the connection is usable again
        txn.insert("artifact_names", {**name, "name": "free"})
    assert store.count("artifact_names") == 2
    store.close()


def test_savepoints_are_sent_inside_batches_only_and_cost_no_round_trip(
    url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ada = rw.Client(url("ada"), blobs=tmp_path / "blobs")
    ada.create_registry("Team")
    sent = RoundTrips(monkeypatch)
    version = ada.log_artifact("model", type="model", files=_files(tmp_path, "plain"))
    ada.link(version, "Team/models")
    assert not [s for s in sent.sent if "SAVEPOINT" in s], sent.sent
    plain = sent.trips
    sent.clear()
    with ada.batch():
        version = ada.log_artifact("model", type="model", files=_files(tmp_path, "batched"))
        ada.link(version, "Team/models")
    assert [s for s in sent.sent if s.startswith("SAVEPOINT")], sent.sent
    assert sent.trips <= plain, (plain, sent.trips)


# -- failures (a server with fsync on) -------------------------------------------------------------


@pytest.fixture(scope="module")
def durable() -> Iterator[postgres_server.Postgres]:
    """A server of its own with fsync on: these tests are about durability."""
    server = postgres_server.start(fsync=True)
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute("CREATE ROLE ada LOGIN")
        admin.execute("CREATE DATABASE durable OWNER ada")
    yield server
    server.stop()


def test_a_server_restart_loses_no_acknowledged_write(
    durable: postgres_server.Postgres, tmp_path: Path
) -> None:
    url = durable.url("ada", "durable")
    client = rw.Client(url, blobs=tmp_path / "blobs")
    done = []
    for i in range(5):
        version = client.log_artifact("net", type="model", files=_files(tmp_path, f"a{i}"))
        done.append(client.link(version, "Models/nets").index)
    durable.halt("immediate")  # a crash: nothing flushed on the way down
    with pytest.raises(StoreUnavailableError, match=r"cannot connect|connection"):
        client.registries()
    durable.start()
    # The next call reconnects; every acknowledged link is there.
    links = client.registry("Models").collection("nets").versions()
    assert sorted(link.index for link in links) == done == list(range(5))
    version = client.log_artifact("net", type="model", files=_files(tmp_path, "after"))
    assert client.link(version, "Models/nets").index == 5


def test_a_connection_killed_mid_transaction_commits_nothing(
    durable: postgres_server.Postgres, tmp_path: Path
) -> None:
    url = durable.url("ada", "durable") + "?application_name=victim"
    client = rw.Client(url, blobs=tmp_path / "blobs")
    before = len(client.registries())
    with (
        psycopg.connect(durable.url(), autocommit=True) as admin,
        pytest.raises(StoreUnavailableError, match="not committed"),
        client.batch(),
    ):
        client.create_registry("Doomed")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'victim'"
        )
        client.create_registry("Doomed2")
    assert len(client.registries()) == before  # reconnected; nothing half-applied
    assert "Doomed" not in [r.name for r in client.registries()]


# -- filters compiled to SQL agree with the Python predicate ---------------------------------------

FIELDS = {"name": ("name",), "tag": ("tags",), "n": ("n",), "metadata": ("metadata",)}
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, -2.5, 1e20]),
    st.sampled_from(["", "a", "b", "ab", "Ab", "é", "a%", "a_b", "10", "[1]"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "0"]), inner, max_size=2),
    ),
    max_leaves=4,
)
_LEAVES: list[Any] = [None, True, False, -3, 0, 1, 2, 3, 0.5, 1.0, -2.5, 1e20, "", "a", "b"]
_LEAVES += ["ab", "Ab", "é", "a%", "a_b", "10", "[1]"]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.random()
    if depth >= 2 or kind < 0.6:
        return rng.choice(_LEAVES)
    if kind < 0.85:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        k: _random_value(rng, depth + 1) for k in rng.sample(["a", "b", "0"], rng.randint(0, 2))
    }


def _random_doc(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for field in ("name", "tags", "n"):
        if rng.random() < 0.85:
            doc[field] = _random_value(rng)
    if rng.random() < 0.85:
        keys = rng.sample(["a", "b", "0"], rng.randint(0, 3))
        doc["metadata"] = {k: _random_value(rng, 1) for k in keys}
    return doc


_PATHS = st.sampled_from(
    ["name", "tag", "n", "metadata", "metadata.a", "metadata.b.a", "metadata.0"]
)
_COMPARABLE = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -2.5, "a", "ab", "B", "é", ""]))


def _operator() -> st.SearchStrategy[Any]:
    return st.one_of(
        _VALUES,
        st.builds(lambda v: {"$eq": v}, _VALUES),
        st.builds(lambda v: {"$ne": v}, _VALUES),
        st.builds(lambda v: {"$in": v}, st.lists(_VALUES, max_size=3)),
        st.builds(lambda v: {"$nin": v}, st.lists(_VALUES, max_size=3)),
        st.builds(
            lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), _COMPARABLE
        ),
        st.builds(lambda v: {"$exists": v}, st.booleans()),
        st.builds(lambda v: {"$contains": v}, _SCALARS),
        st.builds(lambda v: {"$regex": v}, st.sampled_from(["^a", "b$", "A|é", "\\d"])),
        st.builds(lambda v: {"$not": {"$gt": v}}, _COMPARABLE),
    )


_FILTERS = st.recursive(
    st.dictionaries(_PATHS, _operator(), min_size=1, max_size=2),
    lambda inner: st.one_of(
        st.builds(lambda fs: {"$and": fs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda fs: {"$or": fs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda f: {"$not": f}, inner),
    ),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def filter_docs(postgres: PgCluster) -> Iterator[tuple[PostgresStore, list[tuple[int, Any]]]]:
    """A store holding a fixed sample of documents of every shape the filters reach."""
    schema = postgres.new_schema()
    store = PostgresStore(postgres.url("ada", schema))
    rng = random.Random(20261130)
    docs = [_random_doc(rng) for _ in range(200)]
    docs += [{"name": "ab", "tags": ["a", ["b"]], "n": 2, "metadata": {"a": [1, "ab"]}}, {}]
    with store.transaction() as txn:
        rows = [(txn.insert("things", doc), doc) for doc in docs]
    yield store, rows
    store.close()
    postgres.drop_schema(schema)


def test_equality_and_in_filters_are_served_by_the_index_on_data(
    url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore(url("ada"))
    with store.transaction() as txn:
        for i in range(2000):
            txn.insert("meta", {"name": f"n{i % 50}", "tags": [f"t{i % 7}"], "n": i})
    store._run("VACUUM ANALYZE meta")
    sent: list[tuple[Any, Any]] = []
    run = store._run

    def captured(query: Any, params: Any = ()) -> list[tuple[Any, ...]]:
        sent.append((query, params))
        return run(query, params)

    monkeypatch.setattr(store, "_run", captured)
    found = {
        "find": [i for i, _ in store.find("meta", name="n3")],
        "eq": [i for i, _ in store.query("meta", parse_filter({"tag": "t2"}, FIELDS))],
        "in": [
            i for i, _ in store.query("meta", parse_filter({"name": {"$in": ["n1", "n2"]}}, FIELDS))
        ],
    }
    monkeypatch.undo()
    assert [len(ids) for ids in found.values()] == [40, 286, 80]
    store._run("SET enable_seqscan = off")  # a plan that can use the index must use it
    for query, params in sent:
        plan = "\n".join(row[0] for row in store._run(pgsql.SQL("EXPLAIN ") + query, params))
        assert "Bitmap Index Scan on meta_data_idx" in plan, plan
    store.close()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=_FILTERS, limit=st.one_of(st.none(), st.integers(0, 20)), offset=st.integers(0, 5))
def test_compiled_sql_and_the_python_finish_equal_the_predicate(
    filter_docs: tuple[PostgresStore, list[tuple[int, Any]]],
    spec: dict[str, Any],
    limit: int | None,
    offset: int,
) -> None:
    store, rows = filter_docs
    try:
        tree: Filter = parse_filter(spec, FIELDS)
    except rw.ValidationError:
        return  # invalid filters are refused before any store sees them
    expected = [i for i, doc in rows if tree.matches(doc)]
    assert [i for i, _ in store.query("things", tree, order=("id",))] == expected
    end = None if limit is None else offset + limit
    paged = store.query("things", tree, order=("-id",), limit=limit, offset=offset)
    assert [i for i, _ in paged] == expected[::-1][offset:end]
