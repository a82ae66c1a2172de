"""The hub's schema on PostgreSQL, as numbered migrations (like the local store's: each step in
one transaction, recorded in `hub_migrations`, never edited once released), and its roles:

- one login role per room (`<database>_room_<name>`), a member of `<database>_rooms`, which
  may INSERT only rows of its own room (row-level security) and read them back; sessions it
  may also UPDATE (a session moves planned -> running -> ended), timeline rows never;
- one read-only login role for the room board (`<database>_board`).

Roles are named after the database, so one PostgreSQL server can hold several hubs (and the
tests a database each)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kapsession.hub.connection import HubError

if TYPE_CHECKING:
    import psycopg

ROOM_NAME = re.compile(r"[a-z][a-z0-9_]{0,23}")

# Timeline rows never change once on the hub, whoever asks (the owner included).
_APPEND_ONLY = """
CREATE FUNCTION hub_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'rows of % on the clinic hub are append-only', TG_TABLE_NAME; END $$;
"""

STEPS: list[tuple[str, str]] = [
    (
        "h001_rooms_sessions_events",
        _APPEND_ONLY
        + """
CREATE TABLE rooms (
    name text PRIMARY KEY,
    login name NOT NULL UNIQUE
);
-- The room of the login that is connected (rooms' logins are never the table's owner).
CREATE FUNCTION hub_room() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public AS $$ SELECT name FROM rooms WHERE login = session_user $$;

CREATE TABLE clients (
    gid text PRIMARY KEY,
    room text NOT NULL REFERENCES rooms(name),
    folder text NOT NULL,
    local_id bigint NOT NULL,
    code text NOT NULL,
    rehearsal boolean NOT NULL,
    created_at text NOT NULL,
    digest bytea NOT NULL,
    pushed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sessions (
    gid text PRIMARY KEY,
    room text NOT NULL REFERENCES rooms(name),
    folder text NOT NULL,
    local_id bigint NOT NULL,
    client_gid text NOT NULL REFERENCES clients(gid),
    protocol text NOT NULL,
    route text NOT NULL,
    dose_mg double precision NOT NULL,
    planned_minutes integer NOT NULL,
    rehearsal boolean NOT NULL,
    time_scale double precision NOT NULL,
    clock_origin text,
    state text NOT NULL CHECK (state IN ('planned', 'running', 'ended')),
    created_at text NOT NULL,
    dose_at text,
    dose_tz text,
    ended_at text,
    ended_t double precision,
    arc text,
    sealed bytea NOT NULL,       -- the intention (preparation text), sealed
    digest bytea NOT NULL,
    pushed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_room ON sessions(room, local_id);
CREATE TABLE events (
    gid text PRIMARY KEY,
    room text NOT NULL REFERENCES rooms(name),
    folder text NOT NULL,
    local_seq bigint NOT NULL,
    session_gid text NOT NULL REFERENCES sessions(gid),
    kind text NOT NULL,
    at text NOT NULL,
    tz text NOT NULL,
    t double precision,
    author_role text,
    amends bigint,
    board jsonb NOT NULL DEFAULT '{}',  -- what the room board shows; never free text
    sealed bytea NOT NULL,              -- author, reason and data, sealed
    digest bytea NOT NULL,
    pushed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_session ON events(session_gid, local_seq);
CREATE INDEX events_folder ON events(folder, local_seq);
CREATE INDEX clients_folder ON clients(folder, local_id);
CREATE INDEX sessions_folder ON sessions(folder, local_id);
CREATE TRIGGER clients_append_only BEFORE UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION hub_append_only();
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION hub_append_only();
CREATE FUNCTION hub_session_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.room IS DISTINCT FROM OLD.room OR NEW.folder IS DISTINCT FROM OLD.folder
       OR NEW.local_id IS DISTINCT FROM OLD.local_id
       OR NEW.client_gid IS DISTINCT FROM OLD.client_gid THEN
        RAISE EXCEPTION 'a session on the clinic hub keeps its room, folder and client';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sessions_fixed BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION hub_session_fixed();
CREATE TRIGGER sessions_kept BEFORE DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION hub_append_only();

ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
""",
    ),
    (
        "h002_board_notify_and_room_sync",
        """
-- When each room last finished a sync round (its worker calls hub_room_synced() at the end of
-- every round, whether or not it had anything to send): the board's "offline since".
CREATE TABLE room_sync (
    room text PRIMARY KEY REFERENCES rooms(name),
    synced_at timestamptz NOT NULL
);
-- The board hears of every new row (and every session that moves on) at once: the payload is
-- the room's name only, never anything of the row. Statement-level, so a batch of 500 entries
-- is one notification per room (and PostgreSQL folds equal payloads of one transaction).
CREATE FUNCTION hub_notify_board() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    FOR r IN SELECT DISTINCT room FROM changed LOOP
        PERFORM pg_notify('kapsession_board', r);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_board();
CREATE TRIGGER sessions_notify_insert AFTER INSERT ON sessions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_board();
CREATE TRIGGER sessions_notify_update AFTER UPDATE ON sessions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION hub_notify_board();
-- A room's own sync time, set only through this (rooms have no grant on the table); a room
-- heard again after a silence tells the board at once.
CREATE FUNCTION hub_room_synced() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public AS $$
DECLARE r text := hub_room(); before timestamptz;
BEGIN
    IF r IS NULL THEN RETURN; END IF;
    SELECT synced_at INTO before FROM room_sync WHERE room = r;
    INSERT INTO room_sync (room, synced_at) VALUES (r, now())
        ON CONFLICT (room) DO UPDATE SET synced_at = excluded.synced_at;
    IF before IS NULL OR before < now() - interval '20 seconds' THEN
        PERFORM pg_notify('kapsession_board', r);
    END IF;
END $$;
REVOKE EXECUTE ON FUNCTION hub_room_synced() FROM PUBLIC;
""",
    ),
]

# The notification channel the board listens on (payload: a room's name).
BOARD_CHANNEL = "kapsession_board"
ROOM_SYNCED_STEP = "h002_board_notify_and_room_sync"


@dataclass(frozen=True)
class Roles:
    rooms: str  # the group every room's login belongs to
    board: str
    database: str

    def room(self, name: str) -> str:
        return f"{self.rooms[:-1]}_{name}"  # <db>_rooms -> <db>_room_<name>


def roles_of(conn: psycopg.Connection[Any]) -> Roles:
    row = conn.execute("SELECT current_database()").fetchone()
    db = str(row[0]) if row else "kapsession"
    return Roles(rooms=f"{db}_rooms", board=f"{db}_board", database=db)


def check_room_name(name: str) -> str:
    if not ROOM_NAME.fullmatch(name):
        raise HubError(
            f"A room name is 1-24 lower-case letters, digits or '_', starting with a letter "
            f"(not {name!r})."
        )
    return name


def applied(conn: psycopg.Connection[Any]) -> list[str]:
    found = conn.execute("SELECT to_regclass('public.hub_migrations') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return []
    return [
        str(r[0]) for r in conn.execute("SELECT name FROM hub_migrations ORDER BY applied_at, name")
    ]


def check_level(conn: psycopg.Connection[Any]) -> list[str]:
    """A hub with a schema this kapsession does not know is left alone, with one line; returns
    the steps the hub has."""
    names = applied(conn)
    known = {name for name, _ in STEPS}
    newer = [n for n in names if n not in known]
    if newer:
        raise HubError(
            f"The clinic hub's schema is newer than this kapsession ({len(newer)} change(s) it "
            "does not know); nothing was sent. Update kapsession on this laptop.",
            "schema",
        )
    if not names:
        raise HubError("The clinic hub has no kapsession schema yet: run `kapsession hub init`.")
    return names


@dataclass(frozen=True)
class InitResult:
    created: bool  # a new hub (schema made now)
    migrated: list[str]
    rooms_added: dict[str, str]  # room -> its login's password (shown once)
    board_password: str | None
    roles: Roles


def init(conn: psycopg.Connection[Any], rooms: Sequence[str]) -> InitResult:
    """Apply every pending migration, create the roles and any new room; one transaction."""
    from psycopg import sql

    for name in rooms:
        check_room_name(name)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(20261216)")  # two inits at once: one waits
        done = applied(conn)
        known = {name for name, _ in STEPS}
        if [n for n in done if n not in known]:
            check_level(conn)
        created = not done
        if created:
            conn.execute(
                "CREATE TABLE hub_migrations (name text PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
        migrated = []
        for name, script in STEPS:
            if name in done:
                continue
            conn.execute(script)  # our own literal SQL
            conn.execute("INSERT INTO hub_migrations (name) VALUES (%s)", [name])
            migrated.append(name)
        roles = roles_of(conn)
        board_password = None
        if created:
            board_password = _new_password()
            for stmt in _role_sql(roles, board_password):
                conn.execute(stmt)
        for stmt in _grant_sql(roles, applied(conn)):
            conn.execute(stmt)
        existing = {str(r[0]) for r in conn.execute("SELECT name FROM rooms")}
        added = {}
        for name in rooms:
            if name in existing or name in added:
                continue
            password = _new_password()
            login = roles.room(name)
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                    sql.Identifier(login), sql.Literal(password), sql.Identifier(roles.rooms)
                )
            )
            conn.execute("INSERT INTO rooms (name, login) VALUES (%s, %s)", [name, login])
            added[name] = password
    return InitResult(created, migrated, added, board_password, roles)


def _role_sql(roles: Roles, board_password: str) -> list[Any]:
    from psycopg import sql

    rooms, board = sql.Identifier(roles.rooms), sql.Identifier(roles.board)
    # A sub-select: evaluated once per statement (an InitPlan), not once per row.
    own = sql.SQL("room = (SELECT hub_room())")
    out: list[Any] = [
        sql.SQL("CREATE ROLE {} NOLOGIN").format(rooms),
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(board, sql.Literal(board_password)),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC"),
        # packaging/hub-server.sh takes CONNECT from PUBLIC: the hub's logins get it here.
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
            sql.Identifier(roles.database), rooms, board
        ),
        sql.SQL("REVOKE EXECUTE ON FUNCTION hub_room() FROM PUBLIC"),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}, {}").format(rooms, board),
        sql.SQL("GRANT EXECUTE ON FUNCTION hub_room() TO {}").format(rooms),
        sql.SQL("GRANT SELECT ON rooms, hub_migrations TO {}, {}").format(rooms, board),
        sql.SQL("GRANT SELECT, INSERT ON clients, events TO {}").format(rooms),
        sql.SQL("GRANT SELECT, INSERT, UPDATE ON sessions TO {}").format(rooms),
        sql.SQL("GRANT SELECT ON clients, sessions, events TO {}").format(board),
    ]
    for table in ("clients", "sessions", "events"):
        t = sql.Identifier(table)
        out += [
            sql.SQL("CREATE POLICY room_reads ON {} FOR SELECT TO {} USING ({})").format(
                t, rooms, own
            ),
            sql.SQL("CREATE POLICY room_inserts ON {} FOR INSERT TO {} WITH CHECK ({})").format(
                t, rooms, own
            ),
            sql.SQL("CREATE POLICY board_reads ON {} FOR SELECT TO {} USING (true)").format(
                t, board
            ),
        ]
    out.append(
        sql.SQL(
            "CREATE POLICY room_updates ON sessions FOR UPDATE TO {} USING ({}) WITH CHECK ({})"
        ).format(rooms, own, own)
    )
    return out


def _grant_sql(roles: Roles, steps: Sequence[str]) -> list[Any]:
    """Grants of the later migrations, given on every init (GRANT repeats harmlessly): a new hub
    makes its roles after the migrations, an older hub has them before."""
    from psycopg import sql

    rooms, board = sql.Identifier(roles.rooms), sql.Identifier(roles.board)
    out: list[Any] = []
    if ROOM_SYNCED_STEP in steps:
        out += [
            sql.SQL("GRANT EXECUTE ON FUNCTION hub_room_synced() TO {}").format(rooms),
            sql.SQL("GRANT SELECT ON room_sync TO {}").format(board),
        ]
    return out


def _new_password() -> str:
    return secrets.token_urlsafe(24)
