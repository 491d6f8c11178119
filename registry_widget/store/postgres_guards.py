"""What the rows keep whoever writes them with SQL (migration 8).

The policies of :mod:`~registry_widget.store.postgres_security` say who may write a row;
a login writing within its role could still change what no role may change. Migration 8
adds what the database keeps whatever the login:

- **Fixed fields.** ``rw_keep_fixed`` (after each row update) refuses a change to any
  field but those named as its arguments: of an artifact version, only its description
  and tags (its files, digest, metadata, name, number and creator are fixed at logging);
  of a link, only its aliases (its number is what the collection's aliases point at); of
  a collection, its description, tags, aliases, counter and time of change; of a name's
  counter, the counter; of a run, its progress (state, error, summary, end, heartbeat).
  The run that made a version is recorded once, by that run's creator.
  A counter (``next_index``) never goes back, so no number is given twice.
- **Protected aliases.** ``rw_keep_aliases`` refuses anyone but a registry admin a new
  collection that holds a protected alias, a link inserted or updated so that it gains or
  loses one, and deleting a link that holds one or that the collection's alias map names
  (migration 2 checked the collection's alias map and the link's own list on delete only).
- **Ids.** ``rw_fresh_id`` (before each insert) refuses an id the database did not just
  hand out for that row (the identity's ``currval``): a row cannot take the id of a row
  deleted before, whose history would then show, nor probe which ids exist.
- **Names.** A name is unique by its folded form (``rw_fold``) among registries, users
  and a registry's collections, whatever ``key`` the writer sends.
- **Who wrote it.** Registries, collections and links are inserted under one's own name
  (an organisation admin also under others', for ``copy_store``); a run's edges, and a
  version naming the run that made it, only by the run's creator; a run under another
  user's name only by an organisation admin; a history entry about a registry only by
  its members and admins, or about one deleted before (``rw_may_record``; so the entry of
  a change that takes one's own role away is written before the change).
- **Lookups answer only about what one sees.** ``rw_collection_registry``, which told the
  registry of any collection, is dropped; the link's policy asks ``rw_collection_of``,
  which answers only where the login writes. ``rw_hides_registry`` gives way to
  ``rw_may_record``. Two answers about ids remain, and nothing of a name or content:
  ``rw_may_record`` tells a registry id the login may not write to from one that does not
  exist (as ``rw_hides_registry`` did), and ``rw_linked_in``, which the per-row test of
  a version's visibility calls with the login's registries, whether a version id is
  linked in the registry ids it is given.
- **The notification trigger** runs with a fixed ``search_path`` and names
  ``pg_catalog.pg_notify``, so nothing made in the store's schema runs in its place.

Two things a login can still do, which no policy governs: a login that sees a row may
lock it (``SELECT … FOR UPDATE`` needs the ``UPDATE`` privilege every user holds, and
the row passing the update policy's ``USING``, which is the select rule) and hold the
lock in an open transaction, so that writers of that row wait until their lock timeout
(a server's ``idle_in_transaction_session_timeout`` ends such sessions); and any login
may ``LISTEN`` on the store's channel, which tells which tables a commit wrote (nothing
of their rows), or ``NOTIFY`` it, which makes clients drop what they cached.

Nobody but the owner of the schema and the owner of the tables may create objects in the
store's schema: anything made there could stand in for a function or operator the
policies call. :class:`~registry_widget.store.postgres.PostgresStore` refuses to open a
store whose schema lets anyone else (``PUBLIC`` included) do so.
"""

from __future__ import annotations

from collections.abc import Iterable

from registry_widget.store.postgres_security import (
    _BOOT,
    _CREATOR,
    _ORG_ADMIN,
    _ORG_WRITER,
    _USER,
    FIXED_PATH,
    _in,
    _sees,
)

__all__ = ["FIXED_FIELDS", "OTHERS_CREATE_SQL", "guards_migration"]

FIXED_FIELDS: dict[str, tuple[str, ...]] = {
    "artifacts": ("description", "tags", "run_id"),  # the run: once, see rw_keep_fixed
    "links": ("aliases",),
    "collections": ("description", "tags", "aliases", "next_index", "updated_at"),
    "artifact_names": ("next_index",),
    "runs": ("state", "error", "summary", "ended_at", "heartbeat_at"),
}
"""Per table, the only fields of a row an update may change."""

_REFUSE = "RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE ="

_KEEP_FIXED = f"""CREATE FUNCTION rw_keep_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.data - TG_ARGV) IS DISTINCT FROM (OLD.data - TG_ARGV) THEN
    {_REFUSE} 'of a row of ' || TG_TABLE_NAME || ' only '
      || array_to_string(TG_ARGV, ', ') || ' may change';
  END IF;
  IF TG_TABLE_NAME IN ('collections', 'artifact_names') THEN
    IF NEW.next_index < OLD.next_index THEN
      {_REFUSE} 'a counter of ' || TG_TABLE_NAME || ' never goes back: numbers are not reused';
    END IF;
  ELSIF TG_TABLE_NAME = 'artifacts' THEN
    IF NEW.run_id IS DISTINCT FROM OLD.run_id AND (OLD.run_id IS NOT NULL OR NOT (
        rw_org_role(current_user) = 'admin' OR EXISTS (
          SELECT 1 FROM runs r
          WHERE r.id = NEW.run_id AND rw_is_me(current_user, r.data ->> 'created_by')))) THEN
      {_REFUSE} 'the run that made a version is recorded once, by that run''s creator';
    END IF;
  END IF;
  RETURN NULL;
END $$"""

_KEEP_ALIASES = f"""CREATE FUNCTION rw_keep_aliases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  reg bigint;
  guarded text[];
  touched boolean;
BEGIN
  IF TG_OP = 'DELETE' THEN
    reg := OLD.registry_id;
  ELSE
    reg := NEW.registry_id;
  END IF;
  SELECT ARRAY(SELECT jsonb_array_elements_text(r.data -> 'protected_aliases'))
    INTO guarded FROM registries r
    WHERE r.id = reg AND jsonb_typeof(r.data -> 'protected_aliases') = 'array';
  IF guarded IS NULL OR cardinality(guarded) = 0 THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    touched := NEW.aliases ?| guarded;
  ELSIF TG_OP = 'UPDATE' THEN
    touched := EXISTS (SELECT 1 FROM unnest(guarded) p
                       WHERE (OLD.aliases ? p) IS DISTINCT FROM (NEW.aliases ? p));
  ELSE
    touched := OLD.aliases ?| guarded OR EXISTS (
      SELECT 1 FROM collections c, unnest(guarded) p
      WHERE c.id = OLD.collection_id AND c.aliases -> p = to_jsonb(OLD.number));
  END IF;
  IF touched AND NOT reg = ANY (rw_registries(current_user, 3)) THEN
    {_REFUSE} 'only registry admins set, move or remove protected aliases, or drop them by '
      || 'unlinking or deleting';
  END IF;
  RETURN NULL;
END $$"""

_FRESH_ID = f"""CREATE FUNCTION rw_fresh_id() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM currval(TG_ARGV[0]::regclass) THEN
    {_REFUSE} 'the database gives the rows of ' || TG_TABLE_NAME || ' their ids';
  END IF;
  RETURN NEW;
END $$"""

_COLLECTION_OF = """CREATE FUNCTION rw_collection_of(login text, coll bigint) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
  RETURN (SELECT c.registry_id FROM collections c
          WHERE c.id = coll AND c.registry_id = ANY (rw_registries(login, 2)));
END $$"""

_MAY_RECORD = """CREATE FUNCTION rw_may_record(login text, reg bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
  RETURN reg = ANY (rw_registries(login, 2))
    OR NOT EXISTS (SELECT 1 FROM registries r WHERE r.id = reg);
END $$"""

_NOTIFY = """CREATE OR REPLACE FUNCTION notify_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pg_catalog.pg_notify(TG_TABLE_SCHEMA::text, TG_TABLE_NAME::text);
  RETURN NULL;
END $$"""


def _fresh_id_triggers(tables: Iterable[str]) -> str:
    """The triggers of ``rw_fresh_id`` on ``tables``, each told its identity's sequence."""
    names = ", ".join(f"'{table}'" for table in tables)
    return f"""DO $$ DECLARE t text; BEGIN
  FOREACH t IN ARRAY ARRAY[{names}] LOOP
    EXECUTE 'CREATE TRIGGER rw_fresh_id BEFORE INSERT ON ' || quote_ident(t)
      || ' FOR EACH ROW EXECUTE FUNCTION rw_fresh_id('
      || quote_literal(pg_get_serial_sequence(quote_ident(t), 'id')) || ')';
  END LOOP;
END $$"""


def _runs_mine(column: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM runs r WHERE r.id = {column} "
        "AND rw_is_me(current_user, r.data ->> 'created_by'))"
    )


_INSERT_CHECKS = {
    "registries": (
        f"({_ORG_WRITER} AND kind = 'custom' AND ({_CREATOR} OR {_ORG_ADMIN})) "
        f"OR ({_BOOT} AND kind = 'core')"
    ),
    "collections": f"{_in(2)} AND ({_CREATOR} OR {_ORG_ADMIN})",
    "links": (
        f"{_in(2)} AND ({_CREATOR} OR {_ORG_ADMIN}) "
        "AND rw_collection_of(current_user, collection_id) = registry_id "
        f"AND {_sees('artifact_id')}"
    ),
    "artifacts": (
        f"{_ORG_WRITER} AND ({_CREATOR} OR {_ORG_ADMIN}) "
        f"AND (artifacts.run_id IS NULL OR {_ORG_ADMIN} OR {_runs_mine('artifacts.run_id')})"
    ),
    "history": (
        f"({_USER} OR {_BOOT}) AND ({_ORG_ADMIN} OR rw_is_me(current_user, actor)) "
        f"AND (registry_id IS NULL OR {_in(2)} "
        "OR rw_may_record(current_user, registry_id)) "
        f"AND (artifact_id IS NULL OR {_sees('artifact_id')})"
    ),
    "runs": f"{_ORG_WRITER} AND ({_CREATOR} OR {_ORG_ADMIN})",
    "run_edges": (
        f"{_ORG_WRITER} AND {_sees('artifact_id')} "
        f"AND ({_ORG_ADMIN} OR {_runs_mine('run_edges.run_id')})"
    ),
}
"""The ``WITH CHECK`` of each insert policy that migration 8 changes."""

OTHERS_CREATE_SQL = """SELECT coalesce(array_agg(who ORDER BY who), '{}') FROM (
  SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                  ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who
  FROM pg_namespace n,
       aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
  WHERE n.nspname = current_schema() AND a.privilege_type = 'CREATE'
    AND a.grantee <> n.nspowner
    AND a.grantee <> coalesce(
      (SELECT c.relowner FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'users'),
      (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user))
) others"""
"""The roles other than the schema's owner and the tables' owner (the login about to
create them, while there are none) that may create objects in the store's schema,
``PUBLIC`` for every login; an empty array when there is none."""


def guards_migration(tables: Iterable[str]) -> tuple[str, ...]:
    """Migration 8 on the store's ``tables``: the statements of the guards described above."""
    fixed = [
        f"CREATE TRIGGER rw_keep_fixed AFTER UPDATE ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION rw_keep_fixed({', '.join(repr(f) for f in fields)})"
        for table, fields in FIXED_FIELDS.items()
    ]
    policies = [
        f"ALTER POLICY rw_insert ON {table} WITH CHECK ({check})"
        for table, check in _INSERT_CHECKS.items()
    ]
    return (
        _NOTIFY,
        _KEEP_FIXED,
        *fixed,
        _KEEP_ALIASES,
        "DROP TRIGGER rw_keep_rules ON links",
        "CREATE TRIGGER rw_keep_aliases AFTER INSERT OR UPDATE OR DELETE ON links "
        "FOR EACH ROW EXECUTE FUNCTION rw_keep_aliases()",
        "CREATE TRIGGER rw_keep_aliases AFTER INSERT ON collections "
        "FOR EACH ROW EXECUTE FUNCTION rw_keep_aliases()",
        _FRESH_ID,
        _COLLECTION_OF,
        _MAY_RECORD,
        FIXED_PATH,
        _fresh_id_triggers(tables),
        *policies,
        "DROP FUNCTION rw_collection_registry(bigint)",
        "DROP FUNCTION rw_hides_registry(text, bigint)",
        "CREATE UNIQUE INDEX registries_folded_name ON registries (rw_fold(name))",
        "CREATE UNIQUE INDEX users_folded_name ON users (rw_fold(name))",
        "CREATE UNIQUE INDEX collections_folded_name ON collections (registry_id, rw_fold(name))",
    )
