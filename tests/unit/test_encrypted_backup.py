"""Backups, verify and restore on an ENCRYPTED data folder: the backup is a SQLCipher file keyed
with the folder's data key (never a plaintext byte on disk, plain sqlite3 cannot read it), it is
verified with that key, `kapsession verify` reads it with the key file beside it or the one of
--data-dir, and restore keeps the folder's key file and its database consistent."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kapsession.cli import commands
from kapsession.clock import FakeClock
from kapsession.errors import NeedsKey, WrongKey
from kapsession.session.live import SessionService
from kapsession.storage import backup, datakey
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store, is_plaintext

from .conftest import AUTHOR, T0, TZ, PlanFactory

PASS = "orchard pebble winter song"
OTHER = "lantern meadow quiet river"
FAST = datakey.KdfParams(time_cost=1, memory_cost_kib=1024, parallelism=1)
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
CANARY = "canary-backup-okapi"


def _encrypted_folder(folder: Path, make_plan: PlanFactory, passphrase: str = PASS) -> bytes:
    folder.mkdir(parents=True)
    key = datakey.create_key(folder, passphrase, FAST)
    store = Store.open(folder, key=key)
    try:
        clock = FakeClock(T0)
        service = SessionService(store, clock, TZ, AUTHOR)
        live = service.give_dose(service.plan(make_plan(client_code="C-BAK")).id)
        clock.advance(60)
        live.add_note(f"she said {CANARY}")
        live.end("drill")
    finally:
        store.close()
    return key


def _notes(path: Path, key: bytes | None) -> list[str]:
    store = Store.open_readonly(path, key)
    try:
        return [e.data["text"] for e in store.events_of_kind("note")]
    finally:
        store.close()


def _unreadable_to_sqlite3(path: Path) -> None:
    assert not is_plaintext(path)
    assert CANARY.encode() not in path.read_bytes()
    with (
        closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn,
        pytest.raises(sqlite3.DatabaseError, match="not a database"),
    ):
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()


@pytest.fixture
def folder(tmp_path: Path, make_plan: PlanFactory) -> Path:
    return tmp_path / "data"


def test_a_backup_of_an_encrypted_folder_is_encrypted_with_its_key(
    folder: Path, tmp_path: Path, make_plan: PlanFactory
) -> None:
    key = _encrypted_folder(folder, make_plan)
    target = tmp_path / "usb"
    with pytest.raises(NeedsKey):
        backup.create(folder, target, NOW)  # never a plaintext copy for want of the key
    assert backup.backups_in(target) == []

    result = backup.create(folder, target, NOW, key=key)
    _unreadable_to_sqlite3(result.path)
    assert result.verified.problems == []
    assert _notes(result.path, key) == [f"she said {CANARY}"]
    # The wrapped key beside the backups (useless without the passphrase), nothing else.
    copy = backup.beside_name(datakey.KEY_FILE, result.verified.owner)
    assert copy == f"kapsession-{result.verified.owner}.key"
    assert sorted(p.name for p in target.iterdir()) == [result.path.name, copy]
    assert datakey.key_from_file(target / copy, env={datakey.PASSPHRASE_ENV: PASS}) == key
    with pytest.raises(WrongKey):
        backup.verify_file(result.path, bytes(32))
    with pytest.raises(sqlite3.DatabaseError):
        backup.verify_file(result.path)


def test_the_backup_key_file_follows_a_passphrase_change(
    folder: Path, tmp_path: Path, make_plan: PlanFactory
) -> None:
    key = _encrypted_folder(folder, make_plan)
    target = tmp_path / "usb"
    made = backup.create(folder, target, NOW, key=key).path
    datakey.change_passphrase(folder, PASS, OTHER, FAST)
    backup.create(folder, target, NOW + timedelta(days=1), key=key)
    copy = backup.key_file_beside(made)
    assert datakey.key_from_file(copy, env={datakey.PASSPHRASE_ENV: OTHER}) == key
    with pytest.raises(WrongKey):
        datakey.key_from_file(copy, env={datakey.PASSPHRASE_ENV: PASS})


def test_cli_backup_verify_and_restore_on_an_encrypted_folder(
    folder: Path,
    tmp_path: Path,
    make_plan: PlanFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = _encrypted_folder(folder, make_plan)
    target = tmp_path / "usb"
    monkeypatch.delenv(datakey.PASSPHRASE_ENV, raising=False)
    assert commands.main(["backup", "--data-dir", str(folder), "--to", str(target)]) == 2
    assert "encrypted" in capsys.readouterr().err
    assert backup.backups_in(target) == []

    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    assert commands.main(["backup", "--data-dir", str(folder), "--to", str(target)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "Backup written and verified" in out
    (made,) = backup.backups_in(target)
    _unreadable_to_sqlite3(made)

    # verify PATH: the key file beside the backup; or --data-dir's; the folder itself.
    assert commands.main(["verify", str(made)]) == 0
    assert capsys.readouterr().out.startswith("OK: integrity ok")
    alone = tmp_path / "alone"
    alone.mkdir()
    lone = alone / made.name
    lone.write_bytes(made.read_bytes())
    monkeypatch.setenv("KAPSESSION_DATA_DIR", str(tmp_path / "nowhere"))
    assert commands.main(["verify", str(lone)]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert commands.main(["verify", "--data-dir", str(folder), str(lone)]) == 0
    assert capsys.readouterr().out.startswith("OK: integrity ok")
    assert commands.main(["verify", "--data-dir", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("OK: integrity ok")
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, OTHER)
    assert commands.main(["verify", str(made)]) == 2
    assert "does not unlock" in capsys.readouterr().err
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)

    # A later entry, then restore over it: the backup's state comes back, still encrypted,
    # with the same key file; the replaced database is kept aside, encrypted too.
    key_file_before = datakey.key_path(folder).read_bytes()
    store = Store.open(folder, key=key)
    store.audit("export", "sessions", target_id=1, detail="json")
    store.close()
    assert commands.main(["restore", "--data-dir", str(folder), str(made)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert commands.main(["restore", "--data-dir", str(folder), "--yes", str(made)]) == 0
    out = capsys.readouterr().out
    assert "Restored" in out and "kept as" in out
    _unreadable_to_sqlite3(folder / DB_NAME)
    assert datakey.key_path(folder).read_bytes() == key_file_before
    (aside,) = folder.glob(f"{DB_NAME}.replaced-*")
    _unreadable_to_sqlite3(aside)
    assert backup.verify_file(aside, key).problems == []
    store = Store.open_readonly(folder, key)
    actions = [r[0] for r in store.db.execute("SELECT action FROM audit ORDER BY id")]
    store.close()
    assert actions[-1] == "restore" and "export" not in actions[-3:]
    assert _notes(folder, key) == [f"she said {CANARY}"]
    assert commands.main(["verify", "--data-dir", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("OK: integrity ok")


def test_restore_into_a_new_folder_installs_the_key_file_beside_the_backup(
    folder: Path,
    tmp_path: Path,
    make_plan: PlanFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The laptop is gone: the backup drive and the passphrase are enough."""
    key = _encrypted_folder(folder, make_plan)
    made = backup.create(folder, tmp_path / "usb", NOW, key=key).path
    fresh = tmp_path / "new-laptop"
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, PASS)
    assert commands.main(["restore", "--data-dir", str(fresh), str(made)]) == 0
    capsys.readouterr()
    assert datakey.unlock(fresh, PASS) == key
    _unreadable_to_sqlite3(fresh / DB_NAME)
    assert _notes(fresh, key) == [f"she said {CANARY}"]
    assert commands.main(["sessions", "--data-dir", str(fresh)]) == 0
    assert "C-BAK" in capsys.readouterr().out


def test_a_backup_made_with_another_key_is_refused(
    folder: Path, tmp_path: Path, make_plan: PlanFactory
) -> None:
    key = _encrypted_folder(folder, make_plan)
    other_key = _encrypted_folder(tmp_path / "other", make_plan, OTHER)
    foreign = backup.create(tmp_path / "other", tmp_path / "ob", NOW, key=other_key).path
    before = (folder / DB_NAME).read_bytes()
    with pytest.raises(backup.RestoreError, match="not made with this key"):
        backup.restore(foreign, folder, NOW, replace=True, key=key)
    with pytest.raises(backup.RestoreError, match="not this data folder's key"):
        backup.restore(foreign, folder, NOW, replace=True, key=other_key)
    assert (folder / DB_NAME).read_bytes() == before
    assert list(folder.glob(f"{DB_NAME}.replaced-*")) == []


def test_a_plaintext_backup_into_an_encrypted_folder_is_refused_or_encrypted_when_asked(
    folder: Path, tmp_path: Path, make_plan: PlanFactory
) -> None:
    """A backup from before the folder was encrypted: no plaintext copy lands in the folder."""
    plain = tmp_path / "plain"
    store = Store.open(plain)
    service = SessionService(store, FakeClock(T0), TZ, AUTHOR)
    service.give_dose(service.plan(make_plan(client_code="C-OLD")).id).add_note(CANARY)
    store.close()
    old = backup.create(plain, tmp_path / "ob", NOW).path
    assert is_plaintext(old)
    key = _encrypted_folder(folder, make_plan)
    with pytest.raises(backup.RestoreError, match="--encrypt-plaintext"):
        backup.restore(old, folder, NOW, replace=True, key=key)
    assert _notes(folder, key) == [f"she said {CANARY}"], "refused by default, left as it was"
    backup.restore(old, folder, NOW, replace=True, key=key, encrypt_plaintext=True)
    _unreadable_to_sqlite3(folder / DB_NAME)
    assert _notes(folder, key) == [CANARY]
    assert backup.verify_file(folder / DB_NAME, key).problems == []
    assert not any(p.name.startswith(".kapsession-restore-") for p in folder.iterdir())


def test_setting_up_or_migrating_encryption_is_on_the_audit_trail(
    tmp_path: Path, make_plan: PlanFactory
) -> None:
    new = tmp_path / "new"
    key = _encrypted_folder(new, make_plan)
    store = Store.open_readonly(new, key)
    try:
        first = store.db.execute("SELECT action, detail FROM audit ORDER BY id").fetchall()
    finally:
        store.close()
    assert ("encrypt", "SQLCipher; a new database, encrypted from the start") in first

    old = tmp_path / "old"
    Store.open(old).close()  # plaintext, then encrypted in place (as the set-up screen does)
    key = datakey.create_key(old, PASS, FAST)
    Store.open(old, key=key).close()
    Store.open(old, key=key).close()  # a second open encrypts nothing and records nothing
    store = Store.open_readonly(old, key)
    try:
        rows = store.db.execute(
            "SELECT detail FROM audit WHERE action = 'encrypt' ORDER BY id"
        ).fetchall()
    finally:
        store.close()
    assert rows == [("SQLCipher; the existing database was encrypted in place",)]
