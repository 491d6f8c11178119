"""The policy functions in PL/pgSQL: the same answers, at a fraction of the cost (migration 6).

The functions of migration 2 (:mod:`registry_widget.store.postgres_security`) are SQL
functions that call each other: ``rw_registries`` calls ``rw_rank`` for every registry,
which calls ``rw_me``. A SQL function that is ``SECURITY DEFINER`` with its own
``search_path`` is never inlined: PostgreSQL plans its body again at every statement that
calls it and switches the ``search_path`` at every call. Every write statement runs
several of them (each policy's ``(SELECT rw_registries(…))``, the triggers), so a write
took 0.5–4 ms of server time under the policies against 0.05–0.5 ms without them, and
``rw_registries`` grew by about 0.15 ms per registry.

Here each function is PL/pgSQL, whose statements are planned once per session (a generic
plan, forced: left to choose, PostgreSQL planned the registries' query anew at every call,
two thirds of its cost), and looks the login up once, then computes in one query what it
called other functions for: the
rank in a registry is the SQL expression :func:`rank_sql` (the rule of
:func:`registry_widget.permissions.effective_role`, written once here), the folding of
names :data:`FOLD_SQL`. Each function answers exactly what its migration-2 namesake
answered, ``NULL`` included; the role matrix of the tests checks every login, table and
command against the role table.
"""

from __future__ import annotations

__all__ = ["FOLD_SQL", "fast_functions_migration", "rank_sql"]

FOLD_SQL = "normalize(lower(normalize({}, NFC)), NFC)"
"""The key of a name (NFC, lower-cased), as ``rw_fold`` computes it; ``{}`` is the name."""

_HEAD = (
    "LANGUAGE plpgsql STABLE SECURITY DEFINER SET plan_cache_mode = force_generic_plan "
    "AS $$\n#variable_conflict use_column\n"
)


def _login_user(into: str) -> str:
    """The query of the login's user: by name first, else by key; at most one row."""
    return f"""SELECT u.name, u.key, u.role{into} FROM users u
      WHERE pg_has_role(session_user, login, 'USAGE')
        AND (u.name = login OR u.key = {FOLD_SQL.format("login")})
      ORDER BY (u.name = login) DESC, u.id LIMIT 1;"""


_ME = _login_user(" INTO me")
"""The login's user selected into the record ``me``; sets FOUND."""

_ROLE_RANK = (
    "CASE {} WHEN 'restricted_viewer' THEN 0 WHEN 'viewer' THEN 1 "
    "WHEN 'member' THEN 2 WHEN 'admin' THEN 3 END"
)


def rank_sql(visibility: str, members: str) -> str:
    """The login's rank in a registry with this visibility and members map (SQL).

    Reads the record ``me`` (name, key, role) a function selected the login into: 3 for
    an organisation admin; in a restricted registry the rank its membership gives (NULL
    without one); elsewhere the higher of its organisation role's (member 2, else 1) and
    its membership's.
    """
    role_rank = _ROLE_RANK.format("e.value #>> '{}'")
    member_rank = (
        f"(SELECT max({role_rank}) "
        f"FROM jsonb_each(CASE jsonb_typeof({members}) WHEN 'object' THEN {members} END) e "
        f"WHERE e.key = me.name OR {FOLD_SQL.format('e.key')} = me.key)"
    )
    return (
        f"CASE WHEN me.role = 'admin' THEN 3 "
        f"WHEN {visibility} = 'restricted' THEN {member_rank} "
        f"ELSE greatest(CASE me.role WHEN 'member' THEN 2 ELSE 1 END, {member_rank}) END"
    )


_CREATED_BY = "a.data ->> 'created_by'"


def _function(signature: str, body: str, declare: str = "DECLARE me record;\n") -> str:
    return f"CREATE OR REPLACE FUNCTION {signature} {_HEAD}{declare}BEGIN\n{body}\nEND $$"


_FUNCTIONS = (
    _function(
        "rw_me(login text) RETURNS TABLE (name text, key text, role text)",
        f"RETURN QUERY {_login_user('')}",
        declare="",
    ),
    _function("rw_org_role(login text) RETURNS text", f"{_ME}\nRETURN me.role;"),
    _function(
        "rw_is_me(login text, who text) RETURNS boolean",
        f"{_ME}\nRETURN coalesce(who = me.name OR {FOLD_SQL.format('who')} = me.key, false);",
    ),
    _function(
        "rw_rank(login text, visibility text, members jsonb) RETURNS integer",
        f"{_ME}\nIF NOT FOUND THEN RETURN NULL; END IF;\n"
        f"RETURN {rank_sql('visibility', 'members')};",
    ),
    _function(
        "rw_registries(login text, min_rank integer) RETURNS bigint[]",
        f"{_ME}\nIF NOT FOUND THEN RETURN '{{}}'; END IF;\n"
        "RETURN (SELECT coalesce(array_agg(r.id), '{}') FROM registries r "
        f"WHERE {rank_sql('r.visibility', 'r.members')} >= min_rank);",
    ),
    _function(
        "rw_sees_artifact(login text, art bigint) RETURNS boolean",
        f"{_ME}\nIF me.role IS NULL THEN RETURN false; END IF;\n"
        "RETURN me.role = 'admin'\n"
        "  OR NOT EXISTS (SELECT 1 FROM links WHERE artifact_id = art)\n"
        "  OR EXISTS (SELECT 1 FROM links l JOIN registries r ON r.id = l.registry_id\n"
        f"             WHERE l.artifact_id = art AND "
        f"({rank_sql('r.visibility', 'r.members')}) IS NOT NULL);",
    ),
    _function(
        "rw_may_edit_artifact(login text, art bigint) RETURNS boolean",
        f"{_ME}\nfound_me := FOUND;\n"
        "IF EXISTS (SELECT 1 FROM links WHERE artifact_id = art) THEN\n"
        "  RETURN NOT EXISTS (\n"
        "    SELECT 1 FROM links l LEFT JOIN registries r ON r.id = l.registry_id\n"
        "    WHERE l.artifact_id = art AND coalesce(CASE WHEN found_me THEN "
        f"{rank_sql('r.visibility', 'r.members')} END, -1) < 2);\n"
        "END IF;\n"
        "RETURN me.role = 'admin' OR (me.role IS NOT NULL AND EXISTS (\n"
        "  SELECT 1 FROM artifacts a WHERE a.id = art AND coalesce(\n"
        f"    a.data ->> 'created_by' = me.name "
        f"OR {FOLD_SQL.format(_CREATED_BY)} = me.key, false)));",
        declare="DECLARE me record; found_me boolean;\n",
    ),
    _function(
        "rw_hides_registry(login text, reg bigint) RETURNS boolean",
        f"{_ME}\nfound_me := FOUND;\n"
        "RETURN EXISTS (SELECT 1 FROM registries r WHERE r.id = reg AND "
        f"(CASE WHEN found_me THEN {rank_sql('r.visibility', 'r.members')} END) IS NULL);",
        declare="DECLARE me record; found_me boolean;\n",
    ),
    _function(
        "rw_collection_registry(coll bigint) RETURNS bigint",
        "RETURN (SELECT c.registry_id FROM collections c WHERE c.id = coll);",
        declare="",
    ),
    _function(
        "rw_bootstrapping(login text) RETURNS boolean",
        "RETURN pg_has_role(session_user, login, 'USAGE')\n"
        "  AND login = (SELECT pg_get_userbyid(relowner) FROM pg_class "
        "WHERE oid = 'users'::regclass)\n"
        "  AND NOT EXISTS (SELECT 1 FROM users);",
        declare="",
    ),
    _function(
        "rw_owns_store(login text) RETURNS boolean",
        "RETURN pg_has_role(session_user, login, 'USAGE')\n"
        "  AND login = (SELECT pg_get_userbyid(relowner) FROM pg_class "
        "WHERE oid = 'users'::regclass);",
        declare="",
    ),
    _function(
        "rw_linked_in(art bigint, regs bigint[]) RETURNS boolean",
        "RETURN NOT EXISTS (SELECT 1 FROM links WHERE artifact_id = art)\n"
        "  OR EXISTS (SELECT 1 FROM links WHERE artifact_id = art AND registry_id = ANY (regs));",
        declare="",
    ),
)


def fast_functions_migration(fixed_path: str) -> tuple[str, ...]:
    """Migration 6: every policy function rewritten in PL/pgSQL, then its search_path fixed.

    ``fixed_path`` is the statement that gives every ``rw_`` function its fixed
    ``search_path`` (``CREATE OR REPLACE`` drops it). The policies and triggers call the
    functions by name and are not changed.
    """
    return (*_FUNCTIONS, fixed_path)
