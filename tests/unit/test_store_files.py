"""The database on disk: the connection factory's settings, every way opening a data folder can
fail (each leaving the files exactly as they were), migrations of older databases, and the
one-app-per-folder lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from kapsession.clock import FakeClock
from kapsession.errors import AlreadyOpenError, DataFolderError, NewerSchemaError
from kapsession.session.live import SessionService
from kapsession.storage import schema
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import BUSY_TIMEOUT_MS, Store, connect

from .conftest import AUTHOR, TZ, PlanFactory

# Every migration this version knows, in order. Written against the list, so that adding m002
# adds a case to the upgrade test below instead of making it stale.
MIGRATIONS = [m.name for m in schema.migrations.pending(Database(memory=True))]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_connection_factory_sets_wal_full_sync_foreign_keys_and_busy_timeout(
    tmp_path: Path,
) -> None:
    db = connect(tmp_path / DB_NAME)
    try:
        pragma = {
            name: db.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    finally:
        db.close()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL: NORMAL can lose a commit on power loss
        "foreign_keys": 1,
        "busy_timeout": BUSY_TIMEOUT_MS,
    }
    assert BUSY_TIMEOUT_MS >= 1000


def test_a_store_opened_on_a_folder_uses_the_factory_and_a_private_file(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "new" / "data")
    try:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()
    assert (tmp_path / "new" / "data" / DB_NAME).stat().st_mode & 0o077 == 0


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            store.append(999, "note", datetime.now(UTC), "UTC", 0.0, {"text": "orphan"})
    finally:
        store.close()


def test_a_data_folder_that_cannot_be_created_is_refused_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file\n")
    folder = blocker / "kapsession"

    with pytest.raises(DataFolderError, match=r"Cannot create the data folder .*not-a-folder"):
        Store.open(folder)

    assert _files(tmp_path) == ["not-a-folder"]
    assert blocker.read_text() == "a regular file\n"


def test_a_data_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("x")
    with pytest.raises(DataFolderError, match="data folder"):
        Store.open(blocker)
    assert blocker.read_text() == "x"


def test_opening_without_create_on_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(DataFolderError, match="There is no kapsession data in"):
        Store.open(tmp_path / "missing", create=False)
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "content",
    [
        b"This is a shopping list, not a database.\n" * 200,
        b"SQLite format 3\x00" + b"\xff" * 4080,  # a database header over garbage
    ],
)
def test_a_file_that_is_not_a_database_is_refused_and_left_untouched(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / DB_NAME
    path.write_bytes(content)

    with pytest.raises(DataFolderError, match=r"not a readable kapsession database.*untouched"):
        Store.open(tmp_path)

    assert path.read_bytes() == content
    assert _files(tmp_path) == [DB_NAME], "no -wal, -shm or -journal beside it"


def _newer_database(folder: Path, journal_mode: str) -> Path:
    """A database as a future kapsession would leave it: our migrations plus one we don't know."""
    path = folder / DB_NAME
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
        db = Database(conn)
        schema.migrations.apply(db)
        db.table("_sqlite_migrations").insert(
            {
                "migration_set": "kapsession",
                "name": "m999_from_the_future",
                "applied_at": "2031-01-01 00:00:00+00:00",
            }
        )
        db.execute("INSERT INTO clients (code, created_at) VALUES ('FUTURE-1', '2031-01-01')")
    # The migration to a keyed audit chain made the folder's chain key beside it.
    assert _files(folder) == ["kapsession.chainkey", DB_NAME], (
        "the last connection closed and took its -wal with it"
    )
    return path


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_a_database_from_a_newer_schema_is_refused_and_left_byte_for_byte(
    tmp_path: Path, journal_mode: str
) -> None:
    path = _newer_database(tmp_path, journal_mode)
    before = path.read_bytes()

    with pytest.raises(NewerSchemaError, match=r"newer version of kapsession.*Nothing was changed"):
        Store.open(tmp_path)

    assert path.read_bytes() == before, "not even the journal mode was switched"
    assert _files(tmp_path) == ["kapsession.chainkey", DB_NAME], (
        "no -wal or -shm left behind by the refused open"
    )


def test_migrations_of_another_set_in_the_same_database_are_not_mistaken_for_newer(
    tmp_path: Path,
) -> None:
    Store.open(tmp_path).close()
    with closing(sqlite3.connect(tmp_path / DB_NAME)) as conn, conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('some-plugin', 'm001_plugin', '2026-01-01')"
        )
        ours = conn.execute("SELECT * FROM _sqlite_migrations ORDER BY rowid").fetchall()
    Store.open(tmp_path).close()  # opens: the other set's migration is not "newer"
    with closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        after = conn.execute("SELECT * FROM _sqlite_migrations ORDER BY rowid").fetchall()
    assert after == ours, "nothing re-applied, the other set's row left alone"


def _seed_with_m001_sql(db: Database) -> None:
    """One ended session with a note, written with m001's columns only, as an old kapsession
    would have written it."""
    db.execute(
        "INSERT INTO clients (id, code, display_name, rehearsal, created_at) "
        "VALUES (1, 'OLD-7', 'Ada', 0, '2025-11-03T08:00:00.000Z')"
    )
    db.execute(
        "INSERT INTO sessions (id, client_id, protocol, route, dose_mg, planned_minutes, "
        "intention, state, created_at, dose_at, dose_tz, anchor_mono, anchor_boot) "
        "VALUES (1, 1, 'IM 60', 'intramuscular', 50, 60, 'rest', 'running', "
        "'2025-11-03T08:00:00.000Z', '2025-11-03T08:10:00.000Z', 'Europe/Oslo', 100.0, 'old')"
    )
    db.execute(
        "INSERT INTO events (session_id, kind, at, tz, t, data) VALUES "
        "(1, 'dose', '2025-11-03T08:10:00.000Z', 'Europe/Oslo', 0, '{\"mg\": 50}'), "
        "(1, 'note', '2025-11-03T08:20:00.000Z', 'Europe/Oslo', 600, "
        '\'{"text": "Jeg ser havet 🌊", "tags": ["quote"]}\')'
    )
    db.execute(
        "UPDATE sessions SET state = 'ended', ended_at = '2025-11-03T09:10:00.000Z', "
        "ended_t = 3600 WHERE id = 1"
    )


def test_an_empty_file_is_a_version_0_database_and_is_brought_up_to_date(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"")
    store = Store.open(tmp_path)
    try:
        assert [m.name for m in schema.migrations.applied(store.db)] == MIGRATIONS
        assert store.sessions() == []
    finally:
        store.close()


@pytest.mark.parametrize("applied", range(len(MIGRATIONS) + 1))
def test_an_older_database_is_upgraded_and_its_data_survives(
    tmp_path: Path, applied: int, make_plan: PlanFactory
) -> None:
    with closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        db = Database(conn)
        if applied < len(MIGRATIONS):
            schema.migrations.apply(db, stop_before=MIGRATIONS[applied])
        else:
            schema.migrations.apply(db)
        assert [m.name for m in schema.migrations.applied(db)] == MIGRATIONS[:applied]
        if applied:
            _seed_with_m001_sql(db)

    store = Store.open(tmp_path)
    try:
        assert [m.name for m in schema.migrations.applied(store.db)] == MIGRATIONS
        assert schema.migrations.pending(store.db) == []
        if applied:
            old = store.session(1)
            assert (old.client_code, old.route, old.dose_mg, old.state, old.ended_t) == (
                "OLD-7",
                "intramuscular",
                50.0,
                "ended",
                3600.0,
            )
            note = store.events(1)[1]
            assert (note.kind, note.t, dict(note.data)) == (
                "note",
                600.0,
                {"text": "Jeg ser havet 🌊", "tags": ["quote"]},
            )
        # The upgraded database takes a new session like a fresh one.
        service = SessionService(store, FakeClock(), TZ, AUTHOR)
        live = service.give_dose(service.plan(make_plan()).id)
        assert live.add_note("after the upgrade").data["text"] == "after the upgrade"
    finally:
        store.close()


def test_reopening_a_current_database_changes_nothing_and_keeps_the_data(
    tmp_path: Path, make_plan: PlanFactory
) -> None:
    store = Store.open(tmp_path)
    service = SessionService(store, FakeClock(), TZ, AUTHOR)
    live = service.give_dose(service.plan(make_plan()).id)
    live.add_note("qf: before closing")
    events = live.events()
    applied = schema.migrations.applied(store.db)
    store.close()

    store = Store.open(tmp_path)
    try:
        assert schema.migrations.applied(store.db) == applied
        assert store.events(live.record.id) == events
        assert store.running_session() == store.session(live.record.id)
    finally:
        store.close()


def test_a_second_app_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    first, second = InstanceLock(tmp_path), InstanceLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(AlreadyOpenError, match="already open on this data folder"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()


def test_a_lock_held_by_a_killed_process_is_free_again(tmp_path: Path) -> None:
    holder = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from kapsession.storage.instance_lock import InstanceLock
        lock = InstanceLock(Path(sys.argv[1]))  # kept referenced: a collected lock is released
        lock.acquire()
        print("LOCKED", flush=True)
        sys.stdin.read()  # hold the lock until killed
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "LOCKED\n"
        with pytest.raises(AlreadyOpenError):
            InstanceLock(tmp_path).acquire()

        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    lock = InstanceLock(tmp_path)
    lock.acquire()  # the kernel dropped the dead process's lock
    lock.release()
