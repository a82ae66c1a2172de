"""The database schema, as sqlite-utils migrations. Each step runs in one transaction.

Append-only is enforced by the database itself: triggers refuse UPDATE and DELETE on clinical
rows, so not even a bug or a hand-run SQL statement can rewrite what was recorded.

The steps are listed here in order; sqlite-utils' `Migrations` set (`migrations`) is built from
them on first use, so a launch whose database is up to date never imports sqlite-utils: which
steps were applied is read straight from `_sqlite_migrations` (`needs_migrating`)."""

from __future__ import annotations

import getpass
import secrets
import sqlite3
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

from kapsession.clock import SystemClock
from kapsession.storage import audit, chain_key

if TYPE_CHECKING:
    from sqlite_utils import Database, Migrations

MIGRATION_SET = "kapsession"
MIGRATIONS_TABLE = "_sqlite_migrations"  # sqlite-utils' Migrations.migrations_table
_STEPS: list[Callable[[Database], None]] = []
_built: list[Migrations] = []


def _step(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    _STEPS.append(fn)
    return fn


def _migrations() -> Migrations:
    """The sqlite-utils migration set, built once, when a database needs it."""
    if not _built:
        from kapsession.storage.records import import_sqlite_utils

        import_sqlite_utils()
        from sqlite_utils import Migrations

        built = Migrations(MIGRATION_SET)
        for fn in _STEPS:
            built()(fn)
        _built.append(built)
    return _built[0]


def __getattr__(name: str) -> Any:
    # `schema.migrations`, where callers have always found it, built on first use.
    if name == "migrations":
        return _migrations()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ROUTES = ("sublingual", "intramuscular", "intravenous", "intranasal")
STATES = ("planned", "running", "ended")


@_step
def m001_initial(db: Database) -> None:
    routes = ", ".join(f"'{r}'" for r in ROUTES)
    states = ", ".join(f"'{s}'" for s in STATES)
    db.executescript(
        f"""
        CREATE TABLE clients (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE CHECK (length(trim(code)) > 0),
            display_name TEXT,
            rehearsal INTEGER NOT NULL DEFAULT 0 CHECK (rehearsal IN (0, 1)),
            created_at TEXT NOT NULL
        );
        CREATE TRIGGER clients_keep BEFORE DELETE ON clients
        BEGIN SELECT RAISE(ABORT, 'clients are never deleted'); END;
        CREATE TRIGGER clients_code_fixed BEFORE UPDATE OF code ON clients
        BEGIN SELECT RAISE(ABORT, 'a client code cannot change'); END;

        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL REFERENCES clients(id),
            protocol TEXT NOT NULL CHECK (length(trim(protocol)) > 0),
            route TEXT NOT NULL CHECK (route IN ({routes})),
            dose_mg REAL NOT NULL CHECK (dose_mg > 0 AND dose_mg <= 1000),
            planned_minutes INTEGER NOT NULL CHECK (planned_minutes BETWEEN 45 AND 120),
            intention TEXT NOT NULL DEFAULT '',
            rehearsal INTEGER NOT NULL DEFAULT 0 CHECK (rehearsal IN (0, 1)),
            time_scale REAL NOT NULL DEFAULT 1 CHECK (time_scale > 0),
            clock_origin TEXT,
            state TEXT NOT NULL DEFAULT 'planned' CHECK (state IN ({states})),
            created_at TEXT NOT NULL,
            dose_at TEXT,
            dose_tz TEXT,
            anchor_mono REAL,
            anchor_boot TEXT,
            ended_at TEXT,
            ended_t REAL,
            CHECK (state = 'planned' OR (dose_at IS NOT NULL AND anchor_mono IS NOT NULL)),
            CHECK (state != 'ended' OR ended_at IS NOT NULL)
        );
        -- One running session per data folder, whatever the code does.
        CREATE UNIQUE INDEX sessions_one_running ON sessions(state) WHERE state = 'running';
        CREATE INDEX sessions_client ON sessions(client_id);
        CREATE TRIGGER sessions_keep BEFORE DELETE ON sessions
        BEGIN SELECT RAISE(ABORT, 'sessions are never deleted'); END;
        CREATE TRIGGER sessions_forward BEFORE UPDATE ON sessions
        WHEN NOT (
            (OLD.state = 'planned' AND NEW.state IN ('planned', 'running'))
            OR (OLD.state = 'running' AND NEW.state IN ('running', 'ended'))
        )
        BEGIN SELECT RAISE(ABORT, 'a session only moves planned -> running -> ended'); END;
        CREATE TRIGGER sessions_dose_fixed BEFORE UPDATE ON sessions
        WHEN OLD.state != 'planned' AND (
            NEW.client_id IS NOT OLD.client_id OR NEW.protocol IS NOT OLD.protocol
            OR NEW.route IS NOT OLD.route OR NEW.dose_mg IS NOT OLD.dose_mg
            OR NEW.rehearsal IS NOT OLD.rehearsal OR NEW.dose_at IS NOT OLD.dose_at
            OR NEW.time_scale IS NOT OLD.time_scale OR NEW.clock_origin IS NOT OLD.clock_origin
            OR NEW.intention IS NOT OLD.intention OR NEW.planned_minutes IS NOT OLD.planned_minutes
        )
        BEGIN SELECT RAISE(ABORT, 'a started session''s plan and dose are part of the record'); END;

        CREATE TABLE events (
            -- No AUTOINCREMENT: deletes are refused, so seq only grows anyway, and the
            -- sqlite_sequence update would cost every save an extra page write.
            seq INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            kind TEXT NOT NULL CHECK (length(kind) > 0),
            at TEXT NOT NULL,
            tz TEXT NOT NULL,
            t REAL,
            author TEXT NOT NULL DEFAULT '',
            amends INTEGER REFERENCES events(seq),
            reason TEXT,
            data TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(data)),
            CHECK (kind != 'amendment'
                   OR (amends IS NOT NULL AND length(trim(coalesce(reason, ''))) > 0))
        );
        CREATE INDEX events_session ON events(session_id, seq);
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'timeline entries are append-only: amend instead'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'timeline entries are append-only: amend instead'); END;
        CREATE TRIGGER events_amend_same_session BEFORE INSERT ON events
        WHEN NEW.amends IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM events WHERE seq = NEW.amends AND session_id = NEW.session_id)
        BEGIN SELECT RAISE(ABORT, 'an amendment must refer to an entry of the same session'); END;
        CREATE TRIGGER events_not_after_end BEFORE INSERT ON events
        WHEN (SELECT state FROM sessions WHERE id = NEW.session_id) = 'ended'
             AND NEW.kind NOT IN ('amendment', 'export')
        BEGIN SELECT RAISE(ABORT, 'the session has ended; only amendments can be added'); END;

        -- Liveness only (not clinical): lets a restart tell how long the app was gone.
        CREATE TABLE heartbeat (
            session_id INTEGER PRIMARY KEY REFERENCES sessions(id),
            t REAL NOT NULL,
            at TEXT NOT NULL
        );
        """
    )


# Kinds a session keeps receiving after it ended: corrections, exports, and the integration
# work that happens afterwards (the worksheet and the client handouts given out).
AFTER_END_KINDS = ("amendment", "export", "worksheet", "handout")


@_step
def m002_arc_and_aftercare(db: Database) -> None:
    """The music arc chosen at planning (fixed once the dose is given), and the kinds of entry
    integration adds to an ended session."""
    after = ", ".join(f"'{k}'" for k in AFTER_END_KINDS)
    db.executescript(
        f"""
        ALTER TABLE sessions ADD COLUMN arc TEXT;
        DROP TRIGGER sessions_dose_fixed;
        CREATE TRIGGER sessions_dose_fixed BEFORE UPDATE ON sessions
        WHEN OLD.state != 'planned' AND (
            NEW.client_id IS NOT OLD.client_id OR NEW.protocol IS NOT OLD.protocol
            OR NEW.route IS NOT OLD.route OR NEW.dose_mg IS NOT OLD.dose_mg
            OR NEW.rehearsal IS NOT OLD.rehearsal OR NEW.dose_at IS NOT OLD.dose_at
            OR NEW.time_scale IS NOT OLD.time_scale OR NEW.clock_origin IS NOT OLD.clock_origin
            OR NEW.intention IS NOT OLD.intention OR NEW.planned_minutes IS NOT OLD.planned_minutes
            OR NEW.arc IS NOT OLD.arc
        )
        BEGIN SELECT RAISE(ABORT, 'a started session''s plan and dose are part of the record'); END;
        DROP TRIGGER events_not_after_end;
        CREATE TRIGGER events_not_after_end BEFORE INSERT ON events
        WHEN (SELECT state FROM sessions WHERE id = NEW.session_id) = 'ended'
             AND NEW.kind NOT IN ({after})
        BEGIN SELECT RAISE(ABORT, 'the session has ended; only amendments can be added'); END;
        """
    )


@_step
def m003_audit_trail(db: Database) -> None:
    """The hash-chained, append-only audit trail (kapsession/audit.py), its triggers on every
    clinical table, and a `baseline` entry for each row written before it existed."""
    conn = db.conn
    if not audit.has_functions(conn):  # a bare connection (tests, tools): default time and actor
        audit.register_functions(conn, _utc_now, os_user)
    db.executescript(
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            author TEXT NOT NULL,
            action TEXT NOT NULL CHECK (length(action) > 0),
            target TEXT NOT NULL,
            target_id INTEGER,
            digest TEXT,
            fields TEXT,
            detail TEXT NOT NULL DEFAULT '',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        """
    )
    now = conn.execute("SELECT kap_now()").fetchone()[0]
    audit.baseline(conn, "kapsession", now)
    db.executescript(audit.trigger_sql(conn, keyed=False))


@_step
def m004_keyed_audit_chain(db: Database) -> None:
    """The audit chain becomes keyed (kapsession/audit.py, chain_key.py): a `chain_keyed` entry
    whose hash is the first HMAC, and triggers that link every later entry by HMAC. Entries
    before it stay SHA-256 and verifiable. A bare connection (tests, tools) is keyed with the
    chain key file beside its database, made now if there is none."""
    conn = db.conn
    if not audit.chain_ready(conn):
        folder = chain_key.database_folder(conn)
        chain = audit.Chain([chain_key.load_or_create(folder)])
        chain.resolve(conn)
        audit.register_functions(conn, _utc_now, os_user, chain)
    now = conn.execute("SELECT kap_now()").fetchone()[0]
    audit.start_keyed_chain(conn, "kapsession", now)
    db.executescript(audit.trigger_sql(conn))


FOLDER_ID_HEX = 12  # 48 random bits: two folders sharing a backup folder never collide


@_step
def m005_folder_identity(db: Database) -> None:
    """A random, fixed identity for the data folder's record. It travels inside every backup
    (and so survives a restore onto a new computer); backups are named by it, so folders that
    share a backup folder never take each other's backups, key copies or retention for theirs."""
    db.executescript(
        """
        CREATE TABLE folder (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            id TEXT NOT NULL CHECK (length(id) = 12 AND id NOT GLOB '*[^0-9a-f]*')
        );
        CREATE TRIGGER folder_id_fixed BEFORE UPDATE ON folder
        BEGIN SELECT RAISE(ABORT, 'a data folder keeps its identity'); END;
        CREATE TRIGGER folder_id_kept BEFORE DELETE ON folder
        BEGIN SELECT RAISE(ABORT, 'a data folder keeps its identity'); END;
        """
    )
    db.execute(
        "INSERT INTO folder (one, id) VALUES (1, ?)", [secrets.token_hex(FOLDER_ID_HEX // 2)]
    )


@_step
def m006_one_call_audit_entries(db: Database) -> None:
    """The audit triggers make each entry with one SQL function call (audit.trigger_sql_m006):
    the same entries, byte for byte, as m004's triggers (SHA-256 row digest and hints, HMAC
    link), for a fraction of the work per save (docs/benchmarks.md). Nothing is re-written:
    the chain goes on as it was. It writes no entry, so it needs no functions or key."""
    db.executescript(audit.trigger_sql_m006(db.conn))


CLINICIAN_ROLES = ("therapist", "prescriber", "nurse", "observer")
# Kinds a signed session still receives: corrections (themselves signed), signatures, outputs.
AFTER_SIGNING_KINDS = ("amendment", "signature", "export", "handout")


@_step
def m007_clinicians_and_signatures(db: Database) -> None:
    """Clinicians (never deleted; deactivated instead), the charting clinician's role on every
    entry, and signatures (entries of kind `signature`). Earlier entries keep their author
    text untouched (the rows are append-only): a NULL author_role marks them as written before
    clinicians, shown as "unassigned (account NAME)". A signed session refuses every new entry
    but AFTER_SIGNING_KINDS, and only an ended session can be signed, whatever the code does."""
    roles = ", ".join(f"'{r}'" for r in CLINICIAN_ROLES)
    after_end = ", ".join(f"'{k}'" for k in (*AFTER_END_KINDS, "signature"))
    after_signing = ", ".join(f"'{k}'" for k in AFTER_SIGNING_KINDS)
    db.executescript(
        f"""
        CREATE TABLE clinicians (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL CHECK (length(trim(name)) > 0 AND name = trim(name)),
            credentials TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ({roles})),
            pin_hash TEXT,
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            demo INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX clinicians_name ON clinicians(name COLLATE NOCASE);
        CREATE TRIGGER clinicians_keep BEFORE DELETE ON clinicians
        BEGIN SELECT RAISE(ABORT, 'clinicians are never deleted; deactivate instead'); END;
        CREATE TRIGGER clinicians_fixed BEFORE UPDATE ON clinicians
        WHEN NEW.name IS NOT OLD.name OR NEW.credentials IS NOT OLD.credentials
             OR NEW.role IS NOT OLD.role OR NEW.created_at IS NOT OLD.created_at
             OR NEW.demo IS NOT OLD.demo OR NEW.active > OLD.active
        BEGIN SELECT RAISE(ABORT, 'a clinician is only ever deactivated'); END;

        ALTER TABLE events ADD COLUMN author_role TEXT;
        CREATE INDEX events_signatures ON events(session_id) WHERE kind = 'signature';
        CREATE TRIGGER events_charted_by_active BEFORE INSERT ON events
        WHEN NEW.author_role IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM clinicians WHERE name = NEW.author AND role = NEW.author_role
            AND active = 1)
        BEGIN SELECT RAISE(ABORT, 'a deactivated clinician can neither chart nor sign'); END;
        DROP TRIGGER events_not_after_end;
        CREATE TRIGGER events_not_after_end BEFORE INSERT ON events
        WHEN (SELECT state FROM sessions WHERE id = NEW.session_id) = 'ended'
             AND NEW.kind NOT IN ({after_end})
        BEGIN SELECT RAISE(ABORT, 'the session has ended; only amendments can be added'); END;
        CREATE TRIGGER events_signature_after_end BEFORE INSERT ON events
        WHEN NEW.kind = 'signature'
             AND (SELECT state FROM sessions WHERE id = NEW.session_id) != 'ended'
        BEGIN SELECT RAISE(ABORT, 'only an ended session can be signed'); END;
        CREATE TRIGGER events_not_after_signing BEFORE INSERT ON events
        WHEN NEW.kind NOT IN ({after_signing}) AND EXISTS (
            SELECT 1 FROM events WHERE session_id = NEW.session_id AND kind = 'signature')
        BEGIN SELECT RAISE(ABORT, 'the session is signed; only amendments can be added'); END;
        """
    )
    # The events table has a new column: its audit triggers cover it from now on, made the
    # m006 way (one call per entry; audit.trigger_sql would quietly undo that speed-up).
    db.executescript(audit.trigger_sql_m006(db.conn))


@_step
def m008_hub_outbox(db: Database) -> None:
    """What the clinic hub has acknowledged of this folder (kapsession/hub/sync.py): the highest
    client id and entry seq. Bookkeeping, no clinical text, so not audited: the sync also asks
    the hub what it holds, and starts from the lower of the two, so a restored backup that takes
    this back only makes it send again rows the hub ignores (a global id per row)."""
    db.executescript(
        """
        CREATE TABLE hub_outbox (
            tbl TEXT PRIMARY KEY CHECK (tbl IN ('clients', 'events')),
            upto INTEGER NOT NULL CHECK (upto >= 0)
        );
        """
    )


MEASURE_SOURCES = ("client", "paper", "clinician")


@_step
def m009_measures(db: Database) -> None:
    """Rating-scale measures (PHQ-9, GAD-7, ...: kapsession/integration/measures.py), records
    of the client rather than of one session, and the clinician's acknowledgement of a flagged
    answer (PHQ-9 item 9). Both append-only and audited like the other clinical tables; a
    measure's total is there exactly when it is complete, so an incomplete run can never pass
    as scored."""
    sources = ", ".join(f"'{s}'" for s in MEASURE_SOURCES)
    db.executescript(
        f"""
        CREATE TABLE measures (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL REFERENCES clients(id),
            instrument TEXT NOT NULL CHECK (length(instrument) > 0),
            taken_on TEXT NOT NULL
                CHECK (taken_on GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
            taken_at TEXT,
            tz TEXT NOT NULL DEFAULT '',
            answers TEXT NOT NULL CHECK (json_valid(answers) AND json_type(answers) = 'array'),
            complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
            total REAL,
            severity TEXT NOT NULL DEFAULT '',
            flags TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL CHECK (source IN ({sources})),
            session_id INTEGER REFERENCES sessions(id),
            author TEXT NOT NULL,
            author_role TEXT,
            recorded_at TEXT NOT NULL,
            CHECK ((complete = 1) = (total IS NOT NULL))
        );
        CREATE INDEX measures_client ON measures(client_id, taken_on);
        CREATE TRIGGER measures_no_update BEFORE UPDATE ON measures
        BEGIN SELECT RAISE(ABORT, 'measures are append-only'); END;
        CREATE TRIGGER measures_no_delete BEFORE DELETE ON measures
        BEGIN SELECT RAISE(ABORT, 'measures are append-only'); END;

        CREATE TABLE measure_acks (
            id INTEGER PRIMARY KEY,
            measure_id INTEGER NOT NULL UNIQUE REFERENCES measures(id),
            flag TEXT NOT NULL CHECK (length(flag) > 0),
            author TEXT NOT NULL CHECK (length(trim(author)) > 0),
            author_role TEXT,
            at TEXT NOT NULL
        );
        CREATE TRIGGER measure_acks_by_active BEFORE INSERT ON measure_acks
        WHEN NOT EXISTS (SELECT 1 FROM clinicians WHERE name = NEW.author AND active = 1)
        BEGIN SELECT RAISE(ABORT, 'only an active clinician can acknowledge'); END;
        CREATE TRIGGER measure_acks_no_update BEFORE UPDATE ON measure_acks
        BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END;
        CREATE TRIGGER measure_acks_no_delete BEFORE DELETE ON measure_acks
        BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END;
        """
    )
    db.executescript(audit.trigger_sql_m006(db.conn))


@_step
def m010_open_client_runs(db: Database) -> None:
    """A client-mode run while it is being answered (kapsession/integration/client_run.py):
    its answers so far, written as each is given, so that a kill, a crash or a power cut
    mid-run loses none. On the next open of the folder a run left here becomes an incomplete
    measure (never scored), in the same transaction that removes it. A working copy, not the
    record: not audited itself; the measure it becomes is, and so is its recovery. `fingerprint`
    is the instrument as the client saw it, `flags` what its answers raised then (PHQ-9
    item 9), so that neither a changed nor a removed instrument can lose them."""
    db.executescript(
        """
        CREATE TABLE open_client_runs (
            id INTEGER PRIMARY KEY,
            client_id INTEGER NOT NULL REFERENCES clients(id),
            instrument TEXT NOT NULL CHECK (length(instrument) > 0),
            fingerprint TEXT NOT NULL,
            answers TEXT NOT NULL CHECK (json_valid(answers) AND json_type(answers) = 'array'),
            flags TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            answered_at TEXT,
            author TEXT NOT NULL,
            author_role TEXT
        );
        """
    )


def folder_id(conn: sqlite3.Connection) -> str | None:
    """The data folder's identity (m005), or None for a database from before it."""
    try:
        row = conn.execute("SELECT id FROM folder WHERE one = 1").fetchone()
    except sqlite3.OperationalError:  # no such table: an older database
        return None
    if row is None or not isinstance(row[0], str):
        return None
    text = row[0]
    if len(text) != FOLDER_ID_HEX or text.strip("0123456789abcdef"):
        return None
    return text


def _utc_now() -> str:
    return (
        SystemClock()
        .now()
        .astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return ""


def migration_names() -> list[str]:
    """Every migration this version knows, in the order they apply."""
    return [fn.__name__ for fn in _STEPS]


def applied_names(conn: sqlite3.Connection) -> list[str]:
    """The migrations of this set a database records as applied, in the order they were
    (empty for a new database), read with sqlite3 alone."""
    if not _has_migrations_table(conn):
        return []
    return [
        str(row[0])
        for row in conn.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid",
            [MIGRATION_SET],
        )
    ]


def needs_migrating(conn: sqlite3.Connection) -> bool:
    """True when sqlite-utils' `migrations.apply` has anything to do: a step not applied yet,
    or a migrations table of an older shape (which it rebuilds)."""
    if not _has_migrations_table(conn):
        return True
    keys = [row[1] for row in conn.execute(f"PRAGMA table_info({MIGRATIONS_TABLE})") if row[5]]
    return keys != ["id"] or not set(migration_names()) <= set(applied_names(conn))


def _has_migrations_table(conn: sqlite3.Connection) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]
    ).fetchone()
    return found is not None


def known_migrations() -> set[str]:
    """Names of every migration this version knows; a database that has applied others was
    written by a newer kapsession."""
    return set(migration_names())
