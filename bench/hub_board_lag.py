"""The lag from a laptop's local commit to the room board's tile, four rooms writing at once.

A private PostgreSQL cluster on loopback (as the tests start it: tests/helpers/postgres.py) holds
a hub made by server_schema.init with ROOMS rooms. Each room is a real data folder with a running
session and its own background SyncWorker (kapsession/hub/worker.py, its own connections to the
folder and to the hub, the room's login over TCP with scram); a writer thread per room appends
notes through Store.append at random gaps. The board is kapsession.hub.board_feed.BoardFeed with
the read-only board login (the same LISTEN/NOTIFY path and board.read the window uses), each
snapshot turned into tiles with board.tiles. An entry's lag: from the moment its local commit
returned to the first tile whose last_seq covers it.

Two worker modes, measured in the same run:
- interval: the worker on its own (a round every worker.INTERVAL_S = 5 s), as for an entry the
  live screen did not save (a command-line amendment, a signature);
- app: the writer calls worker.committed() after each commit, as the live screen does for every
  entry it saves (ui/main_window.py connects it): a round at once while the hub answers.
The floor, in the same run, between the modes: a bare INSERT into a plain table whose trigger does
pg_notify, over the same kind of login, heard by a LISTENing connection which then SELECTs the
row (no worker, no sealing, no board read).

    .venv/bin/python bench/hub_board_lag.py [--entries N] [--rooms R]

Everything runs in this one process (writers, workers, board: one interpreter lock): the figures
are an upper bound of what separate laptops and a separate board machine would see."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import postgres  # noqa: E402

from kapsession.clock import SystemClock  # noqa: E402
from kapsession.hub import board, server_schema, worker  # noqa: E402
from kapsession.hub.board_feed import BoardFeed  # noqa: E402
from kapsession.hub.settings import HubSettings  # noqa: E402
from kapsession.storage.paths import DB_NAME  # noqa: E402
from kapsession.storage.store import Store, open_connection  # noqa: E402

KEY = b"k" * 32
NOTE = "I can see the ocean, and it is breathing with me; the music is far away now."
GAP_S = (0.1, 0.4)  # a writer's random gap between two entries


def _room_folder(root: Path) -> int:
    from kapsession.monitoring.protocol import builtin_protocols
    from kapsession.session.live import SessionService

    store = Store.open(root)
    service = SessionService(store, SystemClock(), "UTC", "bench", builtin_protocols())
    record = service.plan_rehearsal(time_scale=1.0, clock_origin=SystemClock().now())
    service.give_dose(record.id)
    store.close()  # each writer thread opens its own (sqlite3 connections stay in their thread)
    return record.id


class _Seen:
    """The first moment each room's tile covered each entry number."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.top: dict[str, int] = {}
        self.at: dict[tuple[str, int], float] = {}

    def snapshot(self, snap: board.Snapshot) -> None:
        now = time.perf_counter()
        for t in board.tiles(snap, SystemClock().now()):
            with self.lock:
                before = self.top.get(t.room, 0)
                for seq in range(before + 1, t.last_seq + 1):
                    self.at[(t.room, seq)] = now
                self.top[t.room] = max(before, t.last_seq)


def _write(
    folder: Path,
    sid: int,
    name: str,
    nudged: worker.SyncWorker | None,
    rng: random.Random,
    entries: int,
    committed: dict[tuple[str, int], float],
    lock: threading.Lock,
) -> None:
    """One room's writer: notes at random gaps, each commit's moment kept; the worker told of
    each commit (worker.committed(), the live screen's call) when NUDGED is given."""
    store = Store.open(folder)
    try:
        for _ in range(entries):
            time.sleep(rng.uniform(*GAP_S))
            event = store.append(
                sid, "note", SystemClock().now(), "UTC", None, {"text": NOTE, "tags": []}
            )
            done = time.perf_counter()
            with lock:
                committed[(name, event.seq)] = done
            if nudged is not None:
                nudged.committed()
    finally:
        store.close()


def _mode(
    cluster: postgres.Cluster, tmp: Path, rooms: int, entries: int, nudge: bool, seed: int
) -> list[float]:
    import psycopg

    db = cluster.create_database()
    names = [f"r{n}" for n in range(rooms)]
    with psycopg.connect(cluster.admin_dsn(db), autocommit=True) as admin:
        made = server_schema.init(admin, names)
    assert made.board_password is not None
    seen = _Seen()
    feed = BoardFeed(cluster.tcp_dsn(db, made.roles.board, made.board_password), seen.snapshot)
    committed: dict[tuple[str, int], float] = {}
    lock = threading.Lock()
    workers, threads = [], []
    for name in names:
        folder = tmp / f"{'nudge' if nudge else 'interval'}-{name}"
        sid = _room_folder(folder)
        settings = HubSettings(
            cluster.tcp_dsn(db, made.roles.room(name)), name, KEY, made.rooms_added[name]
        )
        w = worker.SyncWorker(lambda folder=folder: open_connection(folder / DB_NAME), settings)
        workers.append(w)

        rng = random.Random(seed + len(threads))
        job = (folder, sid, name, w if nudge else None, rng, entries, committed, lock)
        threads.append(threading.Thread(target=_write, args=job))
    feed.start()
    for w in workers:
        w.start()
    time.sleep(1.0)  # every room's first round (the plan and the dose) and the board's first read
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + worker.INTERVAL_S * 3
    while time.monotonic() < deadline:
        with seen.lock:
            if all(k in seen.at for k in committed):
                break
        time.sleep(0.05)
    for w in workers:
        w.stop()
    feed.stop()
    missing = [k for k in committed if k not in seen.at]
    if missing:
        raise SystemExit(f"{len(missing)} entries never reached the board")
    return [seen.at[k] - committed[k] for k in committed]


def _floor(cluster: postgres.Cluster, count: int) -> list[float]:
    import psycopg

    db = cluster.create_database()
    login = f"{db}_floor"
    with psycopg.connect(cluster.admin_dsn(db), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {login} LOGIN PASSWORD 'floor'")
        admin.execute("CREATE TABLE pings (id bigint PRIMARY KEY, room text, body text)")
        admin.execute(
            "CREATE FUNCTION ping_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "PERFORM pg_notify('floor', NEW.room); RETURN NULL; END $$"
        )
        admin.execute(
            "CREATE TRIGGER pings_notify AFTER INSERT ON pings FOR EACH ROW "
            "EXECUTE FUNCTION ping_notify()"
        )
        admin.execute(f"GRANT SELECT, INSERT ON pings TO {login}")
    dsn = cluster.tcp_dsn(db, login, "floor")
    lags = []
    with (
        psycopg.connect(dsn, autocommit=True) as writer,
        psycopg.connect(dsn, autocommit=True) as listener,
    ):
        listener.execute("LISTEN floor")
        for n in range(count):
            start = time.perf_counter()
            writer.execute("INSERT INTO pings VALUES (%s, 'r0', %s)", [n, NOTE])
            for _ in listener.notifies(timeout=10, stop_after=1):
                pass
            listener.execute("SELECT body FROM pings WHERE id = %s", [n]).fetchone()
            lags.append(time.perf_counter() - start)
            time.sleep(0.01)
    return lags


def _line(name: str, lags: list[float]) -> str:
    ms = sorted(x * 1000 for x in lags)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{name:8}: {len(ms)} entries, median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, "
        f"max {ms[-1]:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50, help="entries per room and mode")
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    with postgres.cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        floor_a = _floor(cluster, args.entries)
        nudged = _mode(cluster, Path(tmp), args.rooms, args.entries, True, args.seed)
        floor_b = _floor(cluster, args.entries)
        interval = _mode(cluster, Path(tmp), args.rooms, args.entries, False, args.seed)
        floor_c = _floor(cluster, args.entries)
    print(
        f"{args.rooms} rooms writing at once, {args.entries} entries each per mode "
        f"(gaps {GAP_S[0]}-{GAP_S[1]} s), worker interval {worker.INTERVAL_S:g} s"
    )
    print(_line("app (committed)", nudged))
    print(_line("interval", interval))
    print(_line("floor", floor_a + floor_b + floor_c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
