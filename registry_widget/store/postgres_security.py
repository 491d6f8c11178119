"""The PostgreSQL store's security: row-level security derived from the roles of SPEC §3.

One migration turns on ``ENABLE`` and ``FORCE ROW LEVEL SECURITY`` on every table (the
owner, the first organisation admin, is held to the policies too) and gives each table a
policy per command. A command without a policy is refused to everyone: nobody updates or
deletes history, nobody changes ``meta``, ``settings`` or ``schema_version`` once written.

Who the acting user is, and what role they hold, is answered by ``STABLE SECURITY
DEFINER`` functions with a fixed ``search_path`` (so a policy reading ``users`` or
``registries`` does not recurse into their own policies, and no schema put first in a
caller's path can stand in for the store's tables). Policies pass ``current_user``; a
function answers only for a login the session may act as (``pg_has_role(session_user,
login, 'USAGE')``), so nobody can ask what another login may see. A login is the user
whose name it is, or else whose key (NFC, lower-cased) it has.

- ``rw_org_role(login)``: the organisation role, NULL for a login that is not a user.
- ``rw_rank(login, visibility, members)``: the effective role on a registry with that
  visibility and members map, as a rank (0 restricted_viewer … 3 admin), NULL when the
  registry is invisible to the login — :func:`registry_widget.permissions.effective_role`.
- ``rw_registries(login, rank)``: the ids of the registries where the login has at least
  that rank (policies call it once per statement, as ``(SELECT …)``).
- ``rw_sees_artifact(login, id)``: a version linked nowhere is the organisation's; one
  linked somewhere is visible where one of its registries is (the policies of migration 2;
  those of migration 5 test the same with ``rw_linked_in``).
- ``rw_linked_in(id, registries)``: whether a version is linked nowhere or in one of
  those registries (migration 5; the policies pass the login's visible registries, so
  only this runs per row).
- ``rw_may_edit_artifact(login, id)``: ``member`` in every registry it is linked
  into, or, while linked nowhere, its creator or an organisation admin.
- ``rw_is_me(login, name)``: whether a user name (creator, history actor) is the login's.
- ``rw_hides_registry(login, id)``: whether registry ``id`` exists and is invisible to
  the login.
- ``rw_bootstrapping(login)``: the owner of the tables while ``users`` is still empty
  (the first open creates the core registries, then its user).

Migration 6 rewrote every one of them in PL/pgSQL with the same answers
(:mod:`registry_widget.store.postgres_functions`): the SQL versions here were planned
again at every statement, and a write paid milliseconds for them.
Migration 7 (:func:`definer_migration`) writes the owner's oid and the functions' fixed
``search_path`` into the test by which each ``SELECT`` policy lets a function's own reads
through; it looked both up in the catalog at every statement.

Triggers keep what a policy cannot compare, the row before with the row after:
``rw_keep_place`` keeps a collection's registry and a link's registry, collection and
version (no row moves into another registry by pointing its ``registry_id`` elsewhere; a
link's registry must be its collection's, checked on insert); ``rw_keep_rules`` keeps a
core registry's name, description and visibility, every registry's kind, a restricted
registry restricted, and protected aliases to registry admins (set, moved or removed in a
collection's alias map, or dropped by deleting the link or collection holding one).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "FIXED_PATH",
    "POLICIES",
    "definer_migration",
    "security_migration",
    "visibility_migration",
]

_FUNCTION = "LANGUAGE sql STABLE SECURITY DEFINER"

# Every rw_ function then keeps the search_path: the catalog, the store's schema, pg_temp
# last, so that nothing a login creates in a schema can stand in for a built-in.
FIXED_PATH = """DO $$ DECLARE f regprocedure; BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
           WHERE p.pronamespace = current_schema()::regnamespace
             AND starts_with(p.proname, 'rw_')
  LOOP
    EXECUTE 'ALTER FUNCTION ' || f::text || ' SET search_path = pg_catalog, '
            || quote_ident(current_schema()) || ', pg_temp';
  END LOOP;
END $$"""

_FUNCTIONS = (
    "CREATE FUNCTION rw_fold(name text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS $$ SELECT normalize(lower(normalize(name, NFC)), NFC) $$",
    f"""CREATE FUNCTION rw_me(login text) RETURNS TABLE (name text, key text, role text)
    {_FUNCTION} AS $$
    SELECT u.name, u.key, u.role FROM users u
    WHERE pg_has_role(session_user, login, 'USAGE')
      AND (u.name = login OR u.key = rw_fold(login))
    ORDER BY (u.name = login) DESC, u.id LIMIT 1 $$""",
    f"""CREATE FUNCTION rw_org_role(login text) RETURNS text {_FUNCTION} AS $$
    SELECT role FROM rw_me(login) $$""",
    f"""CREATE FUNCTION rw_is_me(login text, who text) RETURNS boolean {_FUNCTION} AS $$
    SELECT coalesce((SELECT who = me.name OR rw_fold(who) = me.key FROM rw_me(login) me), false)
    $$""",
    f"""CREATE FUNCTION rw_rank(login text, visibility text, members jsonb) RETURNS integer
    {_FUNCTION} AS $$
    SELECT CASE
      WHEN me.role = 'admin' THEN 3
      WHEN visibility = 'restricted' THEN m.rank
      ELSE greatest(CASE me.role WHEN 'member' THEN 2 ELSE 1 END, m.rank)
    END
    FROM rw_me(login) me, LATERAL (
      SELECT max(CASE e.value #>> '{{}}' WHEN 'restricted_viewer' THEN 0 WHEN 'viewer' THEN 1
                 WHEN 'member' THEN 2 WHEN 'admin' THEN 3 END) AS rank
      FROM jsonb_each(CASE jsonb_typeof(members) WHEN 'object' THEN members END) e
      WHERE e.key = me.name OR rw_fold(e.key) = me.key
    ) m $$""",
    f"""CREATE FUNCTION rw_registries(login text, min_rank integer) RETURNS bigint[]
    {_FUNCTION} AS $$
    SELECT coalesce(array_agg(id), '{{}}') FROM registries
    WHERE rw_rank(login, visibility, members) >= min_rank $$""",
    f"""CREATE FUNCTION rw_sees_artifact(login text, art bigint) RETURNS boolean
    {_FUNCTION} AS $$
    SELECT rw_org_role(login) IS NOT NULL AND (
      rw_org_role(login) = 'admin'
      OR NOT EXISTS (SELECT 1 FROM links WHERE artifact_id = art)
      OR EXISTS (SELECT 1 FROM links l JOIN registries r ON r.id = l.registry_id
                 WHERE l.artifact_id = art
                   AND rw_rank(login, r.visibility, r.members) IS NOT NULL)) $$""",
    f"""CREATE FUNCTION rw_may_edit_artifact(login text, art bigint)
    RETURNS boolean {_FUNCTION} AS $$
    SELECT CASE WHEN EXISTS (SELECT 1 FROM links WHERE artifact_id = art)
      THEN NOT EXISTS (
        SELECT 1 FROM links l LEFT JOIN registries r ON r.id = l.registry_id
        WHERE l.artifact_id = art
          AND coalesce(rw_rank(login, r.visibility, r.members), -1) < 2)
      ELSE rw_org_role(login) = 'admin'
        OR (rw_org_role(login) IS NOT NULL AND EXISTS (
          SELECT 1 FROM artifacts WHERE id = art AND rw_is_me(login, data ->> 'created_by')))
    END $$""",
    f"""CREATE FUNCTION rw_hides_registry(login text, reg bigint) RETURNS boolean
    {_FUNCTION} AS $$
    SELECT EXISTS (SELECT 1 FROM registries
                   WHERE id = reg AND rw_rank(login, visibility, members) IS NULL) $$""",
    f"""CREATE FUNCTION rw_collection_registry(coll bigint) RETURNS bigint {_FUNCTION} AS $$
    SELECT registry_id FROM collections WHERE id = coll $$""",
    f"""CREATE FUNCTION rw_bootstrapping(login text) RETURNS boolean {_FUNCTION} AS $$
    SELECT pg_has_role(session_user, login, 'USAGE')
      AND login = (SELECT pg_get_userbyid(relowner) FROM pg_class
                   WHERE oid = 'users'::regclass)
      AND NOT EXISTS (SELECT 1 FROM users) $$""",
    f"""CREATE FUNCTION rw_owns_store(login text) RETURNS boolean {_FUNCTION} AS $$
    SELECT pg_has_role(session_user, login, 'USAGE')
      AND login = (SELECT pg_get_userbyid(relowner) FROM pg_class
                   WHERE oid = 'users'::regclass) $$""",
    """CREATE FUNCTION rw_keep_place() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.registry_id IS DISTINCT FROM OLD.registry_id THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
          MESSAGE = 'a row of ' || TG_TABLE_NAME || ' cannot move to another registry';
      END IF;
      IF TG_TABLE_NAME = 'links' THEN
        IF NEW.collection_id IS DISTINCT FROM OLD.collection_id
            OR NEW.artifact_id IS DISTINCT FROM OLD.artifact_id THEN
          RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = 'a link cannot move to another collection or version';
        END IF;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE FUNCTION rw_keep_rules() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      was record := OLD;
      guarded jsonb;
      kept jsonb;
    BEGIN
      IF TG_TABLE_NAME = 'registries' THEN
        IF NEW.kind IS DISTINCT FROM OLD.kind
            OR (OLD.visibility = 'restricted' AND NEW.visibility IS DISTINCT FROM OLD.visibility)
            OR (OLD.kind = 'core' AND (NEW.name IS DISTINCT FROM OLD.name
                OR NEW.visibility IS DISTINCT FROM OLD.visibility
                OR NEW.data -> 'description' IS DISTINCT FROM OLD.data -> 'description')) THEN
          RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
            'a core registry keeps its name, description and visibility, a registry its '
            || 'kind, and a restricted registry stays restricted';
        END IF;
        RETURN NULL;
      END IF;
      IF was.registry_id = ANY (rw_registries(current_user, 3)) THEN
        RETURN NULL;  -- registry admins may set, move and drop protected aliases
      END IF;
      IF TG_OP = 'UPDATE' THEN
        kept := NEW.aliases;
      END IF;
      SELECT coalesce(data -> 'protected_aliases', '[]') INTO guarded
        FROM registries WHERE id = was.registry_id;
      IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(guarded, '[]')) p
                 WHERE CASE WHEN TG_OP = 'DELETE' THEN was.aliases ? p
                       ELSE (was.aliases -> p) IS DISTINCT FROM (kept -> p) END) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
          'only registry admins set, move or remove protected aliases, or drop them by '
          || 'unlinking or deleting';
      END IF;
      RETURN NULL;
    END $$""",
    "CREATE TRIGGER rw_keep_rules AFTER UPDATE ON registries "
    "FOR EACH ROW EXECUTE FUNCTION rw_keep_rules()",
    "CREATE TRIGGER rw_keep_rules AFTER UPDATE OR DELETE ON collections "
    "FOR EACH ROW EXECUTE FUNCTION rw_keep_rules()",
    "CREATE TRIGGER rw_keep_rules AFTER DELETE ON links "
    "FOR EACH ROW EXECUTE FUNCTION rw_keep_rules()",
    "CREATE TRIGGER rw_keep_place AFTER UPDATE ON collections "
    "FOR EACH ROW EXECUTE FUNCTION rw_keep_place()",
    "CREATE TRIGGER rw_keep_place AFTER UPDATE ON links "
    "FOR EACH ROW EXECUTE FUNCTION rw_keep_place()",
)

# Migration 5: the per-row half of "sees the version", with no user lookups. The policy
# computes the login's part once per statement (its organisation role, the registries it
# sees) and passes the registries in; a link in a registry hidden from the login still
# counts as a link (the function reads ``links`` past their policy, as the owner).
_LINKED_IN = f"""CREATE FUNCTION rw_linked_in(art bigint, regs bigint[]) RETURNS boolean
    {_FUNCTION} AS $$
    SELECT NOT EXISTS (SELECT 1 FROM links WHERE artifact_id = art)
      OR EXISTS (SELECT 1 FROM links WHERE artifact_id = art AND registry_id = ANY (regs)) $$"""

# Fragments of the policies: each ``(SELECT …)`` runs once per statement.
_USER = "(SELECT rw_org_role(current_user)) IS NOT NULL"
_ORG_ADMIN = "(SELECT rw_org_role(current_user)) = 'admin'"
_ORG_WRITER = "(SELECT rw_org_role(current_user)) IN ('admin', 'member')"
_BOOT = "(SELECT rw_bootstrapping(current_user))"
_OWNER = "(SELECT rw_owns_store(current_user))"


def _in(rank: int) -> str:
    return f"registry_id = ANY ((SELECT rw_registries(current_user, {rank}))::bigint[])"


_CREATOR = "rw_is_me(current_user, data ->> 'created_by')"
_SEES_REGISTRY = "rw_rank(current_user, visibility, members) IS NOT NULL"
_NAMES_LOGIN = "(name = current_user OR rw_fold(name) = rw_fold(current_user))"


def _sees(column: str) -> str:
    """Whether the login sees the version ``column`` names: ``rw_sees_artifact``'s meaning.

    A user sees it as organisation admin, or while it is linked nowhere, or where one of
    its registries is visible to them; only ``rw_linked_in`` runs per row.
    """
    visible = "(SELECT rw_registries(current_user, 0))::bigint[]"
    return f"({_USER} AND ({_ORG_ADMIN} OR rw_linked_in({column}, {visible})))"


def _policies_of(sees: Callable[[str], str]) -> dict[str, dict[str, str | None]]:
    """Each table's policy per command, with ``sees`` for "the login sees that version"."""
    link_place = f"rw_collection_registry(collection_id) = registry_id AND {sees('artifact_id')}"
    return {
        # table: {command: USING (select, delete) or WITH CHECK (insert, update)}
        "meta": {"select": "true", "insert": _BOOT, "update": None, "delete": None},
        "settings": {
            "select": "true",
            "insert": f"{_OWNER} OR {_ORG_ADMIN}",
            "update": None,
            "delete": None,
        },
        "schema_version": {"select": "true", "insert": _OWNER, "update": None, "delete": None},
        "users": {
            # Every user sees the organisation; a login that is not a user sees only whom to ask.
            "select": f"{_USER} OR role = 'admin'",
            "insert": f"{_ORG_ADMIN} OR ({_BOOT} AND role = 'admin' AND {_NAMES_LOGIN})",
            "update": _ORG_ADMIN,
            "delete": _ORG_ADMIN,
        },
        "registries": {
            "select": f"{_SEES_REGISTRY} OR {_BOOT}",
            "insert": f"({_ORG_WRITER} AND kind = 'custom') OR ({_BOOT} AND kind = 'core')",
            # Checked against the registry as it stood: an admin may step down.
            "update": "id = ANY ((SELECT rw_registries(current_user, 3))::bigint[])",
            "delete": "rw_rank(current_user, visibility, members) >= 3 AND kind = 'custom'",
        },
        "collections": {
            "select": _in(0),
            "insert": _in(2),
            "update": _in(2),
            "delete": _in(2),
        },
        "links": {
            "select": _in(0),
            "insert": f"{_in(2)} AND {link_place}",
            "update": _in(2),
            "delete": _in(2),
        },
        "artifact_names": {
            "select": _USER,
            "insert": _ORG_WRITER,
            "update": _ORG_WRITER,
            "delete": _ORG_ADMIN,
        },
        "artifacts": {
            "select": sees("id"),
            # As its creator; an organisation admin also as whoever made it elsewhere (copy_store).
            "insert": f"{_ORG_WRITER} AND ({_CREATOR} OR {_ORG_ADMIN})",
            "update": "rw_may_edit_artifact(current_user, id)",
            "delete": f"{_ORG_ADMIN} OR ({_ORG_WRITER} AND {_CREATOR})",
        },
        "history": {
            # One's own entries, and those about registries and versions one may see.
            "select": (
                f"{_USER} AND ({_ORG_ADMIN} OR rw_is_me(current_user, actor) OR ("
                f"(registry_id IS NULL OR {_in(0)}) AND "
                f"(artifact_id IS NULL OR {sees('artifact_id')})))"
            ),
            # Under one's own name, about what one may see (or what was deleted just before);
            # an organisation admin also under the names of a store copied in (copy_store).
            "insert": (
                f"({_USER} OR {_BOOT}) AND ({_ORG_ADMIN} OR rw_is_me(current_user, actor)) "
                "AND NOT rw_hides_registry(current_user, registry_id) "
                f"AND (artifact_id IS NULL OR {sees('artifact_id')})"
            ),
            "update": None,
            "delete": None,
        },
        "runs": {
            # A run shows its own name and config to the organisation; its edges are filtered.
            "select": _USER,
            # Under one's own name, or a run recorded elsewhere (an importer's, with an origin).
            "insert": f"{_ORG_WRITER} AND ({_CREATOR} OR {_ORG_ADMIN} OR origin IS NOT NULL)",
            "update": f"{_CREATOR} OR {_ORG_ADMIN}",
            "delete": None,
        },
        "run_edges": {
            "select": f"{_USER} AND {sees('artifact_id')}",
            "insert": f"{_ORG_WRITER} AND {sees('artifact_id')}",
            "update": None,
            "delete": None,
        },
    }


# Migration 2 as released: every per-row test of a version called rw_sees_artifact.
_POLICIES_2 = _policies_of(lambda column: f"rw_sees_artifact(current_user, {column})")

POLICIES: dict[str, dict[str, str | None]] = _policies_of(_sees)
"""Each table's policy per command (None: no policy, so refused to every login)."""


def _definer(table: str) -> str:
    """The functions' own reads: by the owner, inside a function (its fixed search_path).

    The owner is held to the policies too (FORCE), so without this a function reading a
    table would meet that table's policy again, which calls the function. Only the owner
    passes here — who may turn the policies off anyway.
    """
    of = (
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.oid = '{table}'::regclass"
    )
    return (
        f"(current_user = (SELECT pg_get_userbyid(c.relowner) {of}) AND "
        "current_setting('search_path') = "
        f"(SELECT 'pg_catalog, ' || quote_ident(n.nspname) || ', pg_temp' {of}))"
    )


def _clauses(policies: dict[str, dict[str, str | None]], table: str, command: str) -> str | None:
    """The ``USING`` / ``WITH CHECK`` clauses of a table's policy for a command."""
    commands = policies[table]
    rule = commands[command]
    if rule is None:
        return None
    if command == "select":
        return f"USING ({_definer(table)} OR ({rule}))"
    if command == "insert":
        return f"WITH CHECK ({rule})"
    if command == "update":
        # USING: the rows one sees (SELECT … FOR UPDATE needs it too); the rule is the
        # check of the new row, refused with an error rather than skipped.
        return f"USING ({commands['select']}) WITH CHECK ({rule})"
    return f"USING ({rule})"


def _policies(policies: dict[str, dict[str, str | None]]) -> list[str]:
    statements: list[str] = []
    for table, commands in policies.items():
        statements.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        statements.append(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for command in commands:
            clauses = _clauses(policies, table, command)
            if clauses is not None:
                head = f"CREATE POLICY rw_{command} ON {table} FOR {command.upper()} TO PUBLIC"
                statements.append(f"{head} {clauses}")
    return statements


def security_migration() -> tuple[str, ...]:
    """The statements of the migration that turns row-level security on (migration 2)."""
    return (*_FUNCTIONS, FIXED_PATH, *_policies(_POLICIES_2))


def definer_migration() -> tuple[str, ...]:
    """Migration 7: the owner's reads inside a function recognised without a catalog query.

    The ``SELECT`` policies of migrations 2 and 5 looked the table's owner and schema up
    in ``pg_class`` and ``pg_namespace`` (:func:`_definer`): two joined subqueries that
    PostgreSQL sets up at every statement on the table, the policy functions' own reads
    included, whether or not it runs them; a write paid about a quarter of its server
    time for them. The migration writes the owner's oid and the fixed ``search_path`` into
    each policy instead. Who passes is unchanged: the table's owner, inside a function
    (its fixed ``search_path``). The oid stays the owner's if the login is renamed.
    """
    rows = []
    for table, commands in POLICIES.items():
        rule = commands["select"]
        if rule is None:
            continue
        if "$rule$" in rule:  # pragma: no cover - the rules are fixed fragments
            msg = f"the select policy of {table} cannot be quoted"
            raise ValueError(msg)
        rows.append(f"('{table}', $rule${rule}$rule$)")
    # No format(): the statement is sent with parameters, so it holds no percent sign.
    return (
        f"""DO $$ DECLARE t record; place text; BEGIN
  FOR t IN SELECT * FROM (VALUES {", ".join(rows)}) AS v(name, rule) LOOP
    place := '(current_user = (SELECT pg_get_userbyid('
      || (SELECT c.relowner FROM pg_class c WHERE c.oid = t.name::regclass)
      || '::oid)) AND current_setting(''search_path'') = '
      || quote_literal('pg_catalog, ' || quote_ident(current_schema()) || ', pg_temp') || ')';
    EXECUTE 'ALTER POLICY rw_select ON ' || quote_ident(t.name)
      || ' USING (' || place || ' OR (' || t.rule || '))';
  END LOOP;
END $$""",
    )


def visibility_migration() -> tuple[str, ...]:
    """Migration 5: the policies that tested a version per row with ``rw_sees_artifact``.

    That function looks the login up (its organisation role, twice, and its rank in each
    registry the version is linked into) for every row. The policies now compute the
    login's part once per statement and call ``rw_linked_in`` per row; what each login
    may see and write is unchanged.
    """
    altered = []
    for table, commands in POLICIES.items():
        for command in commands:
            clauses = _clauses(POLICIES, table, command)
            if clauses is not None and clauses != _clauses(_POLICIES_2, table, command):
                altered.append(f"ALTER POLICY rw_{command} ON {table} {clauses}")
    return (_LINKED_IN, FIXED_PATH, *altered)
