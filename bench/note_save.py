"""A note's durable save: LiveSession.add_note on a real SQLite file against raw sqlite3.

Three writers share one temp folder on one disk, each with its own database file:

- ``add_note``: the real path, Store.open + SessionService(SystemClock) + give_dose, then
  LiveSession.add_note (note parsing, JSON, the events table's triggers and checks, the commit);
- ``floor``: raw sqlite3 INSERT + COMMIT of a comparable row into a plain table, with the same
  pragmas (WAL, synchronous=FULL, foreign_keys=ON, busy_timeout);
- ``schema``: raw sqlite3 INSERT + COMMIT straight into kapsession's own events table (triggers,
  foreign keys, AUTOINCREMENT, json_valid), which tells schema cost from Python-layer cost.

They run interleaved in blocks, the order rotating block by block, so disk noise hits all alike.
Every operation is timed on its own with perf_counter_ns."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kapsession.clock import SystemClock
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import BUSY_TIMEOUT_MS, Store, iso

TZ = "Europe/Berlin"
AUTHOR = "bench"
# Typed with the quote prefix, as a therapist would: "q:" tags it as a quote.
NOTE = "q: I can see the ocean, and it is breathing with me"
NOTE_DATA = json.dumps({"text": NOTE[3:], "tags": ["quote"]}, ensure_ascii=False)
# Warm-up runs until each database's WAL file has wrapped (a checkpoint happened and writes
# overwrite the file in place): commits that grow the file cost ~1.5x more (the file system's
# metadata goes to disk too), and a writer with smaller rows stays in that phase longer, which
# would skew the comparison. Checked every WARMUP_CHUNK operations.
WARMUP_CHUNK = 50
WARMUP_MAX_OPS = 10_000

INSERT_EVENT = (
    "INSERT INTO events (session_id, kind, at, tz, t, author, amends, reason, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

FLOOR_TABLE = """
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    tz TEXT NOT NULL,
    t REAL,
    author TEXT NOT NULL,
    amends INTEGER,
    reason TEXT,
    data TEXT NOT NULL
)
"""

VARIANTS = ("add_note", "floor", "schema")


def _live_session(folder: Path) -> LiveSession:
    store = Store.open(folder)
    service = SessionService(store, SystemClock(), TZ, AUTHOR)
    record = service.plan(
        SessionPlan(
            client_code="BENCH-1",
            protocol="Sublingual 60",
            route="sublingual",
            dose_mg=200.0,
            planned_minutes=60,
        )
    )
    return service.give_dose(record.id)


def _floor_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise RuntimeError(f"the temp folder's file system does not support WAL ({mode})")
    conn.execute(FLOOR_TABLE)
    conn.commit()
    return conn


def _insert_and_commit(conn: sqlite3.Connection, sql: str, session_id: int) -> Callable[[], object]:
    """One raw insert+commit of a row like the one add_note writes."""
    clock = SystemClock()

    def op() -> object:
        params = (session_id, "note", iso(clock.now()), TZ, 12.345, AUTHOR, None, None, NOTE_DATA)
        conn.execute(sql, params)
        conn.commit()
        return None

    return op


def _time_ops(op: Callable[[], object], count: int, into: list[int] | None) -> None:
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        op()
        elapsed = clock() - start
        if into is not None:
            into.append(elapsed)


def _warm_up(op: Callable[[], object], wal: Path) -> int:
    """Run op until the WAL file stops growing; returns how many operations that took."""
    done = 0
    while done < WARMUP_MAX_OPS:
        before = wal.stat().st_size
        _time_ops(op, WARMUP_CHUNK, None)
        done += WARMUP_CHUNK
        if wal.stat().st_size == before:
            return done
    raise RuntimeError(f"{wal.name} was still growing after {done} operations")


def bench_note_save(
    n: int, block: int, tmp_root: Path | None = None
) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Per-operation nanoseconds for each variant (n of each), and each one's warm-up count."""
    if n % block:
        raise ValueError("the number of notes must be a whole number of blocks")
    with tempfile.TemporaryDirectory(prefix="kapsession-bench-", dir=tmp_root) as tmp:
        folder = Path(tmp)
        live = _live_session(folder / "app")
        floor_conn = _floor_connection(folder / "floor.sqlite3")
        # The schema variant writes into a real kapsession database, through its own session.
        schema_live = _live_session(folder / "schema")
        schema_conn = schema_live.store.db.conn
        ops: dict[str, Callable[[], object]] = {
            "add_note": lambda: live.add_note(NOTE),
            "floor": _insert_and_commit(
                floor_conn, INSERT_EVENT.replace("events", "notes"), session_id=1
            ),
            "schema": _insert_and_commit(schema_conn, INSERT_EVENT, schema_live.record.id),
        }
        wals = {
            "add_note": folder / "app" / f"{DB_NAME}-wal",
            "floor": folder / "floor.sqlite3-wal",
            "schema": folder / "schema" / f"{DB_NAME}-wal",
        }
        times: dict[str, list[int]] = {name: [] for name in VARIANTS}
        try:
            warmups = {name: _warm_up(ops[name], wals[name]) for name in VARIANTS}
            for b in range(n // block):
                # Rotate who goes first so no variant always follows the same one.
                order = VARIANTS[b % len(VARIANTS) :] + VARIANTS[: b % len(VARIANTS)]
                for name in order:
                    _time_ops(ops[name], block, times[name])
        finally:
            floor_conn.close()
            live.store.close()
            schema_live.store.close()
        return times, warmups
