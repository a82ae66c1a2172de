"""The audit trail on real database files: every clinical write lands on it in the same
transaction, the chain verifies when whole, and `verify` names exactly where a raw edit, a
deletion, an unaudited insertion or a forged entry broke it."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from kapsession.cli import commands
from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage import audit
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

from .conftest import AUTHOR, PlanFactory


@pytest.fixture
def live(file_service: SessionService, make_plan: PlanFactory, clock: FakeClock) -> LiveSession:
    session = file_service.give_dose(file_service.plan(make_plan(display_name="Ada")).id)
    clock.advance(120)
    note = session.add_note("q: the room is breathing")
    clock.advance(60)
    session.amend_note(note.seq, "q: the room is breathing slowly", [], "completed the quote")
    session.add_vitals("128/82 76 98")
    return session


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def raw(folder: Path, live: LiveSession) -> Iterator[sqlite3.Connection]:
    """The way someone would tamper: plain sqlite3, none of our functions, autocommit."""
    live.store.close()
    with closing(sqlite3.connect(folder / DB_NAME, isolation_level=None)) as conn:
        yield conn


def _verify(folder: Path) -> audit.Report:
    store = Store.open_readonly(folder)
    try:
        return audit.verify(store.db.conn)
    finally:
        store.close()


def _problems(folder: Path) -> list[str]:
    return [str(p) for p in _verify(folder).problems]


def test_a_clean_database_verifies_with_every_row_accounted_for(
    live: LiveSession, folder: Path
) -> None:
    live.end(reason="test ends early")
    entries = live.store.db.execute("SELECT action, target, detail FROM audit ORDER BY id")
    actions = [tuple(r) for r in entries.fetchall()]
    live.store.close()

    report = _verify(folder)
    assert report.ok, report.problems
    events = report.rows["events"]
    assert report.rows == {
        "clients": 1,
        "sessions": 1,
        "events": events,
        "measures": 0,  # the measures tables (schema m009), audited too
        "measure_acks": 0,
    }
    assert events >= 5
    assert ("create", "clients", "") in actions
    assert ("create", "sessions", "planned") in actions
    assert ("start", "sessions", "state,dose_at,dose_tz,anchor_mono,anchor_boot") in actions
    assert ("amend", "events", "amendment") in actions
    assert ("create", "events", "vitals") in actions
    assert ("end", "sessions", "state,ended_at,ended_t") in actions
    assert report.entries == len(actions)


def test_entries_hold_who_when_and_a_digest_never_the_clinical_text(
    live: LiveSession, clock: FakeClock
) -> None:
    rows = live.store.db.execute("SELECT * FROM audit WHERE target = 'events'").fetchall()
    assert rows
    names = [d[0] for d in live.store.db.execute("SELECT * FROM audit LIMIT 0").description]
    for values in rows:
        entry = dict(zip(names, values, strict=True))
        assert entry["author"] == AUTHOR
        assert entry["at"].endswith("Z") and "T" in entry["at"]
        assert len(entry["digest"]) == 64
        assert "breathing" not in json.dumps(entry, ensure_ascii=False)
        assert "Ada" not in json.dumps(entry, ensure_ascii=False)


def test_a_write_that_rolls_back_leaves_no_audit_entry(live: LiveSession) -> None:
    db = live.store.db
    before = db.execute("SELECT count(*) FROM audit").fetchone()[0]
    with pytest.raises(RuntimeError), db.atomic():
        live.store.append(live.record.id, "note", live.clock.now(), "UTC", 1.0, {"text": "x"})
        assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == before + 1
        raise RuntimeError("abandon the transaction")
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == before


def test_store_audit_records_actions_that_write_no_clinical_row(
    live: LiveSession, folder: Path, clock: FakeClock
) -> None:
    entry_id = live.store.audit("export", "sessions", target_id=live.record.id, detail="json")
    live.store.audit("lock", "app", author="dr-b")
    head_id, head_hash = live.store.audit_head()
    assert head_id == entry_id + 1
    rows = live.store.db.execute(
        "SELECT action, target, target_id, author, detail FROM audit WHERE id >= ?", [entry_id]
    ).fetchall()
    assert rows == [
        ("export", "sessions", live.record.id, live.store.actor, "json"),
        ("lock", "app", None, "dr-b", ""),
    ]
    with pytest.raises(ValueError, match="not an audit action"):
        live.store.audit("Drop table", "app")
    live.store.close()
    report = _verify(folder)
    assert report.ok and report.head == head_hash


def test_the_audit_trail_refuses_update_and_delete(raw: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE audit SET author = 'someone'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM audit")


def test_a_plain_sqlite3_shell_cannot_write_a_clinical_row_at_all(
    raw: sqlite3.Connection,
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such function: kap_"):
        raw.execute(
            "INSERT INTO events (session_id, kind, at, tz, data) "
            "VALUES (1, 'note', '2026-03-02T09:10:00.000Z', 'UTC', '{}')"
        )


def test_a_raw_edit_with_the_triggers_dropped_is_named_with_its_column(
    raw: sqlite3.Connection, folder: Path
) -> None:
    seq = raw.execute("SELECT seq FROM events WHERE kind = 'note'").fetchone()[0]
    entry = raw.execute(
        "SELECT id FROM audit WHERE target = 'events' AND target_id = ?", [seq]
    ).fetchone()[0]
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("UPDATE events SET data = json_object('text', 'never said') WHERE seq = ?", [seq])

    assert _problems(folder) == [
        f"events seq {seq}: changed since audit #{entry} (events seq {seq}, create) recorded "
        "it: column(s) data"
    ]


def test_a_raw_edit_of_a_client_name_is_named(raw: sqlite3.Connection, folder: Path) -> None:
    raw.execute("DROP TRIGGER clients_audit_update")
    raw.execute("UPDATE clients SET display_name = 'Someone Else'")
    (problem,) = _problems(folder)
    assert problem.startswith("clients id 1: changed since audit #2 ")  # #1: chain_keyed
    assert problem.endswith("column(s) display_name")


def test_a_deleted_entry_is_named(raw: sqlite3.Connection, folder: Path) -> None:
    seq = raw.execute("SELECT max(seq) FROM events").fetchone()[0]
    raw.execute("DROP TRIGGER events_no_delete")
    raw.execute("DELETE FROM events WHERE seq = ?", [seq])
    (problem,) = _problems(folder)
    assert problem.startswith(f"events seq {seq}: recorded by audit #")
    assert problem.endswith("but no longer in the database (deleted)")


def test_an_insertion_without_audit_is_named(raw: sqlite3.Connection, folder: Path) -> None:
    raw.execute("DROP TRIGGER events_audit_insert")
    cur = raw.execute(
        "INSERT INTO events (session_id, kind, at, tz, t, data) "
        "VALUES (1, 'note', '2026-03-02T09:10:00.000Z', 'UTC', 600, '{\"text\": \"planted\"}')"
    )
    assert _problems(folder) == [
        f"events seq {cur.lastrowid}: has no audit entry (written with the audit bypassed)"
    ]


def test_a_forged_audit_entry_is_named(raw: sqlite3.Connection, folder: Path) -> None:
    """A raw edit covered up by rewriting its audit entry's digest: the chain breaks there."""
    seq = raw.execute("SELECT seq FROM events WHERE kind = 'vitals'").fetchone()[0]
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE events SET data = json_set(data, '$.systolic', 118) WHERE seq = ?", [seq])
    names = [d[1] for d in raw.execute("PRAGMA table_info(events)")]
    row = dict(
        zip(names, raw.execute("SELECT * FROM events WHERE seq = ?", [seq]).fetchone(), strict=True)
    )
    entry = raw.execute(
        "SELECT id FROM audit WHERE target = 'events' AND target_id = ?", [seq]
    ).fetchone()[0]
    raw.execute(
        "UPDATE audit SET digest = ?, fields = ? WHERE id = ?",
        [audit.row_digest("events", row), audit.field_hints(row), entry],
    )
    assert _problems(folder) == [
        f"audit #{entry} (events seq {seq}, create): the audit entry itself was altered or "
        "forged (hash)"
    ]


def test_an_appended_forgery_with_a_made_up_hash_is_named(
    raw: sqlite3.Connection, folder: Path
) -> None:
    head = raw.execute("SELECT max(id), hash FROM audit").fetchone()
    raw.execute(
        "INSERT INTO audit (id, at, author, action, target, detail, prev_hash, hash) "
        "VALUES (?, '2026-03-02T10:00:00.000Z', 'mallory', 'unlock', 'app', '', ?, ?)",
        [head[0] + 1, head[1], "f" * 64],
    )
    assert _problems(folder) == [
        f"audit #{head[0] + 1} (app, unlock): the audit entry itself was altered or forged (hash)"
    ]


def test_a_deleted_audit_entry_breaks_the_chain_where_it_was(
    raw: sqlite3.Connection, folder: Path
) -> None:
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DELETE FROM audit WHERE id = 3")
    problems = _problems(folder)
    assert problems[0].startswith("audit #4 (")
    assert problems[0].endswith("audit entry #3 is missing before it (deleted)")


def test_verify_on_the_command_line(live: LiveSession, folder: Path) -> None:
    live.store.close()
    folder.chmod(0o500)  # a backup folder may be read-only: verify writes nothing
    try:
        out = io.StringIO()
        assert (
            commands.run_command(commands.parse_args(["verify", "--data-dir", str(folder)]), out)
            == 0
        )
        (line,) = out.getvalue().splitlines()
        assert line.startswith("OK: integrity ok, foreign keys ok, ")
        assert "1 clients, 1 sessions" in line
    finally:
        folder.chmod(0o700)
    with closing(sqlite3.connect(folder / DB_NAME, isolation_level=None)) as conn:
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute("DELETE FROM events WHERE kind = 'vitals'")
    out = io.StringIO()
    assert commands.run_command(commands.parse_args(["verify", str(folder)]), out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == f"BROKEN: 2 problem(s) in {folder}"
    assert lines[1] == "  schema: trigger events_no_delete is missing (kapsession's schema has it)"
    assert "(deleted)" in lines[2]


def test_verify_says_when_there_is_nothing_to_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert commands.main(["verify", "--data-dir", str(tmp_path / "missing")]) == 2
    assert "There is no kapsession database" in capsys.readouterr().err
    (tmp_path / "junk.sqlite3").write_bytes(b"not a database at all\n" * 100)
    assert commands.main(["verify", str(tmp_path / "junk.sqlite3")]) == 2
    assert "not a readable kapsession database" in capsys.readouterr().err


def test_an_older_database_gets_a_baseline_entry_for_each_existing_row(tmp_path: Path) -> None:
    from sqlite_utils import Database

    from kapsession.storage import schema

    with closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        db = Database(conn)
        schema.migrations.apply(db, stop_before="m003_audit_trail")
        db.execute("INSERT INTO clients (code, created_at) VALUES ('OLD-1', '2025-01-01')")
        db.execute(
            "INSERT INTO sessions (client_id, protocol, route, dose_mg, planned_minutes, "
            "created_at) VALUES (1, 'IM', 'intramuscular', 50, 60, '2025-01-01')"
        )
        conn.commit()
    Store.open(tmp_path).close()
    report = _verify(tmp_path)
    assert report.ok, report.problems
    assert report.entries == 3, "two baseline entries, then the chain_keyed entry"
