"""A note's durable save: LiveSession.add_note on a real SQLite file against raw sqlite3, on a
plain folder and on an encrypted (SQLCipher) one.

Five writers share one temp folder on one disk, each with its own database file:

- ``add_note``: the real path, Store.open + SessionService(SystemClock) + give_dose, then
  LiveSession.add_note (note parsing, JSON, the events table's triggers and checks, the audit
  entry its trigger writes in the same transaction, the commit);
- ``floor``: raw sqlite3 INSERT + COMMIT of a comparable row into a plain table, with the same
  pragmas (WAL, synchronous=FULL, foreign_keys=ON, busy_timeout);
- ``schema``: raw sqlite3 INSERT + COMMIT straight into kapsession's own events table (triggers,
  foreign keys, the audit trigger with the store's functions), which tells schema cost from
  Python-layer cost;
- ``add_note_encrypted``: ``add_note`` on an encrypted folder (Store.open with a data key);
- ``floor_encrypted``: ``floor`` on an SQLCipher file keyed exactly as the store keys its own
  (sqlcipher3, the same raw 256-bit key and cipher settings, the same pragmas).

They run interleaved in blocks, the order rotating block by block, so disk noise hits all alike.
Every operation is timed on its own with perf_counter_ns; each block's CPU time (process_time,
less sensitive to other load on a shared machine) is kept too."""

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
from kapsession.storage.store import BUSY_TIMEOUT_MS, Store, _open_encrypted, iso

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

VARIANTS = ("add_note", "floor", "schema", "add_note_encrypted", "floor_encrypted")
# A fixed data key for the encrypted writers (a benchmark's throwaway folders, nothing secret).
BENCH_KEY = bytes(range(32))


def _live_session(folder: Path, key: bytes | None = None) -> LiveSession:
    store = Store.open(folder, key=key)
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


def _floor_connection(path: Path, key: bytes | None = None) -> sqlite3.Connection:
    """The floor's connection; with a key, an SQLCipher file keyed as the store keys its own
    (store._open_encrypted: the raw key, SQLCipher's default cipher settings)."""
    if key is None:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = _open_encrypted(path, key)
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


def _time_ops(
    op: Callable[[], object], count: int, into: list[int] | None, cpu: list[float] | None = None
) -> None:
    clock = time.perf_counter_ns
    began = time.process_time_ns()
    for _ in range(count):
        start = clock()
        op()
        elapsed = clock() - start
        if into is not None:
            into.append(elapsed)
    if cpu is not None:
        cpu.append((time.process_time_ns() - began) / count)


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
) -> tuple[dict[str, list[int]], dict[str, int], dict[str, list[float]]]:
    """Per-operation nanoseconds for each variant (n of each), each one's warm-up count, and
    each block's CPU nanoseconds per operation."""
    if n % block:
        raise ValueError("the number of notes must be a whole number of blocks")
    with tempfile.TemporaryDirectory(prefix="kapsession-bench-", dir=tmp_root) as tmp:
        folder = Path(tmp)
        live = _live_session(folder / "app")
        live_encrypted = _live_session(folder / "encrypted", BENCH_KEY)
        floor_conn = _floor_connection(folder / "floor.sqlite3")
        floor_encrypted = _floor_connection(folder / "floor-encrypted.sqlite3", BENCH_KEY)
        # The schema variant writes into a real kapsession database, through its own session.
        schema_live = _live_session(folder / "schema")
        schema_conn = schema_live.store.db.conn
        floor_sql = INSERT_EVENT.replace("events", "notes")
        ops: dict[str, Callable[[], object]] = {
            "add_note": lambda: live.add_note(NOTE),
            "floor": _insert_and_commit(floor_conn, floor_sql, session_id=1),
            "schema": _insert_and_commit(schema_conn, INSERT_EVENT, schema_live.record.id),
            "add_note_encrypted": lambda: live_encrypted.add_note(NOTE),
            "floor_encrypted": _insert_and_commit(floor_encrypted, floor_sql, session_id=1),
        }
        wals = {
            "add_note": folder / "app" / f"{DB_NAME}-wal",
            "floor": folder / "floor.sqlite3-wal",
            "schema": folder / "schema" / f"{DB_NAME}-wal",
            "add_note_encrypted": folder / "encrypted" / f"{DB_NAME}-wal",
            "floor_encrypted": folder / "floor-encrypted.sqlite3-wal",
        }
        times: dict[str, list[int]] = {name: [] for name in VARIANTS}
        cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
        try:
            warmups = {name: _warm_up(ops[name], wals[name]) for name in VARIANTS}
            for b in range(n // block):
                # Rotate who goes first so no variant always follows the same one.
                order = VARIANTS[b % len(VARIANTS) :] + VARIANTS[: b % len(VARIANTS)]
                for name in order:
                    _time_ops(ops[name], block, times[name], cpu[name])
        finally:
            floor_conn.close()
            floor_encrypted.close()
            live.store.close()
            live_encrypted.store.close()
            schema_live.store.close()
        return times, warmups, cpu


def main() -> None:
    """Run alone: a quick look at the medians (bench/run.py --only save is the report)."""
    import argparse
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--block", type=int, default=50)
    args = parser.parse_args()
    times, _, cpu = bench_note_save(args.notes, args.block)
    for plain, floor in (
        ("add_note", "floor"),
        ("schema", "floor"),
        ("add_note_encrypted", "floor_encrypted"),
    ):
        wall = statistics.median(times[plain]) / statistics.median(times[floor])
        used = statistics.median(cpu[plain]) / statistics.median(cpu[floor])
        print(f"{plain} / {floor}: wall {wall:.2f}x, CPU {used:.2f}x")
    for name in VARIANTS:
        print(
            f"{name:20s} wall median {statistics.median(times[name]) / 1e3:7.1f} us, "
            f"CPU median {statistics.median(cpu[name]) / 1e3:7.1f} us"
        )


if __name__ == "__main__":
    main()
