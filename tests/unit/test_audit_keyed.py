"""The keyed audit chain: where its key comes from (a plain folder's 0600 file, or derived from
an encrypted folder's data key), the migration that keeps older entries verifiable, what verify
says without the key, and the key's trip beside the backups and back by restore."""

from __future__ import annotations

import io
import secrets
import sqlite3
import stat
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from kapsession.cli import commands
from kapsession.errors import DataFolderError
from kapsession.storage import audit, backup, chain_key, schema
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

NOW = datetime(2026, 3, 2, 10, 30, 5, tzinfo=UTC)


def _verify(path: Path, key: bytes | None = None) -> list[str]:
    store = Store.open_readonly(path, key)
    try:
        return [str(p) for p in audit.verify(store.db.conn).problems]
    finally:
        store.close()


def _actions(folder: Path) -> list[str]:
    with closing(sqlite3.connect(folder / DB_NAME)) as conn:
        return [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY id")]


def test_a_new_plain_folder_gets_a_private_chain_key_that_pins_where_the_chain_starts(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    Store.open(folder).close()
    file = folder / chain_key.FILE_NAME
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    own = chain_key.read(folder)
    assert own is not None and own.anchor == (1, audit.GENESIS)
    assert _actions(folder) == ["chain_keyed"]
    assert _verify(folder) == []


def test_an_older_database_keeps_its_sha256_entries_and_is_keyed_from_a_marker(
    tmp_path: Path,
) -> None:
    with closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        db = Database(conn)
        schema.migrations.apply(db, stop_before=audit.KEYED_MIGRATION)
        db.execute("INSERT INTO clients (code, created_at) VALUES ('OLD-1', '2025-01-01')")
        conn.commit()
        head = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC").fetchone()
    assert not (tmp_path / chain_key.FILE_NAME).exists()

    store = Store.open(tmp_path)
    store.add_client("NEW-1", None, False, NOW)
    store.close()

    assert _actions(tmp_path) == ["create", "chain_keyed", "create"]
    own = chain_key.read(tmp_path)
    assert own is not None and own.anchor == (head[0] + 1, head[1])
    assert _verify(tmp_path) == []


def test_an_encrypted_folder_derives_its_chain_key_and_needs_no_file(tmp_path: Path) -> None:
    folder, key = tmp_path / "data", secrets.token_bytes(32)
    Store.open(folder, key=key).close()
    assert not (folder / chain_key.FILE_NAME).exists()
    assert _verify(folder, key) == []
    assert chain_key.derive(key) != key
    assert chain_key.derive(key) == chain_key.derive(key)


def test_without_its_chain_key_a_database_opens_for_reading_and_verify_says_so(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    store = Store.open(folder)
    store.add_client("A-1", None, False, NOW)
    store.close()
    (folder / chain_key.FILE_NAME).unlink()

    assert _verify(folder) == ["audit chain not checked: the chain key is missing"]
    out = io.StringIO()
    assert commands._verify(folder, out) == commands.EXIT_BROKEN
    assert "audit chain not checked: the chain key is missing" in out.getvalue()
    with pytest.raises(DataFolderError, match=r"chain key \(kapsession.chainkey\) is missing"):
        Store.open(folder)


def test_a_plain_folders_chain_key_goes_beside_its_backups_and_restore_installs_it(
    tmp_path: Path,
) -> None:
    folder, target, fresh = tmp_path / "data", tmp_path / "backups", tmp_path / "fresh"
    store = Store.open(folder)
    store.add_client("A-1", None, False, NOW)
    store.close()
    made = backup.create(folder, target, NOW)
    assert made.verified.problems == []
    beside = target / backup.beside_name(chain_key.FILE_NAME, made.verified.owner)
    assert beside.read_bytes() == (folder / chain_key.FILE_NAME).read_bytes()
    assert backup.verify_file(made.path).problems == []

    backup.restore(made.path, fresh, NOW)
    assert chain_key.read(fresh) == chain_key.read(folder)
    assert _verify(fresh) == []


def test_restoring_another_folders_backup_sets_the_folders_own_key_aside(tmp_path: Path) -> None:
    one, two, target = tmp_path / "one", tmp_path / "two", tmp_path / "backups"
    for folder in (one, two):
        Store.open(folder).close()
    made = backup.create(one, target, NOW)
    backup.restore(made.path, two, NOW, replace=True)
    assert chain_key.read(two) == chain_key.read(one)
    assert [p.name for p in two.glob(chain_key.FILE_NAME + ".replaced-*")]
    assert _verify(two) == []
