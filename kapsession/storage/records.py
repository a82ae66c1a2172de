"""The records kapsession keeps (clients, sessions, timeline entries, the heartbeat) and the
queries that write and read them on a connection. Store (kapsession.storage.store) is these
records on a database it opened safely, with its audit trail."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from kapsession.clock import DoseAnchor
from kapsession.errors import StateError

if TYPE_CHECKING:
    from sqlite_utils import Database


def import_sqlite_utils() -> None:
    """Import sqlite-utils (once), without numpy and pandas, off the start-up path.

    sqlite-utils imports numpy and pandas whenever they are installed, only to map their types
    to column types; kapsession never stores either. numpy is installed for the review screen's
    plots, and importing it here cost ~60 ms (measured with -X importtime). A None in
    sys.modules makes those imports fail for this one import; the plots import numpy normally
    later. The rest of its import (click, dateutil, pluggy: ~100 ms) is why nothing on the way
    to the app's first paint imports it: start-up reads through the plain connection, and the
    app warms this import after the first paint (ui/app.py)."""
    if "sqlite_utils.db" in sys.modules:
        return
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def sqlite_utils_database(conn: sqlite3.Connection) -> Database:
    """sqlite-utils' Database on an open connection, with no plugin discovery (an entry-point
    scan of every installed package, ~25-50 ms; and no plugin may hook the clinical
    database)."""
    return _database_class()(conn, execute_plugins=False)


_DATABASE: list[type[Database]] = []


def _database_class() -> type[Database]:
    """sqlite-utils' Database, with a script inside a transaction (every migration step) split
    into statements in linear time. Its own splitter joins and re-checks the whole statement
    at every character (quadratic): the audit trail's triggers (m003, m004) took ~160 ms of a
    first launch there. Split here where it would split (sqlite3.complete_statement, which is
    only true at a `;`), checked at each `;` only."""
    if not _DATABASE:
        import_sqlite_utils()
        from sqlite_utils import Database

        class _Database(Database):
            def _executescript(self, sql: str) -> sqlite3.Cursor:
                if not self.conn.in_transaction:
                    return super()._executescript(sql)
                cursor = self.conn.cursor()
                for statement in split_statements(sql):
                    cursor.execute(statement)
                return cursor

        _DATABASE.append(_Database)
    return _DATABASE[0]


def split_statements(sql: str) -> Iterator[str]:
    """The complete SQL statements of a script, as sqlite-utils' splitter yields them."""
    start = 0
    for at, char in enumerate(sql):
        if char != ";":
            continue
        statement = sql[start : at + 1].strip()
        if statement and sqlite3.complete_statement(statement):
            yield statement
            start = at + 1
    rest = sql[start:].strip()
    if rest:
        yield rest


def rows(
    conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()
) -> Iterator[dict[str, Any]]:
    """The rows of a read-only query as dicts, straight from sqlite3 (no sqlite-utils)."""
    cursor = conn.execute(sql, params)
    keys = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(keys, row, strict=True))


def iso(at: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, the one timestamp format on disk."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def unassigned(account: str) -> str:
    """How an entry written with no clinician charting (before clinicians existed) is shown."""
    return f"unassigned (account {account})" if account else "unassigned"


def shown_author(author: str, author_role: str | None) -> str:
    """The author as shown: the clinician's name, or the computer account as unassigned."""
    return author if author_role is not None else unassigned(author)


@dataclass(frozen=True)
class Client:
    id: int
    code: str
    display_name: str | None
    rehearsal: bool


@dataclass(frozen=True)
class SessionRecord:
    id: int
    client_id: int
    client_code: str
    protocol: str
    route: str
    dose_mg: float
    planned_minutes: int
    intention: str
    rehearsal: bool
    time_scale: float
    clock_origin: str | None
    state: str
    created_at: str
    dose_at: str | None
    dose_tz: str | None
    anchor: DoseAnchor | None
    ended_at: str | None
    ended_t: float | None
    arc: str | None = None


@dataclass(frozen=True)
class Event:
    seq: int
    session_id: int
    kind: str
    at: str
    tz: str
    t: float | None
    author: str = ""
    amends: int | None = None
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    # None: no clinician charted it (before clinicians existed); shown_author names it then.
    author_role: str | None = None


_SESSION_SQL = """
SELECT s.*, c.code AS client_code FROM sessions s JOIN clients c ON c.id = s.client_id
"""


def _session(row: Mapping[str, Any]) -> SessionRecord:
    anchor = None
    if row["dose_at"] is not None and row["anchor_mono"] is not None:
        anchor = DoseAnchor(parse_iso(row["dose_at"]), row["anchor_mono"], row["anchor_boot"])
    return SessionRecord(
        id=row["id"],
        client_id=row["client_id"],
        client_code=row["client_code"],
        protocol=row["protocol"],
        route=row["route"],
        dose_mg=row["dose_mg"],
        planned_minutes=row["planned_minutes"],
        intention=row["intention"],
        rehearsal=bool(row["rehearsal"]),
        time_scale=row["time_scale"],
        clock_origin=row["clock_origin"],
        state=row["state"],
        created_at=row["created_at"],
        dose_at=row["dose_at"],
        dose_tz=row["dose_tz"],
        anchor=anchor,
        ended_at=row["ended_at"],
        ended_t=row["ended_t"],
        arc=row["arc"],
    )


def _event(row: Mapping[str, Any]) -> Event:
    return Event(
        seq=row["seq"],
        session_id=row["session_id"],
        kind=row["kind"],
        at=row["at"],
        tz=row["tz"],
        t=row["t"],
        author=row["author"],
        amends=row["amends"],
        reason=row["reason"],
        data=json.loads(row["data"]),
        author_role=row.get("author_role"),
    )


# json.dumps(data, ensure_ascii=False, allow_nan=False) with its encoder built once (dumps
# builds one per call for these options): the same text.
_DATA_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_INSERT_EVENT = (
    "INSERT INTO events (session_id, kind, at, tz, t, author, amends, reason, data, "
    "author_role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _write(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
    """One write statement, committed before returning unless the caller holds a transaction
    (what sqlite-utils' Database.execute does, without its per-call parsing of the SQL: this
    is every save's path). A failed statement or COMMIT rolls its own transaction back, so
    nothing half-written stays open to be committed by a later write."""
    own = not conn.in_transaction
    try:
        cur = conn.execute(sql, params)
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return cur


class Records:
    """Clients, sessions, their timelines and the heartbeat, on `conn`. Every write returns
    only after its COMMIT returned. Reads go straight to sqlite3; writes through sqlite-utils'
    Database (`db`), made on first use."""

    conn: sqlite3.Connection
    _db: Database | None = None

    def _set_connection(self, db: Database | sqlite3.Connection) -> None:
        database = getattr(db, "conn", None)  # sqlite-utils' Database, not a connection
        if database is None:
            self.conn = cast(sqlite3.Connection, db)  # sqlcipher3's behind sqlite3's face, too
            self._db = None
        else:
            self.conn = database
            self._db = cast("Database", db)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = sqlite_utils_database(self.conn)
        return self._db

    # Who is charting: (name, role) of an active clinician (kapsession.storage.clinicians);
    # every entry written through these records carries them. None: the account's name only.
    charting: tuple[str, str] | None = None

    def _query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        return rows(self.conn, sql, params)

    # --- clients -------------------------------------------------------------------------
    def add_client(
        self, code: str, display_name: str | None, rehearsal: bool, at: datetime
    ) -> Client:
        cur = self.db.execute(
            "INSERT INTO clients (code, display_name, rehearsal, created_at) VALUES (?, ?, ?, ?)",
            [code, display_name, int(rehearsal), iso(at)],
        )
        return Client(int(cur.lastrowid or 0), code, display_name, rehearsal)

    def client_by_code(self, code: str) -> Client | None:
        for row in self._query("SELECT * FROM clients WHERE code = ?", [code]):
            return Client(row["id"], row["code"], row["display_name"], bool(row["rehearsal"]))
        return None

    def clients(self) -> list[Client]:
        return [
            Client(r["id"], r["code"], r["display_name"], bool(r["rehearsal"]))
            for r in self._query("SELECT * FROM clients ORDER BY code")
        ]

    # --- sessions ------------------------------------------------------------------------
    def plan_session(self, values: Mapping[str, Any]) -> SessionRecord:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self.db.execute(
            f"INSERT INTO sessions ({cols}) VALUES ({marks})", list(values.values())
        )
        return self.session(int(cur.lastrowid or 0))

    def session(self, session_id: int) -> SessionRecord:
        for row in self._query(_SESSION_SQL + " WHERE s.id = ?", [session_id]):
            return _session(row)
        raise StateError(f"There is no session {session_id}.")

    def sessions(self) -> list[SessionRecord]:
        return [_session(r) for r in self._query(_SESSION_SQL + " ORDER BY s.id")]

    def running_session(self) -> SessionRecord | None:
        for row in self._query(_SESSION_SQL + " WHERE s.state = 'running'"):
            return _session(row)
        return None

    def set_planned_intention(self, session_id: int, intention: str) -> None:
        """The plan's intention follows the preparation until the dose is given (the database
        refuses the change afterwards: from then on it is part of the record)."""
        cur = self.db.execute(
            "UPDATE sessions SET intention = ? WHERE id = ? AND state = 'planned'",
            [intention, session_id],
        )
        if cur.rowcount != 1:
            raise StateError("The dose has been given; the planned intention is on the record.")

    def start_session(
        self,
        session_id: int,
        anchor: DoseAnchor,
        tz: str,
        dose_event: Mapping[str, Any],
        author: str = "",
    ) -> Event:
        """planned -> running and the dose entry, in one transaction."""
        try:
            with self.db.atomic():
                cur = self.db.execute(
                    "UPDATE sessions SET state = 'running', dose_at = ?, dose_tz = ?, "
                    "anchor_mono = ?, anchor_boot = ? WHERE id = ? AND state = 'planned'",
                    [iso(anchor.at), tz, anchor.mono, anchor.boot_id, session_id],
                )
                if cur.rowcount != 1:
                    raise StateError("Only a planned session can be started.")
                return self._append(session_id, "dose", anchor.at, tz, 0.0, dose_event, author)
        except sqlite3.IntegrityError as exc:
            if "sessions.state" in str(exc):
                raise StateError(
                    "Another session is already running in this data folder; end it first."
                ) from None
            raise

    def reanchor(self, session_id: int, anchor: DoseAnchor) -> None:
        self.db.execute(
            "UPDATE sessions SET anchor_mono = ?, anchor_boot = ? WHERE id = ?",
            [anchor.mono, anchor.boot_id, session_id],
        )

    def end_session(
        self,
        session_id: int,
        at: datetime,
        tz: str,
        t: float,
        reason: str,
        author: str = "",
        complete: bool = False,
    ) -> Event:
        with self.db.atomic():
            event = self._append(
                session_id,
                "session_ended",
                at,
                tz,
                t,
                {"complete": complete},
                author,
                reason=reason or None,
            )
            cur = self.db.execute(
                "UPDATE sessions SET state = 'ended', ended_at = ?, ended_t = ? "
                "WHERE id = ? AND state = 'running'",
                [iso(at), t, session_id],
            )
            if cur.rowcount != 1:
                raise StateError("Only a running session can be ended.")
            self.db.execute("DELETE FROM heartbeat WHERE session_id = ?", [session_id])
            return event

    # --- events --------------------------------------------------------------------------
    def append(
        self,
        session_id: int,
        kind: str,
        at: datetime,
        tz: str,
        t: float | None,
        data: Mapping[str, Any],
        author: str = "",
        amends: int | None = None,
        reason: str | None = None,
    ) -> Event:
        """Add one timeline entry; returns after its COMMIT returned."""
        return self._append(session_id, kind, at, tz, t, data, author, amends, reason)

    def _append(
        self,
        session_id: int,
        kind: str,
        at: datetime,
        tz: str,
        t: float | None,
        data: Mapping[str, Any],
        author: str = "",
        amends: int | None = None,
        reason: str | None = None,
    ) -> Event:
        payload = _DATA_JSON(data)
        stamp = iso(at)
        role = None
        if self.charting is not None:
            author, role = self.charting
        cur = _write(
            self.conn,
            _INSERT_EVENT,
            (session_id, kind, stamp, tz, t, author, amends, reason, payload, role),
        )
        return Event(
            int(cur.lastrowid or 0),
            session_id,
            kind,
            stamp,
            tz,
            t,
            author,
            amends,
            reason,
            dict(data),
            role,
        )

    def events(self, session_id: int) -> list[Event]:
        return [
            _event(r)
            for r in self._query(
                "SELECT * FROM events WHERE session_id = ? ORDER BY seq", [session_id]
            )
        ]

    def event(self, seq: int) -> Event | None:
        for row in self._query("SELECT * FROM events WHERE seq = ?", [seq]):
            return _event(row)
        return None

    def events_of_kind(self, kind: str) -> Iterator[Event]:
        for row in self._query("SELECT * FROM events WHERE kind = ? ORDER BY seq", [kind]):
            yield _event(row)

    # --- liveness ------------------------------------------------------------------------
    def heartbeat(self, session_id: int, t: float, at: datetime) -> None:
        self.db.execute(
            "INSERT INTO heartbeat (session_id, t, at) VALUES (?, ?, ?) "
            "ON CONFLICT(session_id) DO UPDATE SET t = excluded.t, at = excluded.at",
            [session_id, t, iso(at)],
        )

    def last_heartbeat(self, session_id: int) -> float | None:
        for row in self._query("SELECT t FROM heartbeat WHERE session_id = ?", [session_id]):
            return float(row["t"])
        return None
