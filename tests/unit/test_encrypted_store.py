"""Encryption at rest: an encrypted data folder is unreadable without its key (plain sqlite3 and
`strings` see nothing), a wrong key is refused cleanly, and a plaintext database is encrypted in
place without losing a row (tests/crash/test_kill_migration.py kills it mid-way)."""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.errors import DataFolderError, StateError, WrongKey
from kapsession.session.live import SessionService
from kapsession.storage import datakey
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import NeedsKey, Store, connect, encrypt_in_place, is_plaintext

from .conftest import AUTHOR, TZ, PlanFactory

CANARY_NOTE = "CANARY-NOTE-zebra-quartz-5521"
CANARY_CLIENT = "CANARYC7"
CANARY_INTENTION = "CANARY-INTENTION-lilac-0931"
KEY = bytes(range(32))
REPO = Path(__file__).resolve().parents[2]


def _fill(store: Store, clock: FakeClock, make_plan: PlanFactory, notes: int = 3) -> int:
    service = SessionService(store, clock, TZ, AUTHOR)
    record = service.plan(make_plan(client_code=CANARY_CLIENT, intention=CANARY_INTENTION))
    live = service.give_dose(record.id)
    for i in range(notes):
        clock.advance(30)
        live.add_note(f"{CANARY_NOTE} #{i}")
    return record.id


def _strings(folder: Path) -> bytes:
    """Everything `strings` finds in every file of the folder (-wal and -shm included)."""
    out = b""
    for path in sorted(folder.iterdir()):
        out += subprocess.run(["strings", "-a", str(path)], capture_output=True, check=True).stdout
    return out


def test_an_encrypted_folder_shows_no_clinical_text_to_sqlite3_or_strings(
    tmp_path: Path, clock: FakeClock, make_plan: PlanFactory
) -> None:
    folder = tmp_path / "data"
    store = Store.open(folder, key=KEY)
    try:
        assert store.encrypted
        session_id = _fill(store, clock, make_plan)
        # Read while open: the WAL holds the latest pages, and it is encrypted too.
        found = _strings(folder)
        assert (folder / f"{DB_NAME}-wal").exists()
        for canary in (CANARY_NOTE, CANARY_CLIENT, CANARY_INTENTION):
            assert canary.encode() not in found
        assert [e.data["text"] for e in store.events(session_id) if e.kind == "note"] == [
            f"{CANARY_NOTE} #{i}" for i in range(3)
        ]
    finally:
        store.close()
    assert not is_plaintext(folder / DB_NAME)
    with closing(sqlite3.connect(folder / DB_NAME)) as plain, pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT * FROM sqlite_master").fetchall()
    assert b"events" not in _strings(folder)  # not even the schema is readable


def test_a_wrong_key_is_refused_and_never_opens_plaintext(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    Store.open(folder, key=KEY).close()
    before = (folder / DB_NAME).read_bytes()
    with pytest.raises(WrongKey, match="does not open"):
        Store.open(folder, key=secrets.token_bytes(32))
    with pytest.raises(WrongKey):
        connect(folder / DB_NAME, secrets.token_bytes(32))
    # No key at all: it is not read as a plain database either.
    with pytest.raises(DataFolderError, match="not a readable kapsession database"):
        Store.open(folder)
    assert (folder / DB_NAME).read_bytes() == before
    Store.open(folder, key=KEY).close()


def test_a_folder_with_a_key_file_needs_its_key(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    key = datakey.create_key(folder, "violet harbour lantern")
    Store.open(folder, key=key).close()
    with pytest.raises(NeedsKey, match="passphrase is needed"):
        Store.open(folder)


def test_sqlite_errors_on_an_encrypted_store_are_sqlite3_errors(
    tmp_path: Path, clock: FakeClock, make_plan: PlanFactory
) -> None:
    """The rest of the app catches sqlite3.Error (and sqlite-utils its subclasses): an encrypted
    store raises the same classes, so a failed write is handled the same way."""
    store = Store.open(tmp_path / "data", key=KEY)
    try:
        session_id = _fill(store, clock, make_plan, notes=1)
        note = next(e for e in store.events(session_id) if e.kind == "note")
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("UPDATE events SET data = '{}' WHERE seq = ?", [note.seq])
        with pytest.raises(sqlite3.OperationalError):
            store.db.execute("SELECT * FROM no_such_table")
        service = SessionService(store, clock, TZ, AUTHOR)
        second = service.plan(make_plan(client_code="C-2"))
        with pytest.raises(StateError, match="already running"):
            service.give_dose(second.id)
    finally:
        store.close()


def test_a_plaintext_database_is_encrypted_in_place_with_every_row(
    tmp_path: Path, clock: FakeClock, make_plan: PlanFactory
) -> None:
    folder = tmp_path / "data"
    store = Store.open(folder)
    session_id = _fill(store, clock, make_plan, notes=40)
    before = [(e.seq, e.kind, e.at, dict(e.data)) for e in store.events(session_id)]
    sessions = store.sessions()
    store.close()
    assert is_plaintext(folder / DB_NAME)
    assert CANARY_NOTE.encode() in _strings(folder)

    store = Store.open(folder, key=KEY)  # migrates, then opens
    try:
        assert [(e.seq, e.kind, e.at, dict(e.data)) for e in store.events(session_id)] == before
        assert store.sessions() == sessions
        # The append-only triggers came along.
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("DELETE FROM events")
        store.append(session_id, "note", clock.now(), TZ, 999.0, {"text": "after", "tags": []})
    finally:
        store.close()
    assert not is_plaintext(folder / DB_NAME)
    assert sorted(p.name for p in folder.iterdir() if "encrypting" in p.name) == []
    assert CANARY_NOTE.encode() not in _strings(folder)
    assert oct((folder / DB_NAME).stat().st_mode & 0o777) == "0o600"


def test_a_verification_failure_keeps_the_plaintext(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    Store.open(folder).close()
    before = (folder / DB_NAME).read_bytes()
    import kapsession.storage.store as store_module

    real = store_module._row_counts
    calls = iter([False, True])

    def counts_that_differ_on_the_copy(conn: object) -> dict[str, int]:
        result = real(conn)
        if next(calls):  # second call: the encrypted copy
            result["events"] += 1
        return result

    monkeypatch.setattr(store_module, "_row_counts", counts_that_differ_on_the_copy)
    with pytest.raises(DataFolderError, match="kept unencrypted and unchanged"):
        encrypt_in_place(folder / DB_NAME, KEY)
    assert is_plaintext(folder / DB_NAME)
    assert (folder / DB_NAME).read_bytes() == before
    assert not Path(f"{folder / DB_NAME}.encrypting").exists()
