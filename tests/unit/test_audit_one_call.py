"""Schema m006: each audit entry is made by one SQL function call per row (audit.audit_row)
instead of three, and the entries are the same bytes as m004's triggers wrote, so a folder's
chain goes on across the migration and verifies as one."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlite_utils import Database

from kapsession.storage import audit, chain_key, schema
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

NOW = datetime(2026, 3, 2, 10, 30, 5, tzinfo=UTC)
ONE_CALL = "m006_one_call_audit_entries"


def _entries(conn: sqlite3.Connection) -> list[audit.Entry]:
    rows = conn.execute(
        "SELECT id, at, author, action, target, target_id, digest, fields, detail, prev_hash, "
        "hash FROM audit ORDER BY id"
    ).fetchall()
    return [audit.Entry(*r) for r in rows]


def _verify(folder: Path) -> list[str]:
    store = Store.open_readonly(folder)
    try:
        return [str(p) for p in audit.verify(store.db.conn).problems]
    finally:
        store.close()


def test_entries_before_and_after_m006_chain_on_and_are_the_same_construction(
    tmp_path: Path,
) -> None:
    with closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        db = Database(conn)
        audit.register_functions(
            conn,
            lambda: "2026-03-01T09:00:00.000Z",
            lambda: "before",
            audit.Chain([chain_key.load_or_create(tmp_path)]),
        )
        schema.migrations.apply(db, stop_before=ONE_CALL)
        db.execute("INSERT INTO clients (code, created_at) VALUES ('OLD-1', '2025-01-01')")
        conn.commit()
        trigger = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'clients_audit_insert'"
        ).fetchone()[0]
        assert "kap_hmac_chain" in trigger and "kap_audit_entry" not in trigger

    store = Store.open(tmp_path)  # applies m006
    store.add_client("NEW-1", "Ada", False, NOW)
    store.db.execute("UPDATE clients SET display_name = 'Ada L.' WHERE code = 'NEW-1'")
    trigger = store.db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'clients_audit_insert'"
    ).fetchone()[0]
    assert "kap_audit_entry" in trigger and "kap_hmac_chain" not in trigger
    names = [r[0] for r in store.db.execute("SELECT name FROM _sqlite_migrations")]
    assert ONE_CALL in names  # and every later migration after it
    key = store.chain.key
    assert key is not None
    entries = _entries(store.db.conn)
    rows = {
        r[0]: r
        for r in store.db.execute(
            "SELECT id, code, display_name, rehearsal, created_at FROM clients"
        )
    }
    store.close()

    # The marker (m004), a row by m004's triggers, then rows by m006's.
    assert [e.action for e in entries] == ["chain_keyed", "create", "create", "update"]
    for before, entry in pairwise(entries):
        assert entry.prev_hash == before.hash
    # Every entry by the m004 construction, recomputed from scratch, either trigger's alike.
    for entry in entries:
        assert entry.hash == audit.keyed_hash(key, entry.prev_hash, entry.body())
    newest = dict(
        zip(("id", "code", "display_name", "rehearsal", "created_at"), rows[2], strict=True)
    )
    assert entries[3].digest == audit.row_digest("clients", newest)
    assert entries[3].fields == audit.field_hints(newest)
    assert entries[3].detail == "display_name"
    assert _verify(tmp_path) == []


def test_a_value_json_cannot_carry_takes_the_general_path(tmp_path: Path) -> None:
    """A blob (only a hand-run statement writes one) is digested as row_record does."""
    store = Store.open(tmp_path / "data")
    store.db.execute(
        "INSERT INTO clients (code, display_name, created_at) VALUES ('B-1', x'00ff', '2026')"
    )
    row = {
        "id": 1,
        "code": "B-1",
        "display_name": b"\x00\xff",
        "rehearsal": 0,
        "created_at": "2026",
    }
    (entry,) = [e for e in _entries(store.db.conn) if e.target == "clients"]
    store.close()
    assert entry.digest == audit.row_digest("clients", row)
    assert _verify(tmp_path / "data") == []


def test_an_entry_part_read_without_its_entry_fails_instead_of_reusing_one(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "data")
    try:
        store.add_client("A-1", None, False, NOW)  # leaves no part behind
        with pytest.raises(sqlite3.OperationalError):
            store.db.conn.execute("SELECT kap_audit_part(1)").fetchone()
    finally:
        store.close()


def test_each_audited_write_calls_the_entry_function_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = audit.audit_row

    def counted(*args: object) -> tuple[str, str, str]:
        calls.append(args[5])  # the action
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "audit_row", counted)
    store = Store.open(tmp_path / "data")
    try:
        store.add_client("A-1", None, False, NOW)
        store.db.execute("UPDATE clients SET display_name = 'x'")
    finally:
        store.close()
    assert calls == ["create", "update"]
