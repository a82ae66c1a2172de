"""The outbox: every client (by its pseudonymous code), session and timeline entry of a data
folder pushed to the clinic hub, in order and idempotently.

Each row has a global id (the folder's fixed identity, the table, the local id), so pushing a
row the hub already holds does nothing (`ON CONFLICT DO NOTHING`): a kill between the hub's
COMMIT and the local cursor's, or a restored backup whose cursor is older, sends rows again and
doubles none. Each row also carries a keyed digest of its whole content: a row the hub holds
under the same global id with different content (a backup restored after newer entries had been
sent, then written on) stops the sync with one line instead of being silently dropped.

Clinical text (notes' and observations' text, worksheet and preparation answers: the whole
entry data, the amendment reason, the author, the session's intention) is sealed with the clinic
key (clinic_key.seal); what the room board needs is plain.

The local side is plain sqlite3 on the folder's connection; its cursor (hub_outbox: storage
migration m008, what the hub acknowledged, which also counts what waits while the hub is away)
moves only after the hub's COMMIT returned. Each round starts from the lower of that cursor and
what the hub says it holds of this folder, so neither a restored laptop nor a new or restored hub
misses a row."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kapsession.hub import clinic_key
from kapsession.hub.connection import HubError, HubUnavailable, connect, explain
from kapsession.hub.server_schema import ROOM_SYNCED_STEP, check_level
from kapsession.hub.settings import HubSettings
from kapsession.storage import schema

if TYPE_CHECKING:
    import psycopg

BATCH = 500
STATE_RANK = {"planned": 0, "running": 1, "ended": 2}

# What a room board may read in plain, per entry kind: never free text, never a measurement.
BOARD_FIELDS: Mapping[str, tuple[str, ...]] = {
    "phase": ("name", "begins_t"),
    "check_due": ("check", "label", "due_t"),
    "check_late": ("check", "label", "due_t"),
    "check_missed": ("check", "label", "due_t"),
    "check_skipped": ("check",),
    "check_snoozed": ("check", "minutes"),
    "alert": ("field", "source", "low", "high"),
    "alert_ack": ("alert",),
    "silence": ("on",),
    "pause": ("on",),
    # An answer names the check it answers (the values stay sealed): the board's DUE goes.
    "vitals": ("check",),
    "observation": ("check",),
}


def _dose_board(data: Mapping[str, Any]) -> dict[str, Any]:
    """From the dose: the protocol's check plan (key, planned time, label: the protocol's words,
    never the room's) and its late/missed limits, for the board's DUE and LATE."""
    monitoring = data.get("monitoring")
    if not isinstance(monitoring, Mapping):
        return {}
    plan = []
    for item in monitoring.get("plan") or []:
        if isinstance(item, Mapping):
            key, offset, label = item.get("key"), item.get("offset_s"), item.get("label")
            if isinstance(key, str) and isinstance(offset, int | float) and isinstance(label, str):
                plan.append([key, float(offset), label])
    out: dict[str, Any] = {"plan": plan}
    for name in ("late_after_s", "missed_after_s"):
        if isinstance(monitoring.get(name), int | float):
            out[name] = float(monitoring[name])
    return out


# The hub's column types (server_schema), for sending a batch as one array per column.
_PG_TYPES: Mapping[str, str] = {
    "gid": "text",
    "room": "text",
    "folder": "text",
    "local_id": "bigint",
    "local_seq": "bigint",
    "code": "text",
    "rehearsal": "boolean",
    "created_at": "text",
    "session_gid": "text",
    "kind": "text",
    "at": "text",
    "tz": "text",
    "t": "double precision",
    "author_role": "text",
    "amends": "bigint",
    "board": "text",
    "sealed": "bytea",
    "digest": "bytea",
}


class HubConflict(HubError):
    """The hub holds a different row under one of this folder's global ids."""

    kind = "conflict"


@dataclass(frozen=True)
class Pushed:
    clients: int = 0
    sessions: int = 0
    entries: int = 0

    def __add__(self, other: Pushed) -> Pushed:
        return Pushed(
            self.clients + other.clients,
            self.sessions + other.sessions,
            self.entries + other.entries,
        )


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _folder(conn: sqlite3.Connection) -> str:
    folder = schema.folder_id(conn)
    if folder is None:
        raise HubError("This data folder has no identity yet; open it with kapsession once.")
    return folder


def _cursor(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute("SELECT upto FROM hub_outbox WHERE tbl = ?", [table]).fetchone()
    return int(row[0]) if row else 0


def _local_write(conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One local transaction (the connection may be SQLCipher's, behind sqlite3's face)."""
    try:
        conn.executemany(sql, rows)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _advance(conn: sqlite3.Connection, table: str, upto: int) -> None:
    _local_write(
        conn,
        "INSERT INTO hub_outbox (tbl, upto) VALUES (?, ?) "
        "ON CONFLICT(tbl) DO UPDATE SET upto = max(upto, excluded.upto)",
        [(table, upto)],
    )


def waiting(conn: sqlite3.Connection) -> int:
    """Entries not yet on the hub (what "offline since 14:02 · 37 waiting" counts)."""
    row = conn.execute(
        "SELECT count(*) FROM events WHERE seq > ?", [_cursor(conn, "events")]
    ).fetchone()
    return int(row[0]) if row else 0


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    keys = [d[0] for d in cur.description]
    return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]


def client_row(folder: str, room: str, key: bytes, r: Mapping[str, Any]) -> dict[str, Any]:
    # The display name stays on the laptop: the hub knows a client by pseudonymous code only.
    plain = {"code": r["code"], "rehearsal": bool(r["rehearsal"]), "created_at": r["created_at"]}
    gid = f"{folder}:c{r['id']}"
    return {
        "gid": gid,
        "room": room,
        "folder": folder,
        "local_id": r["id"],
        **plain,
        "digest": clinic_key.digest(key, _canonical([gid, plain])),
    }


_SESSION_PLAIN = (
    "protocol",
    "route",
    "dose_mg",
    "planned_minutes",
    "time_scale",
    "clock_origin",
    "state",
    "created_at",
    "dose_at",
    "dose_tz",
    "ended_at",
    "ended_t",
    "arc",
)


def session_row(folder: str, room: str, key: bytes, r: Mapping[str, Any]) -> dict[str, Any]:
    gid = f"{folder}:s{r['id']}"
    plain = {k: r[k] for k in _SESSION_PLAIN}
    plain["rehearsal"] = bool(r["rehearsal"])
    secret = {"intention": r["intention"]}
    return {
        "gid": gid,
        "room": room,
        "folder": folder,
        "local_id": r["id"],
        "client_gid": f"{folder}:c{r['client_id']}",
        **plain,
        "sealed": clinic_key.seal(key, gid, _canonical(secret)),
        "digest": clinic_key.digest(key, _canonical([gid, plain, secret, r["client_id"]])),
    }


def event_row(folder: str, room: str, key: bytes, r: Mapping[str, Any]) -> dict[str, Any]:
    gid = f"{folder}:e{r['seq']}"
    data = json.loads(r["data"])
    fields = BOARD_FIELDS.get(r["kind"], ())
    board = {k: data[k] for k in fields if k in data and not isinstance(data[k], dict | list)}
    if r["kind"] == "dose" and isinstance(data, dict):
        board = _dose_board(data)
    plain = {
        "kind": r["kind"],
        "at": r["at"],
        "tz": r["tz"],
        "t": r["t"],
        "author_role": r.get("author_role"),
        "amends": r["amends"],
    }
    secret = {"author": r["author"], "reason": r["reason"], "data": data}
    return {
        "gid": gid,
        "room": room,
        "folder": folder,
        "local_seq": r["seq"],
        "session_gid": f"{folder}:s{r['session_id']}",
        **plain,
        "board": json.dumps(board),
        "sealed": clinic_key.seal(key, gid, _canonical(secret)),
        "digest": clinic_key.digest(key, _canonical([gid, plain, secret, r["session_id"]])),
    }


def _insert(pg: psycopg.Connection[Any], table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert what the hub lacks; refuse (HubConflict) if it holds a different row under one of
    these global ids."""
    if not rows:
        return
    cols = list(rows[0])
    # One statement per batch, its columns as arrays: the hub checks row-level security and
    # plans once per batch rather than once per row (bench/hub_sync.py).
    arrays = ", ".join(f"%s::{_PG_TYPES[c]}[]" for c in cols)
    casts = ", ".join(f"{c}::jsonb" if c == "board" else c for c in cols)
    with pg.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {casts} FROM unnest({arrays}) "
            f"AS batch({', '.join(cols)}) ON CONFLICT (gid) DO NOTHING",
            [[r[c] for r in rows] for c in cols],
        )
        held = dict(
            cur.execute(
                f"SELECT gid, digest FROM {table} WHERE gid = ANY(%s)", [[r["gid"] for r in rows]]
            ).fetchall()
        )
    differ = [r["gid"] for r in rows if bytes(held.get(r["gid"], b"")) != r["digest"]]
    if differ:
        raise HubConflict(
            f"The clinic hub holds {len(differ)} different {table} under this folder's ids "
            f"(first: {differ[0]}): was a backup restored after newer {table} had been sent? "
            "Nothing was sent; this laptop's records stay as they are."
        )


def _upsert_sessions(pg: psycopg.Connection[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    marks = ", ".join(f"%({c})s" for c in cols)
    changing = [c for c in cols if c not in ("gid", "room", "folder", "local_id", "client_gid")]
    sets = ", ".join(f"{c} = excluded.{c}" for c in changing)
    rank = "CASE {}.state WHEN 'planned' THEN 0 WHEN 'running' THEN 1 ELSE 2 END"
    with pg.cursor() as cur:
        # A session only moves forward on the hub: an older copy (a restored backup) never
        # takes an ended session back to running.
        cur.executemany(
            f"INSERT INTO sessions ({', '.join(cols)}) VALUES ({marks}) "
            f"ON CONFLICT (gid) DO UPDATE SET {sets} "
            f"WHERE sessions.digest <> excluded.digest "
            f"AND sessions.created_at = excluded.created_at "
            f"AND sessions.client_gid = excluded.client_gid "
            f"AND {rank.format('excluded')} >= {rank.format('sessions')}",
            rows,
        )
        held = dict(
            cur.execute(
                "SELECT gid, created_at || ' ' || client_gid FROM sessions WHERE gid = ANY(%s)",
                [[r["gid"] for r in rows]],
            ).fetchall()
        )
    # Another session under one of this folder's ids: a backup restored and planned on anew.
    differ = [
        r["gid"] for r in rows if held.get(r["gid"]) != f"{r['created_at']} {r['client_gid']}"
    ]
    if differ:
        raise HubConflict(
            f"The clinic hub holds {len(differ)} different sessions under this folder's ids "
            f"(first: {differ[0]}): was a backup restored after newer sessions had been sent? "
            "Nothing was sent; this laptop's records stay as they are."
        )


def push_pending(
    conn: sqlite3.Connection, settings: HubSettings, pg: psycopg.Connection[Any] | None = None
) -> Pushed:
    """Push everything pending now; returns what was sent. Raises HubUnavailable when the hub
    cannot be reached (or goes away midway: what was committed there stays counted, the rest
    waits), HubError for anything a person must fix."""
    import psycopg

    own = pg is None
    if pg is None:
        pg = connect(settings.dsn, settings.password)
    try:
        return _push(conn, settings, pg)
    except psycopg.OperationalError as exc:
        raise explain(exc, settings.dsn) from None
    except psycopg.errors.InsufficientPrivilege:
        raise HubError(
            f"The clinic hub refused this laptop's rows for room {settings.room!r} "
            "(row-level security): is the login the room's own? Nothing was sent.",
            "room",
        ) from None
    except psycopg.Error as exc:
        raise HubError(f"The clinic hub refused the sync ({type(exc).__name__}).") from None
    finally:
        if own:
            pg.close()


def _hub_state(pg: psycopg.Connection[Any], folder: str) -> tuple[int, int, dict[int, Any]]:
    """What the hub holds of this folder: its highest client id and entry seq, and each
    session's digest and state. The hub is the truth: a new hub, or one restored from an older
    backup of its own, gets again whatever it lacks."""
    row = pg.execute(
        "SELECT (SELECT coalesce(max(local_id), 0) FROM clients WHERE folder = %s), "
        "(SELECT coalesce(max(local_seq), 0) FROM events WHERE folder = %s)",
        [folder, folder],
    ).fetchone()
    held = {
        int(r[0]): (bytes(r[1]), str(r[2]))
        for r in pg.execute(
            "SELECT local_id, digest, state FROM sessions WHERE folder = %s", [folder]
        )
    }
    return (int(row[0]), int(row[1]), held) if row else (0, 0, held)


def _push(conn: sqlite3.Connection, settings: HubSettings, pg: psycopg.Connection[Any]) -> Pushed:
    steps = check_level(pg)
    folder, room, key = _folder(conn), settings.room, settings.key
    hub_clients, hub_seq, hub_sessions = _hub_state(pg, folder)
    pg.rollback()  # the reads left a transaction open
    # From the lower of what this laptop noted as sent and what the hub holds: a laptop restored
    # from an older backup sends again from its older cursor (so an entry written after the
    # restore under a number the hub already holds is caught as a conflict, never skipped).
    client_from = min(_cursor(conn, "clients"), hub_clients)
    upto = min(_cursor(conn, "events"), hub_seq)
    # The newest entry first, then the sessions and clients: every entry up to it belongs to a
    # session (and client) read after it, so the hub never gets an entry before its session.
    row = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
    last_seq = int(row[0]) if row else 0
    sessions = []
    for r in _rows(conn, "SELECT * FROM sessions ORDER BY id"):
        held = hub_sessions.get(int(r["id"]))
        if held is not None and STATE_RANK.get(held[1], 0) > STATE_RANK.get(r["state"], 0):
            continue  # the hub's copy is further on (this laptop was restored): it stays
        made = session_row(folder, room, key, r)
        if held is None or held[0] != made["digest"]:
            sessions.append(made)
    clients = [
        client_row(folder, room, key, r)
        for r in _rows(conn, "SELECT * FROM clients WHERE id > ? ORDER BY id", [client_from])
    ]
    pushed = Pushed()
    if clients or sessions:
        with pg.transaction():
            _insert(pg, "clients", clients)
            _upsert_sessions(pg, sessions)
        if clients:
            _advance(conn, "clients", max(c["local_id"] for c in clients))
        pushed += Pushed(clients=len(clients), sessions=len(sessions))
    while upto < last_seq:
        batch = _rows(
            conn,
            "SELECT * FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            [upto, last_seq, BATCH],
        )
        if not batch:
            break
        rows = [event_row(folder, room, key, r) for r in batch]
        with pg.transaction():
            _insert(pg, "events", rows)
        upto = int(batch[-1]["seq"])
        _advance(conn, "events", upto)  # only after the hub's COMMIT returned
        pushed += Pushed(entries=len(rows))
    if ROOM_SYNCED_STEP in steps:
        # The round is done: the board's "last synced" for this room (no row, no text).
        with pg.transaction():
            pg.execute("SELECT hub_room_synced()")
    return pushed


def sync_now(conn: sqlite3.Connection, settings: HubSettings) -> Pushed:
    """push_pending until a round sends nothing (entries written meanwhile included), on one
    connection to the hub."""
    pg = connect(settings.dsn, settings.password)
    try:
        total = Pushed()
        for _ in range(100):
            pushed = push_pending(conn, settings, pg)
            total += pushed
            if pushed == Pushed():
                break
        return total
    finally:
        pg.close()


__all__ = ["HubConflict", "HubUnavailable", "Pushed", "push_pending", "sync_now", "waiting"]
