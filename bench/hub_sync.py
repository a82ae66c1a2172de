"""Sync throughput to the clinic hub: `kapsession.hub.sync.sync_now` pushing a session of N
entries from a real data folder to a real PostgreSQL (a private cluster on loopback, as the
tests start it: tests/helpers/postgres.py), against a floor: raw psycopg executemany of the
same number of rows of the same size into a plain table (no sealing, no digest, no row-level
security, no local cursor), committed in the same batches.

App and floor alternate run by run, each on a fresh hub database; wall time and this process's
CPU time (less sensitive to other load on a shared machine; the server's own CPU is not in it)
are kept, and medians printed.

    .venv/bin/python bench/hub_sync.py [--entries N] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import postgres  # noqa: E402

from kapsession.hub import server_schema, sync  # noqa: E402
from kapsession.hub.settings import HubSettings  # noqa: E402
from kapsession.storage.store import Store  # noqa: E402

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
NOTE = "I can see the ocean, and it is breathing with me; the music is far away now."


def _folder(root: Path, entries: int) -> Store:
    from kapsession.clock import FakeClock
    from kapsession.monitoring.protocol import builtin_protocols
    from kapsession.session.live import SessionService

    clock = FakeClock(T0)
    store = Store.open(root / "laptop")
    service = SessionService(store, clock, "UTC", "bench", builtin_protocols())
    record = service.plan_rehearsal(time_scale=1.0, clock_origin=clock.now())
    service.give_dose(record.id)
    with store.db.atomic():
        for n in range(entries - 1):
            at = T0 + timedelta(seconds=n)
            if n % 10 == 0:
                data: dict[str, Any] = {"systolic": 122, "diastolic": 80, "heart_rate": 70,
                                        "spo2": 98, "resp_rate": None, "temperature": None}  # fmt: skip
                store.append(record.id, "vitals", at, "UTC", float(n), data, "bench")
            else:
                store.append(record.id, "note", at, "UTC", float(n), {"text": NOTE, "tags": []})
    return store


def _app(cluster: postgres.Cluster, store: Store, key: bytes) -> tuple[float, float]:
    import psycopg

    db = cluster.create_database()
    with psycopg.connect(cluster.admin_dsn(db), autocommit=True) as admin:
        made = server_schema.init(admin, ["a"])
    dsn = cluster.tcp_dsn(db, made.roles.room("a"))
    settings = HubSettings(dsn, "a", key, made.rooms_added["a"])
    store.conn.execute("DELETE FROM hub_outbox")
    store.conn.commit()
    wall, cpu = time.perf_counter(), time.process_time()
    sync.sync_now(store.conn, settings)
    return time.perf_counter() - wall, time.process_time() - cpu


def _rooms_at_once(
    cluster: postgres.Cluster, stores: list[Store], key: bytes
) -> tuple[float, float]:
    """Every room's folder pushed at the same time, each by its own thread and login."""
    import threading

    import psycopg

    db = cluster.create_database()
    names = [f"r{n}" for n in range(len(stores))]
    with psycopg.connect(cluster.admin_dsn(db), autocommit=True) as admin:
        made = server_schema.init(admin, names)
    jobs = []
    for name, store in zip(names, stores, strict=True):
        dsn = cluster.tcp_dsn(db, made.roles.room(name))
        settings = HubSettings(dsn, name, key, made.rooms_added[name])
        store.conn.execute("DELETE FROM hub_outbox")
        store.conn.commit()
        path = Path(store.conn.execute("PRAGMA database_list").fetchone()[2])
        jobs.append((path, settings))

    def push(path: Path, settings: HubSettings) -> None:
        from kapsession.storage.store import open_connection

        conn = open_connection(path)  # each thread its own connection, as the workers have
        try:
            sync.sync_now(conn, settings)
        finally:
            conn.close()

    threads = [threading.Thread(target=push, args=job) for job in jobs]
    wall, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - wall, time.process_time() - cpu


def _floor(cluster: postgres.Cluster, entries: int) -> tuple[float, float]:
    import psycopg

    db = cluster.create_database()
    login = f"{db}_floor"
    with psycopg.connect(cluster.admin_dsn(db), autocommit=True) as admin:
        # Logs in as the app's room does: over TCP, with a password (scram).
        admin.execute(f"CREATE ROLE {login} LOGIN PASSWORD 'floor'")
        admin.execute(
            "CREATE TABLE events (gid text PRIMARY KEY, room text, folder text, local_seq bigint, "
            "session_gid text, kind text, at text, tz text, t double precision, author_role "
            "text, amends bigint, board jsonb, sealed bytea, digest bytea)"
        )
        admin.execute(f"GRANT SELECT, INSERT ON events TO {login}")
    sealed = b"\x01" * (13 + 16 + len(NOTE) + 60)  # a sealed note's size
    rows = [
        (f"f:e{n}", "a", "f", n, "f:s1", "note", "2026-12-06T09:00:00.000Z", "UTC", float(n),
         None, None, "{}", sealed, b"\x00" * 32)
        for n in range(entries)
    ]  # fmt: skip
    wall, cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(cluster.tcp_dsn(db, login, "floor")) as conn:
        for start in range(0, entries, sync.BATCH):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s, %s) ON CONFLICT (gid) DO NOTHING",
                    rows[start : start + sync.BATCH],
                )
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--rooms", type=int, default=1, help="also push N rooms' folders at once (N > 1)"
    )
    args = parser.parse_args()
    key = b"k" * 32
    results: dict[str, list[tuple[float, float]]] = {"app": [], "floor": [], "rooms": []}
    with postgres.cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        store = _folder(Path(tmp), args.entries)
        entries = len(store.events(1))
        others = [_folder(Path(tmp) / f"room{n}", args.entries) for n in range(args.rooms)]
        for run in range(args.runs + 1):  # the first pair warms up
            pair = [
                *(
                    [("rooms", lambda: _rooms_at_once(cluster, others, key))]
                    if args.rooms > 1
                    else []
                ),
                ("app", lambda: _app(cluster, store, key)),
                ("floor", lambda: _floor(cluster, entries)),
            ]
            if run % 2:
                pair.reverse()
            for name, fn in pair:
                measured = fn()
                if run:
                    results[name].append(measured)
        store.close()
        for other in others:
            other.close()
    print(f"{entries} entries, {args.runs} runs each, app and floor alternating")
    for name, runs in results.items():
        if not runs:
            continue
        count = entries * (args.rooms if name == "rooms" else 1)
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(
            f"{name:5}: {count} entries, wall median {wall * 1000:.0f} ms "
            f"({count / wall:,.0f} entries/s), CPU median {cpu * 1000:.0f} ms "
            f"({count / cpu:,.0f} entries/CPU-s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
