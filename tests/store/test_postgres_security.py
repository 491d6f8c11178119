"""The database enforces access, not only Python: the raw-SQL role matrix (SPEC §3, §8).

The store is built through the API — a restricted registry ``Team`` with a collection,
links, aliases and history, a version linked only there, one linked also into ``Models``,
one linked nowhere — and then every login connects with psycopg and tries, for every
table, ``SELECT``, ``INSERT``, ``UPDATE`` and ``DELETE`` on the restricted registry's rows.
Each cell of the matrix is one test case; what PostgreSQL itself answers must be what the
role table of SPEC §3 says:

- ``ok``: the statement changes the row (INSERT, UPDATE, DELETE);
- ``refused``: PostgreSQL raises ``insufficient_privilege`` (a privilege the login lacks,
  or a new row that fails a policy's check);
- ``none``: the statement affects no row (the row is invisible to the login, or no policy
  lets anyone change it);
- for SELECT: ``all`` rows, ``unrestricted`` (all but the restricted registry's rows),
  ``admins`` (of ``users``: only whom to ask to be added) or ``none``.

Every change runs in a transaction that is rolled back, so the cells are independent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.types.json import Json, Jsonb

import registry_widget as rw
from registry_widget.store.postgres_schema import TABLES
from tests.conftest import PgCluster, _close_postgres_stores

ORG_ADMIN, TEAM_ADMIN, TEAM_MEMBER, TEAM_VIEWER, TEAM_RESTRICTED = "ada", "radm", "tm", "tv", "rv"
OUTSIDER, ORG_VIEWER, STRANGER, FORMER = "out", "val", "mallory", "cy"
LOGINS = (
    ORG_ADMIN, TEAM_ADMIN, TEAM_MEMBER, TEAM_VIEWER, TEAM_RESTRICTED, OUTSIDER, ORG_VIEWER,
    STRANGER, FORMER,
)  # fmt: skip
"""The organisation admin (who created the store), the restricted registry's admin, member,
viewer and restricted viewer (organisation members), an organisation member and an
organisation viewer who are not in it, a login that was never a user (it holds no
privilege but SELECT on the bookkeeping tables and ``users``) and a removed user (who
still holds the table privileges a user is granted: row-level security refuses them)."""

ALL_TABLES = (*TABLES, "settings", "schema_version")
COMMANDS = ("select", "insert", "update", "delete")

USERS = set(LOGINS) - {STRANGER, FORMER}
ORG_WRITERS = USERS - {ORG_VIEWER}  # organisation admins and members
SEES_TEAM = {ORG_ADMIN, TEAM_ADMIN, TEAM_MEMBER, TEAM_VIEWER, TEAM_RESTRICTED}
WRITES_TEAM = {ORG_ADMIN, TEAM_ADMIN, TEAM_MEMBER}
ADMINS_TEAM = {ORG_ADMIN, TEAM_ADMIN}


def _cell(yes: set[str], yes_means: str, users: str, stranger: str = "refused") -> dict[str, str]:
    """Per user: ``yes_means`` for ``yes``, ``users`` for the other users; ``stranger``
    for the login that was never a user (the removed user is added below)."""
    return {
        login: yes_means if login in yes else stranger if login == STRANGER else users
        for login in LOGINS
        if login != FORMER
    }


def _nobody_writes() -> dict[str, str]:
    return _cell(set(), "ok", "none")


EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    # Store bookkeeping: readable by every login (an unknown login is told whom to ask).
    "meta": {
        "select": _cell(set(LOGINS), "all", "all"),
        "insert": _cell(set(), "ok", "refused"),  # only while the store is being created
        "update": _nobody_writes(),
        "delete": _nobody_writes(),
    },
    "settings": {
        "select": _cell(set(LOGINS), "all", "all"),
        "insert": _cell({ORG_ADMIN}, "ok", "refused"),
        "update": _nobody_writes(),
        "delete": _nobody_writes(),
    },
    "schema_version": {
        "select": _cell(set(LOGINS), "all", "all"),
        "insert": _cell({ORG_ADMIN}, "ok", "refused"),  # the owner: migrations
        "update": _nobody_writes(),
        "delete": _nobody_writes(),
    },
    # Only organisation admins manage users; everyone sees the organisation.
    "users": {
        "select": _cell(USERS, "all", "all", stranger="admins"),
        "insert": _cell({ORG_ADMIN}, "ok", "refused"),
        "update": _cell({ORG_ADMIN}, "ok", "refused"),
        "delete": _cell({ORG_ADMIN}, "ok", "none"),
    },
    # Members, settings, visibility, rename, delete: registry admins.
    "registries": {
        "select": _cell(SEES_TEAM, "all", "unrestricted"),
        "insert": _cell(ORG_WRITERS, "ok", "refused"),
        "update": {
            **_cell(ADMINS_TEAM, "ok", "refused"),
            OUTSIDER: "none",
            ORG_VIEWER: "none",
        },
        "delete": _cell(ADMINS_TEAM, "ok", "none"),
    },
    # Collections and links: registry members and admins.
    **{
        table: {
            "select": _cell(SEES_TEAM, "all", "unrestricted"),
            "insert": _cell(WRITES_TEAM, "ok", "refused"),
            "update": {
                **_cell(WRITES_TEAM, "ok", "refused"),
                OUTSIDER: "none",
                ORG_VIEWER: "none",
            },
            "delete": _cell(WRITES_TEAM, "ok", "none"),
        }
        for table in ("collections", "links")
    },
    # Per-name counters: organisation-wide, advanced by whoever logs.
    "artifact_names": {
        "select": _cell(USERS, "all", "all"),
        "insert": _cell(ORG_WRITERS, "ok", "refused"),
        "update": _cell(ORG_WRITERS, "ok", "refused"),
        "delete": _cell({ORG_ADMIN}, "ok", "none"),
    },
    # Versions inherit the visibility of their registries; edits need member in all of
    # them; deleting is for the creator and organisation admins.
    "artifacts": {
        "select": _cell(SEES_TEAM, "all", "unrestricted"),
        "insert": _cell(ORG_WRITERS, "ok", "refused"),
        "update": {
            **_cell(WRITES_TEAM, "ok", "refused"),
            OUTSIDER: "none",
            ORG_VIEWER: "none",
        },
        "delete": _cell({ORG_ADMIN, TEAM_ADMIN}, "ok", "none"),
    },
    # Append-only: entries under one's own name about what one may see; about a
    # registry, by its members and admins.
    "history": {
        "select": _cell(SEES_TEAM, "all", "unrestricted"),
        "insert": _cell(WRITES_TEAM, "ok", "refused"),
        "update": _nobody_writes(),
        "delete": _nobody_writes(),
    },
    # A run shows itself to the organisation; only its creator (or an organisation
    # admin) writes to it; runs are never deleted.
    "runs": {
        "select": _cell(USERS, "all", "all"),
        "insert": _cell(ORG_WRITERS, "ok", "refused"),
        "update": _cell({ORG_ADMIN, TEAM_ADMIN}, "ok", "refused"),
        "delete": _nobody_writes(),
    },
    # A run's inputs and outputs follow their versions' visibility; edges are kept, and
    # added by the run's creator (the restricted registry's admin here).
    "run_edges": {
        "select": _cell(SEES_TEAM, "all", "unrestricted"),
        "insert": _cell({ORG_ADMIN, TEAM_ADMIN}, "ok", "refused"),
        "update": _nobody_writes(),
        "delete": _nobody_writes(),
    },
}
"""What PostgreSQL answers each login, per table and command (SPEC §3)."""

BOOKKEEPING = ("meta", "settings", "schema_version")
for _table, _commands in EXPECTED.items():
    # The removed user: the bookkeeping and whom to ask, nothing else; no change at all.
    _seen_by_former = "all" if _table in BOOKKEEPING else "admins" if _table == "users" else "none"
    _commands["select"][FORMER] = _seen_by_former
    _commands["insert"][FORMER] = "refused"
    _commands["update"][FORMER] = "none"
    _commands["delete"][FORMER] = "none"

assert set(EXPECTED) == set(ALL_TABLES)
CELLS = [
    (table, command, login)
    for table, command, login in itertools.product(ALL_TABLES, COMMANDS, LOGINS)
]


@dataclass
class World:
    """The store built through the API, the ids of its rows and a connection per login."""

    schema: str
    cluster: PgCluster
    ids: dict[str, int]
    restricted: dict[str, set[int]]
    conns: dict[str, psycopg.Connection[Any]]

    def all_ids(self, table: str) -> set[int]:
        """Every row of ``table`` (as the superuser sees them)."""
        key = _key(table)
        query = sql.SQL("SELECT {} FROM {}.{}").format(
            sql.Identifier(key), sql.Identifier(self.schema), sql.Identifier(table)
        )
        return {row[0] for row in self.cluster.db.execute(query).fetchall()}


def _key(table: str) -> str:
    return {"settings": "name", "schema_version": "version"}.get(table, "id")


def _files(root: Path, content: str) -> Path:
    path = root / content / "model.bin"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    return path


@pytest.fixture(scope="module")
def world(postgres: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("security")
    schema = postgres.new_schema()
    url: Callable[[str], str] = lambda login: postgres.url(login, schema)  # noqa: E731
    ada = rw.Client(url(ORG_ADMIN), blobs=root / "blobs")
    for login in (TEAM_ADMIN, TEAM_MEMBER, TEAM_VIEWER, TEAM_RESTRICTED, OUTSIDER):
        ada.add_user(login, "member")
    ada.add_user(ORG_VIEWER, "viewer")
    ada.add_user(FORMER, "member")
    ada.remove_user(FORMER)
    radm = rw.Client(url(TEAM_ADMIN))
    team = radm.create_registry("Team", visibility="restricted")
    team.add_member(TEAM_MEMBER, "member")
    team.add_member(TEAM_VIEWER, "viewer")
    team.add_member(TEAM_RESTRICTED, "restricted_viewer")
    secret = radm.log_artifact("secret", type="model", files=_files(root, "secret"))
    both = radm.log_artifact("both", type="model", files=_files(root, "both"))
    link = radm.link(secret, "Team/models", aliases=["best"])
    radm.link(both, "Team/models")
    radm.link(both, "Models/shared")
    team.add_protected_alias("production")
    radm.link(both, "Team/prod", aliases=["production"])
    radm.link(secret, "Team/prod")
    free = rw.Client(url(OUTSIDER)).log_artifact("free", type="model", files=_files(root, "f"))
    with radm.start_run("train", config={"lr": 0.1}) as run:
        run.use(both)  # an input everyone who sees Models may see
        run.use(secret)  # an input only Team may see
    db = postgres.db
    db.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))

    def one(query: str, *params: object) -> int:
        row = db.execute(query, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return int(row[0])

    team_id = one("SELECT id FROM registries WHERE key = 'team'")
    ids = {
        "team": team_id,
        "models": one("SELECT id FROM registries WHERE key = 'models'"),
        "collection": one(
            "SELECT id FROM collections WHERE registry_id = %s AND key = 'models'", team_id
        ),
        "prod": one("SELECT id FROM collections WHERE key = 'prod'"),
        "models_collection": one("SELECT id FROM collections WHERE key = 'shared'"),
        "link": one(
            "SELECT id FROM links WHERE registry_id = %s AND number = 0 "
            "AND collection_id = (SELECT id FROM collections WHERE key = 'models')",
            team_id,
        ),
        "production": one("SELECT id FROM links WHERE aliases ? 'production'"),
        "prod_other": one(
            "SELECT l.id FROM links l JOIN collections c ON c.id = l.collection_id "
            "WHERE c.key = 'prod' AND NOT l.aliases ? 'production'"
        ),
        "secret": one("SELECT id FROM artifacts WHERE name = 'secret'"),
        "both": one("SELECT id FROM artifacts WHERE name = 'both'"),
        "free": one("SELECT id FROM artifacts WHERE name = 'free'"),
        "secret_name": one("SELECT id FROM artifact_names WHERE name = 'secret'"),
        "radm": one("SELECT id FROM users WHERE key = 'radm'"),
        "meta": one("SELECT id FROM meta"),
        "history": one("SELECT id FROM history WHERE registry_id = %s LIMIT 1", team_id),
        "run": one("SELECT id FROM runs WHERE name = 'train'"),
        "secret_edge": one(
            "SELECT id FROM run_edges WHERE artifact_id = "
            "(SELECT id FROM artifacts WHERE name = 'secret')"
        ),
    }
    assert link.collection.name == "models"
    assert free.name == "free"

    def rows(query: str, *params: object) -> set[int]:
        return {int(r[0]) for r in db.execute(query, params).fetchall()}  # type: ignore[arg-type]

    restricted = {
        "registries": {team_id},
        "collections": rows("SELECT id FROM collections WHERE registry_id = %s", team_id),
        "links": rows("SELECT id FROM links WHERE registry_id = %s", team_id),
        "artifacts": {ids["secret"]},
        "history": rows(
            "SELECT id FROM history WHERE registry_id = %s OR artifact_id = %s",
            team_id,
            ids["secret"],
        ),
        "run_edges": {ids["secret_edge"]},
    }
    db.execute("RESET search_path")
    conns = {login: psycopg.connect(url(login), autocommit=True) for login in LOGINS}
    try:
        yield World(schema, postgres, ids, restricted, conns)
    finally:
        for conn in conns.values():
            conn.close()
        _close_postgres_stores()
        postgres.drop_schema(schema)


# -- the statements ------------------------------------------------------------------------------


def _doc(table: str, login: str, ids: dict[str, int]) -> dict[str, Any]:
    """A new row of ``table`` that concerns the restricted registry where it can."""
    at = "2026-01-01T00:00:00.000000Z"
    return {
        "meta": {"format": "registry_widget", "schema": 1, "created_at": at},
        "users": {"name": "zed", "key": "zed", "role": "admin", "created_at": at},
        "registries": {
            "name": f"New {login}",
            "key": f"new {login}",
            "kind": "custom",
            "visibility": "restricted",
            "members": {login: "admin"},
            "protected_aliases": [],
            "artifact_types": None,
            "created_by": login,
        },
        "collections": {
            "registry_id": ids["team"],
            "name": "more",
            "key": "more",
            "type": "model",
            "aliases": {},
            "next_index": 0,
            "created_by": login,
        },
        "links": {
            "registry_id": ids["team"],
            "collection_id": ids["collection"],
            "artifact_id": ids["free"],
            "index": 99,
            "aliases": [],
            "created_at": at,
            "created_by": login,
        },
        "artifact_names": {"name": "fresh", "type": "model", "next_index": 1},
        "artifacts": {
            "name": "fresh",
            "index": 0,
            "type": "model",
            "digest": "0" * 64,
            "files": {},
            "created_by": login,
        },
        "history": {
            "at": at,
            "user": login,
            "action": "collection.update",
            "registry_id": ids["team"],
            "collection_id": ids["collection"],
            "link_id": None,
            "artifact_id": None,
        },
        "runs": {
            "name": "probe",
            "state": "running",
            "error": None,
            "config": {},
            "summary": {},
            "tags": [],
            "created_at": at,
            "created_by": login,
            "ended_at": None,
            "heartbeat_at": at,
            "origin": None,
        },
        "run_edges": {
            "run_id": ids["run"],
            "artifact_id": ids["secret"],
            "kind": "output",
            "created_at": at,
            "created_by": login,
        },
    }[table]


_ROW = {
    "meta": "meta",
    "users": "radm",
    "registries": "team",
    "collections": "collection",
    "links": "link",
    "artifact_names": "secret_name",
    "artifacts": "secret",
    "history": "history",
    "runs": "run",
    "run_edges": "secret_edge",
}
"""The row each UPDATE and DELETE names: the restricted registry's, where the table has one."""


def _statement(table: str, command: str, login: str, ids: dict[str, int]) -> sql.Composed:
    name = sql.Identifier(table)
    if table == "settings":
        return {
            "insert": sql.SQL("INSERT INTO {} (name, value) VALUES ('other', 'x')"),
            "update": sql.SQL("UPDATE {} SET value = value"),
            "delete": sql.SQL("DELETE FROM {}"),
        }[command].format(name)
    if table == "schema_version":
        return {
            "insert": sql.SQL("INSERT INTO {} (version) VALUES (99)"),
            "update": sql.SQL("UPDATE {} SET version = version"),
            "delete": sql.SQL("DELETE FROM {}"),
        }[command].format(name)
    if command == "insert":
        return sql.SQL("INSERT INTO {} (doc) VALUES ({})").format(
            name, sql.Literal(Json(_doc(table, login, ids)))
        )
    row = sql.Literal(ids[_ROW[table]])
    if command == "update":
        return sql.SQL("UPDATE {} SET doc = doc WHERE id = {}").format(name, row)
    return sql.SQL("DELETE FROM {} WHERE id = {}").format(name, row)


def _outcome(conn: psycopg.Connection[Any], statement: sql.Composed) -> str:
    """Run ``statement`` in a transaction that is rolled back: ok, refused or none."""
    try:
        with conn.transaction(force_rollback=True):
            cur = conn.execute(statement)
            return "ok" if cur.rowcount > 0 else "none"
    except pgerrors.InsufficientPrivilege:
        return "refused"


def _seen(world: World, table: str, login: str) -> str:
    """What ``SELECT *`` shows the login, in the words of :data:`EXPECTED`."""
    key = _key(table)
    query = sql.SQL("SELECT * FROM {} ORDER BY {}").format(
        sql.Identifier(table), sql.Identifier(key)
    )
    try:
        cur = world.conns[login].execute(query)
    except pgerrors.InsufficientPrivilege:
        return "refused"
    assert cur.description is not None
    column = [c.name for c in cur.description].index(key)
    seen = {row[column] for row in cur.fetchall()}
    every = world.all_ids(table)
    hidden = world.restricted.get(table, set())
    if seen == every:
        return "all"
    if seen and seen == every - hidden:
        return "unrestricted"
    if not seen:
        return "none"
    if table == "users":
        admins = world.cluster.db.execute(
            sql.SQL("SELECT id FROM {}.users WHERE role = 'admin'").format(
                sql.Identifier(world.schema)
            )
        ).fetchall()
        if seen == {r[0] for r in admins}:
            return "admins"
    return f"some other rows: {sorted(seen)} of {sorted(every)}"


@pytest.mark.parametrize(("table", "command", "login"), CELLS)
def test_the_database_answers_each_login_as_the_role_table_says(
    world: World, table: str, command: str, login: str
) -> None:
    expected = EXPECTED[table][command][login]
    if command == "select":
        assert _seen(world, table, login) == expected
    else:
        statement = _statement(table, command, login, world.ids)
        assert _outcome(world.conns[login], statement) == expected


def test_the_matrix_covers_every_table_command_and_login() -> None:
    assert len(CELLS) == len(ALL_TABLES) * len(COMMANDS) * len(LOGINS) == 432
    for table in ALL_TABLES:
        for command in COMMANDS:
            assert set(EXPECTED[table][command]) == set(LOGINS)


# -- the cells the issue names, spelt out -------------------------------------------------------


def test_a_non_member_sees_none_of_a_restricted_registrys_rows_in_any_table(world: World) -> None:
    for login in (OUTSIDER, ORG_VIEWER, FORMER):
        conn = world.conns[login]
        for table, hidden in world.restricted.items():
            rows = conn.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier(table)))
            assert not {r[0] for r in rows.fetchall()} & hidden, (login, table)
        counts = conn.execute(
            "SELECT count(*) FROM registries WHERE visibility = 'restricted'"
        ).fetchone()
        assert counts == (0,)


def test_a_non_member_cannot_update_a_restricted_collection_naming_its_id(world: World) -> None:
    conn = world.conns[OUTSIDER]
    statement = sql.SQL(
        "UPDATE collections SET doc = json_build_object('registry_id', registry_id, "
        "'name', 'mine', 'key', 'mine') WHERE id = {}"
    ).format(sql.Literal(world.ids["collection"]))
    assert _outcome(conn, statement) == "none"


def test_a_viewer_cannot_insert_a_link(world: World) -> None:
    for login in (TEAM_VIEWER, TEAM_RESTRICTED):
        statement = _statement("links", "insert", login, world.ids)
        assert _outcome(world.conns[login], statement) == "refused"
    statement = _statement("links", "insert", TEAM_MEMBER, world.ids)
    assert _outcome(world.conns[TEAM_MEMBER], statement) == "ok"


def test_a_member_cannot_change_the_members(world: World) -> None:
    statement = sql.SQL(
        "UPDATE registries SET doc = jsonb_set(doc::jsonb, '{{members,tm}}', '\"admin\"')::json "
        "WHERE id = {}"
    ).format(sql.Literal(world.ids["team"]))
    assert _outcome(world.conns[TEAM_MEMBER], statement) == "refused"
    assert _outcome(world.conns[TEAM_ADMIN], statement) == "ok"


def test_nobody_moves_rows_into_another_registry_by_pointing_registry_id_at_it(
    world: World,
) -> None:
    ids = world.ids

    def move(table: str, row: int, to: int) -> sql.Composed:
        return sql.SQL(
            "UPDATE {} SET doc = jsonb_set(doc::jsonb, '{{registry_id}}', to_jsonb({}::bigint))"
            "::json WHERE id = {}"
        ).format(sql.Identifier(table), sql.Literal(to), sql.Literal(row))

    # A member of both registries can still not move a row from one to the other.
    for login in (TEAM_MEMBER, TEAM_ADMIN, ORG_ADMIN):
        conn = world.conns[login]
        assert _outcome(conn, move("collections", ids["collection"], ids["models"])) == "refused"
        assert _outcome(conn, move("links", ids["link"], ids["models"])) == "refused"
        shared = ids["models_collection"]
        assert _outcome(conn, move("collections", shared, ids["team"])) == "refused"
    # An outsider cannot point a row of a registry they write to at the hidden one.
    conn = world.conns[OUTSIDER]
    assert _outcome(conn, move("collections", ids["models_collection"], ids["team"])) == "refused"
    # A link names its collection's registry, whoever inserts it.
    crossed = {**_doc("links", OUTSIDER, ids), "registry_id": ids["models"]}
    statement = sql.SQL("INSERT INTO links (doc) VALUES ({})").format(sql.Literal(Json(crossed)))
    for login in (OUTSIDER, TEAM_MEMBER, ORG_ADMIN):
        assert _outcome(world.conns[login], statement) == "refused"


def test_nobody_writes_history_under_another_name(world: World) -> None:
    forged = {**_doc("history", OUTSIDER, world.ids), "user": ORG_ADMIN, "registry_id": None}
    statement = sql.SQL("INSERT INTO history (doc) VALUES ({})").format(sql.Literal(Json(forged)))
    for login in (OUTSIDER, TEAM_ADMIN):
        assert _outcome(world.conns[login], statement) == "refused"
    assert _outcome(world.conns[ORG_ADMIN], statement) == "ok"


def test_a_login_that_is_not_a_user_sees_only_whom_to_ask(world: World) -> None:
    # A removed user keeps the table privileges they were granted; the policies hide all.
    conn = world.conns[FORMER]
    for table in ("registries", "collections", "links", "artifacts", "artifact_names", "history"):
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        assert rows.fetchone() == (0,), table
    for login in (FORMER, STRANGER):
        users = world.conns[login].execute("SELECT name, role FROM users").fetchall()
        assert users == [(ORG_ADMIN, "admin")]
    with pytest.raises(pgerrors.InsufficientPrivilege):
        world.conns[STRANGER].execute("SELECT count(*) FROM registries")


def test_the_policy_functions_answer_only_for_the_session_login(world: World) -> None:
    # Asked about another login, a function answers as for nobody: no registry at all.
    asked = world.conns[OUTSIDER].execute("SELECT rw_registries('radm', 0)").fetchone()
    assert asked == ([],)
    mine = world.conns[OUTSIDER].execute("SELECT rw_registries(current_user, 0)").fetchone()
    assert mine is not None
    assert world.ids["team"] not in mine[0]
    assert world.ids["models"] in mine[0]
    theirs = world.conns[TEAM_ADMIN].execute("SELECT rw_registries(current_user, 3)").fetchone()
    assert theirs == ([world.ids["team"]],)


def test_only_registry_admins_move_or_drop_a_protected_alias(world: World) -> None:
    ids = world.ids
    move = sql.SQL(
        "UPDATE collections SET doc = jsonb_set(doc::jsonb, '{{aliases,production}}', "
        "'1')::json WHERE id = {}"
    ).format(sql.Literal(ids["prod"]))
    drop_link = sql.SQL("DELETE FROM links WHERE id = {}").format(sql.Literal(ids["production"]))
    drop_collection = sql.SQL("DELETE FROM collections WHERE id = {}").format(
        sql.Literal(ids["prod"])
    )
    for statement in (move, drop_link, drop_collection):
        assert _outcome(world.conns[TEAM_MEMBER], statement) == "refused"
        assert _outcome(world.conns[TEAM_ADMIN], statement) == "ok"
        assert _outcome(world.conns[ORG_ADMIN], statement) == "ok"
    # What holds no protected alias stays a member's to change.
    other = sql.SQL("DELETE FROM links WHERE id = {}").format(sql.Literal(ids["prod_other"]))
    assert _outcome(world.conns[TEAM_MEMBER], other) == "ok"
    latest = sql.SQL(
        "UPDATE collections SET doc = jsonb_set(doc::jsonb, '{{aliases,latest}}', '0')::json "
        "WHERE id = {}"
    ).format(sql.Literal(ids["prod"]))
    assert _outcome(world.conns[TEAM_MEMBER], latest) == "ok"


def test_registries_keep_their_kind_core_settings_and_restriction(world: World) -> None:
    def change(reg: str, field: str, value: object) -> sql.Composed:
        return sql.SQL(
            "UPDATE registries SET doc = jsonb_set(doc::jsonb, {}, {})::json WHERE id = {}"
        ).format(
            sql.Literal(f"{{{field}}}"),
            sql.Literal(Jsonb(value)),
            sql.Literal(world.ids[reg]),
        )

    for login in (TEAM_ADMIN, ORG_ADMIN):
        conn = world.conns[login]
        assert _outcome(conn, change("team", "visibility", "organization")) == "refused"
        assert _outcome(conn, change("team", "kind", "core")) == "refused"
        assert _outcome(conn, change("team", "description", "ours")) == "ok"
    conn = world.conns[ORG_ADMIN]
    for field, value in (("name", "Modelz"), ("description", "x"), ("visibility", "restricted")):
        assert _outcome(conn, change("models", field, value)) == "refused"


# -- what the rows keep, whoever writes them ------------------------------------------------------


def _set(table: str, row: int, field: str, value: object) -> sql.Composed:
    return sql.SQL("UPDATE {} SET doc = jsonb_set(doc::jsonb, {}, {})::json WHERE id = {}").format(
        sql.Identifier(table),
        sql.Literal(f"{{{field}}}"),
        sql.Literal(Jsonb(value)),
        sql.Literal(row),
    )


def _insert(table: str, doc: dict[str, Any]) -> sql.Composed:
    return sql.SQL("INSERT INTO {} (doc) VALUES ({})").format(
        sql.Identifier(table), sql.Literal(Json(doc))
    )


def _failure(conn: psycopg.Connection[Any], statement: sql.Composed) -> str:
    """Run ``statement`` in a transaction that is rolled back: ``ok`` or the error's class."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
            return "ok"
    except psycopg.Error as exc:
        return type(exc).__name__


def test_a_version_keeps_what_it_was_logged_with_whoever_may_edit_it(world: World) -> None:
    both = world.ids["both"]  # linked into Team and Models: the member may edit it
    for field, value in (
        ("digest", "f" * 64),
        ("files", {"model.bin": {"digest": "f" * 64, "size": 4}}),
        ("metadata", {"acc": 0.99}),
        ("created_by", ORG_ADMIN),
        ("name", "other"),
        ("index", 7),
    ):
        for login in (TEAM_MEMBER, TEAM_ADMIN, ORG_ADMIN):
            assert _outcome(world.conns[login], _set("artifacts", both, field, value)) == "refused"
    for field, value in (("description", "edited"), ("tags", ["x"])):
        assert _outcome(world.conns[TEAM_MEMBER], _set("artifacts", both, field, value)) == "ok"


def test_a_link_keeps_its_number_and_its_protected_aliases(world: World) -> None:
    ids = world.ids
    member, admin = world.conns[TEAM_MEMBER], world.conns[TEAM_ADMIN]
    # The collection's aliases name links by number: a number never changes.
    for conn in (member, admin):
        assert _outcome(conn, _set("links", ids["production"], "index", 1000)) == "refused"
        assert _outcome(conn, _set("links", ids["link"], "created_by", ORG_ADMIN)) == "refused"
    # A member neither takes a protected alias off its link nor puts it on another.
    off = _set("links", ids["production"], "aliases", [])
    onto = _set("links", ids["prod_other"], "aliases", ["production"])
    for statement in (off, onto):
        assert _outcome(member, statement) == "refused"
        assert _outcome(admin, statement) == "ok"
    # Nor deletes the link the alias map names, whatever the link's own list says.
    stripped_then_deleted = sql.SQL(
        "UPDATE links SET doc = jsonb_set(doc::jsonb, '{{aliases}}', '[]')::json "
        "WHERE id = {row}; DELETE FROM links WHERE id = {row}"
    ).format(row=sql.Literal(ids["production"]))
    assert _outcome(member, stripped_then_deleted) == "refused"
    # Nor inserts a link or a collection that already holds one.
    link = {**_doc("links", TEAM_MEMBER, ids), "collection_id": ids["prod"]}
    held = {**link, "aliases": ["production"]}
    assert _outcome(member, _insert("links", held)) == "refused"
    assert _outcome(member, _insert("links", link)) == "ok"
    coll = {**_doc("collections", TEAM_MEMBER, ids), "aliases": {"production": 0}}
    assert _outcome(member, _insert("collections", coll)) == "refused"
    coll_by_admin = {**coll, "created_by": TEAM_ADMIN}
    assert _outcome(admin, _insert("collections", coll_by_admin)) == "ok"


def test_counters_never_go_back_and_a_collection_keeps_its_type(world: World) -> None:
    ids = world.ids
    member = world.conns[TEAM_MEMBER]
    assert _outcome(member, _set("collections", ids["prod"], "next_index", 0)) == "refused"
    assert _outcome(member, _set("collections", ids["prod"], "next_index", 50)) == "ok"
    assert _outcome(member, _set("collections", ids["prod"], "type", "dataset")) == "refused"
    assert _outcome(member, _set("collections", ids["prod"], "name", "renamed")) == "refused"
    writer = world.conns[OUTSIDER]
    name_row = world.ids["secret_name"]
    assert _outcome(writer, _set("artifact_names", name_row, "next_index", 0)) == "refused"
    assert _outcome(writer, _set("artifact_names", name_row, "next_index", 9)) == "ok"
    assert _outcome(writer, _set("artifact_names", name_row, "type", "dataset")) == "refused"


def test_ids_are_given_by_the_database(world: World) -> None:
    conn = world.conns[OUTSIDER]
    doc = _doc("registries", OUTSIDER, world.ids)
    taken = world.ids["team"]  # a hidden registry's id: no error may tell it exists
    for row in (taken, taken + 1000):
        statement = sql.SQL("INSERT INTO registries (id, doc) VALUES ({}, {})").format(
            sql.Literal(row), sql.Literal(Json(doc))
        )
        # Refused before any key is compared, whether or not this session inserted before.
        assert _failure(conn, statement) in {
            "InsufficientPrivilege",
            "ObjectNotInPrerequisiteState",
        }
        with conn.transaction(force_rollback=True):
            conn.execute(_insert("registries", doc))
            assert _failure(conn, statement) == "InsufficientPrivilege"


def test_names_are_unique_by_their_folded_form_whatever_key_is_sent(world: World) -> None:
    twin = {
        **_doc("registries", OUTSIDER, world.ids),
        "name": "MODELS",
        "key": "not models",
        "visibility": "organization",
    }
    assert _failure(world.conns[OUTSIDER], _insert("registries", twin)) == "UniqueViolation"
    coll = {**_doc("collections", TEAM_MEMBER, world.ids), "name": "Models", "key": "elsewise"}
    assert _failure(world.conns[TEAM_MEMBER], _insert("collections", coll)) == "UniqueViolation"


def test_nobody_writes_in_another_users_name_or_run(world: World) -> None:
    ids = world.ids
    out = world.conns[OUTSIDER]
    forged_registry = {**_doc("registries", OUTSIDER, ids), "created_by": ORG_ADMIN}
    assert _outcome(out, _insert("registries", forged_registry)) == "refused"
    forged_run = {**_doc("runs", OUTSIDER, ids), "created_by": TEAM_ADMIN, "origin": "x:1"}
    assert _outcome(out, _insert("runs", forged_run)) == "refused"
    assert _outcome(world.conns[ORG_ADMIN], _insert("runs", forged_run)) == "ok"
    # The run of the restricted registry's admin gains no input from anyone else.
    edge = {**_doc("run_edges", OUTSIDER, ids), "artifact_id": ids["free"], "kind": "input"}
    assert _outcome(out, _insert("run_edges", edge)) == "refused"
    mine = {**edge, "created_by": TEAM_ADMIN}
    assert _outcome(world.conns[TEAM_ADMIN], _insert("run_edges", mine)) == "ok"
    # Nor a version said to be made by it, at logging or after.
    made = {**_doc("artifacts", OUTSIDER, ids), "run_id": ids["run"]}
    assert _outcome(out, _insert("artifacts", made)) == "refused"
    assert _outcome(out, _insert("artifacts", {**made, "run_id": None})) == "ok"
    claimed = _set("artifacts", ids["free"], "run_id", ids["run"])
    assert _outcome(out, claimed) == "refused"
    # An organisation viewer writes nothing into a registry's history.
    entry = {
        **_doc("history", ORG_VIEWER, ids),
        "registry_id": ids["models"],
        "collection_id": None,
    }
    assert _outcome(world.conns[ORG_VIEWER], _insert("history", entry)) == "refused"


def test_the_lookups_answer_only_about_what_the_login_writes_to(world: World) -> None:
    out = world.conns[OUTSIDER]
    asked = "SELECT rw_collection_of(current_user, %s::bigint)"
    assert out.execute(asked, [world.ids["collection"]]).fetchone() == (None,)
    member = world.conns[TEAM_MEMBER].execute(asked, [world.ids["collection"]]).fetchone()
    assert member == (world.ids["team"],)
    for gone in ("rw_collection_registry(1)", "rw_hides_registry(current_user, 1)"):
        with pytest.raises(pgerrors.UndefinedFunction), out.transaction(force_rollback=True):
            out.execute(f"SELECT {gone}")


def test_the_notification_trigger_calls_the_catalog_only(world: World) -> None:
    config = world.cluster.db.execute(
        "SELECT p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname = 'notify_change'",
        [world.schema],
    ).fetchone()
    assert config == (["search_path=pg_catalog, pg_temp"],)


def test_a_schema_others_may_create_objects_in_is_refused(
    postgres: PgCluster, tmp_path: Path
) -> None:
    schema = postgres.new_schema()
    ident = sql.Identifier(schema)
    try:
        postgres.db.execute(
            sql.SQL("GRANT CREATE ON SCHEMA {} TO PUBLIC, {}").format(
                ident, sql.Identifier(OUTSIDER)
            )
        )
        with pytest.raises(rw.RegistryError) as refused:
            rw.Client(postgres.url(ORG_ADMIN, schema))
        message = str(refused.value)
        # Roles as SQL names (``out`` is a keyword): the line runs as it is.
        assert 'lets "out", PUBLIC create objects' in message
        assert f'REVOKE CREATE ON SCHEMA {schema} FROM "out", PUBLIC' in message
        postgres.db.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(ident))
        with pytest.raises(rw.RegistryError, match='lets "out" create'):
            rw.Client(postgres.url(ORG_ADMIN, schema))
        postgres.db.execute(
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(ident, sql.Identifier(OUTSIDER))
        )
        opened = rw.Client(postgres.url(ORG_ADMIN, schema), blobs=tmp_path / "blobs")
        assert opened.user == ORG_ADMIN
    finally:
        _close_postgres_stores()
        postgres.drop_schema(schema)
