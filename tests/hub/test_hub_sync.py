"""The outbox sync against a real PostgreSQL: a rich session pushed in order, idempotently, its
clinical text sealed; `hub export` gives the laptop's own export back entry for entry."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from helpers.cli import run

from kapsession.storage import backup
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store
from tests.hub.conftest import Hub
from tests.unit import rich_session


def _laptop(hub: Hub, folder: Path, room: str, capsys: pytest.CaptureFixture[str]) -> int:
    """A data folder with a rich session in it, joined to the hub as ROOM; its session id."""
    rich = rich_session.build(folder, charting=True)
    rich.store.close()
    code, _, err = run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn(room), "--room", room,
         "--clinic-key", str(hub.key_file)], capsys
    )  # fmt: skip
    assert (code, err) == (0, "")
    return rich.session_id


def _sync(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run(["hub", "sync", "--data-dir", str(folder)], capsys)


def _hub_export(hub: Hub, room: str, session: str, capsys) -> dict:
    code, out, err = run(
        ["hub", "export", "--dsn", hub.logins()["board"], "--clinic-key", str(hub.key_file),
         "--room", room, "--session", session, "--format", "json"], capsys
    )  # fmt: skip
    assert (code, err) == (0, "")
    doc = json.loads(out)
    doc.pop("exported_at")
    return doc


def _laptop_export(folder: Path, session: str, capsys) -> dict:
    code, out, err = run(
        ["export", "--data-dir", str(folder), "--session", session, "--format", "json"], capsys
    )
    assert (code, err) == (0, "")
    doc = json.loads(out)
    doc.pop("exported_at")
    return doc


def _count(hub: Hub, table: str) -> int:
    with psycopg.connect(hub.admin_dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _local_entries(folder: Path) -> int:
    with sqlite3.connect(folder / DB_NAME) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def test_a_synced_session_exports_from_the_hub_exactly_as_from_the_laptop(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    monkeypatch.setenv("KAPSESSION_SIGNER_PIN", rich_session.CLINICIAN_PIN)
    code, _, err = run(
        ["sign", "--data-dir", str(folder), "--session", str(sid), "--as", rich_session.CLINICIAN],
        capsys,
    )
    assert (code, err) == (0, "")
    entries = _local_entries(folder)

    code, out, err = _sync(folder, capsys)
    assert (code, err) == (0, "")
    assert out == (
        f"Sent 1 client(s), 1 session update(s), {entries} entries; nothing is left to send.\n"
    )
    hub_doc = _hub_export(hub, "a", "latest", capsys)
    laptop_doc = _laptop_export(folder, str(sid), capsys)
    assert hub_doc["session"] == laptop_doc["session"]
    assert [s["name"] for s in hub_doc["session"]["signatures"]] == [rich_session.CLINICIAN]
    assert len(hub_doc["events"]) == len(laptop_doc["events"]) > 40
    for ours, theirs in zip(hub_doc["events"], laptop_doc["events"], strict=True):
        assert ours == theirs
    assert hub_doc == laptop_doc
    assert _hub_export(hub, "a", str(sid), capsys) == hub_doc

    # The laptop's export was noted on its timeline: the next sync sends just that entry, then
    # nothing at all.
    code, out, _ = _sync(folder, capsys)
    assert code == 0 and out.startswith("Sent 0 client(s), 0 session update(s), 1 entries")
    code, out, _ = _sync(folder, capsys)
    assert code == 0 and out.startswith("Sent 0 client(s), 0 session update(s), 0 entries")
    assert _count(hub, "events") == entries + 1


def test_the_hub_holds_no_clinical_text(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    _laptop(hub, folder, "a", capsys)
    assert _sync(folder, capsys)[0] == 0
    dump = hub.cluster.pg_dump(hub.dbname)
    assert "C-017" in dump and "check_due" in dump, "the board's plain fields are there"
    secrets = [
        rich_session.QUOTE,
        rich_session.INSIGHT,
        rich_session.AMENDED_ORIGINAL,
        rich_session.AMENDED_TEXT,
        "misheard: warm",  # an amendment's reason
        "breathing slow",  # an observation's free text
        "client asleep",  # a skipped check's reason
        rich_session.SHARED_ANSWER,  # the worksheet
        rich_session.UNSHARED_ANSWER,
        "Bracing for criticism",  # the preparation
        "Meet the fear",  # the session's intention
        "Long reflection",
        rich_session.CLINICIAN,
    ]
    assert [s for s in secrets if s in dump] == []


def test_a_restored_backup_pushed_again_doubles_nothing(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    _laptop(hub, folder, "a", capsys)
    code, _, _ = run(
        ["backup", "--data-dir", str(folder), "--to", str(tmp_path / "backups")], capsys
    )
    assert code == 0
    (made,) = backup.backups_in(tmp_path / "backups")
    assert _sync(folder, capsys)[0] == 0
    held = (_count(hub, "clients"), _count(hub, "sessions"), _count(hub, "events"))

    code, _, _ = run(["restore", str(made), "--data-dir", str(folder), "--yes"], capsys)
    assert code == 0
    code, out, err = _sync(folder, capsys)
    assert (code, err) == (0, "")
    # The restored cursor is from before the first sync: every client and entry went again (the
    # session is unchanged on the hub, so not), none doubled.
    assert out.startswith("Sent 1 client(s), 0 session update(s), ")
    assert (_count(hub, "clients"), _count(hub, "sessions"), _count(hub, "events")) == held


def test_a_restored_backup_written_on_after_the_hub_had_newer_entries_stops_with_one_line(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    assert run(["backup", "--data-dir", str(folder), "--to", str(tmp_path / "b")], capsys)[0] == 0
    (made,) = backup.backups_in(tmp_path / "b")
    store = Store.open(folder)
    at = rich_session.T0 + timedelta(hours=5)
    store.append(sid, "amendment", at, "UTC", None, {"text": "first"}, amends=2, reason="r1")
    store.close()
    assert _sync(folder, capsys)[0] == 0
    assert run(["restore", str(made), "--data-dir", str(folder), "--yes"], capsys)[0] == 0
    store = Store.open(folder)
    store.append(sid, "amendment", at, "UTC", None, {"text": "second"}, amends=2, reason="r2")
    store.close()
    held = _count(hub, "events")

    code, out, err = _sync(folder, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "holds 1 different events" in err
    assert _count(hub, "events") == held, "the hub's entry is kept, not replaced"
    assert _local_entries(folder) == held, "the laptop's entry is kept, waiting"


def test_with_the_hub_down_sync_says_so_in_one_line_and_loses_nothing(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    entries = _local_entries(folder)
    hub.cluster.stop()
    try:
        code, out, err = _sync(folder, capsys)
    finally:
        hub.cluster.start()
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert "cannot be reached" in err and f"{entries} entries wait on this laptop" in err
    assert "password" not in err
    assert _local_entries(folder) == entries

    code, out, err = _sync(folder, capsys)
    assert (code, err) == (0, "") and f"{entries} entries" in out
    assert _hub_export(hub, "a", "latest", capsys) == _laptop_export(folder, str(sid), capsys)


def test_two_rooms_sync_side_by_side_and_each_reads_back_its_own(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    sid_a, sid_b = _laptop(hub, a, "a", capsys), _laptop(hub, b, "b", capsys)
    assert _sync(a, capsys)[0] == 0 and _sync(b, capsys)[0] == 0
    assert _hub_export(hub, "a", "latest", capsys) == _laptop_export(a, str(sid_a), capsys)
    assert _hub_export(hub, "b", "latest", capsys) == _laptop_export(b, str(sid_b), capsys)


def test_a_laptop_joined_with_another_rooms_login_sends_nothing(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    _laptop(hub, folder, "a", capsys)
    settings = json.loads((folder / "hub.json").read_text())
    settings["room"] = "b"  # room b's name, room a's login
    (folder / "hub.json").write_text(json.dumps(settings))
    code, out, err = _sync(folder, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "row-level security" in err
    assert _count(hub, "events") == 0 and _count(hub, "clients") == 0


def test_a_hub_with_a_newer_schema_is_left_alone_with_one_line(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    _laptop(hub, folder, "a", capsys)
    with psycopg.connect(hub.admin_dsn) as conn:
        conn.execute("INSERT INTO hub_migrations (name) VALUES ('h999_from_the_future')")
    code, out, err = _sync(folder, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "schema is newer than this kapsession" in err
    assert _count(hub, "events") == 0
    code, out, err = run(
        ["hub", "init", "--dsn", hub.admin_dsn, "--clinic-key", str(tmp_path / "new.key")], capsys
    )
    assert code == 2 and "schema is newer" in err and not (tmp_path / "new.key").exists()


def test_an_encrypted_folder_syncs_with_its_passphrase(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    monkeypatch.setenv("KAPSESSION_NEW_PASSPHRASE", "correct horse battery staple")
    assert run(["encrypt", "--data-dir", str(folder)], capsys)[0] == 0
    monkeypatch.setenv("KAPSESSION_PASSPHRASE", "correct horse battery staple")
    code, out, err = _sync(folder, capsys)
    assert (code, err) == (0, "") and "nothing is left to send" in out
    assert _hub_export(hub, "a", "latest", capsys) == _laptop_export(folder, str(sid), capsys)


def test_the_board_reads_phases_checks_and_alerts_in_plain_and_nothing_measured(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    _laptop(hub, folder, "a", capsys)
    assert _sync(folder, capsys)[0] == 0
    with psycopg.connect(hub.logins()["board"]) as board:
        rows = board.execute(
            "SELECT e.kind, e.board FROM events e JOIN sessions s ON s.gid = e.session_gid "
            "WHERE s.room = 'a' ORDER BY e.local_seq"
        ).fetchall()
    boards = dict(rows)  # the last of each kind
    assert boards["phase"]["name"] == "return"
    assert set(boards["check_due"]) == {"check", "label", "due_t"}
    assert set(boards["alert"]) == {"field", "source", "low", "high"}
    assert boards["alert"]["field"] == "systolic"
    assert boards["silence"] == {"on": False}
    assert all("value" not in b and "text" not in b for _, b in rows)
    # An answer names only the check it answers; the dose only the protocol's check plan.
    assert set(boards["vitals"]) <= {"check"} and boards["note"] == {}
    assert set(boards["dose"]) == {"plan", "late_after_s", "missed_after_s"}
    assert boards["dose"]["plan"][0] == ["c00-baseline", 0.0, "Baseline"]


def test_a_restored_backup_planned_on_anew_stops_with_one_line_and_keeps_both_sessions(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kapsession.clock import FakeClock
    from kapsession.monitoring.protocol import builtin_protocols
    from kapsession.session.live import SessionPlan, SessionService

    def plan(at_hours: int, client: str) -> int:
        store = Store.open(folder)
        clock = FakeClock(rich_session.T0 + timedelta(hours=at_hours))
        service = SessionService(store, clock, "UTC", "Test", builtin_protocols())
        record = service.plan(SessionPlan(client, "sublingual", "sublingual", 200.0, 75, ""))
        store.close()
        return record.id

    folder = tmp_path / "laptop"
    _laptop(hub, folder, "a", capsys)
    assert run(["backup", "--data-dir", str(folder), "--to", str(tmp_path / "b")], capsys)[0] == 0
    (made,) = backup.backups_in(tmp_path / "b")
    first = plan(5, "C-017")  # the rich session's client
    assert _sync(folder, capsys)[0] == 0
    assert run(["restore", str(made), "--data-dir", str(folder), "--yes"], capsys)[0] == 0
    assert plan(6, "C-017") == first  # the same session number, another session

    code, out, err = _sync(folder, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "holds 1 different sessions" in err
    with psycopg.connect(hub.admin_dsn) as conn:
        created = conn.execute(
            "SELECT created_at FROM sessions WHERE local_id = %s", [first]
        ).fetchall()
    assert created == [("2026-03-02T14:00:00.000Z",)], "the hub's session is kept as it was"


def test_a_synced_folder_still_verifies(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    _laptop(hub, folder, "a", capsys)
    assert _sync(folder, capsys)[0] == 0
    code, out, err = run(["verify", "--data-dir", str(folder)], capsys)
    assert (code, err) == (0, "") and out.startswith("OK")


def test_sync_in_a_folder_that_has_not_joined_says_how_to_join(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    Store.open(folder).close()
    code, out, err = _sync(folder, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "has not joined a clinic hub" in err


def test_a_new_hub_or_one_restored_from_an_older_backup_gets_again_what_it_lacks(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    sid = _laptop(hub, folder, "a", capsys)
    assert _sync(folder, capsys)[0] == 0
    entries = _count(hub, "events")
    # The hub comes back from a backup older than the last entries (the owner, triggers off).
    with psycopg.connect(hub.admin_dsn, autocommit=True) as owner:
        owner.execute("ALTER TABLE events DISABLE TRIGGER USER")
        owner.execute(
            "DELETE FROM events WHERE local_seq > (SELECT max(local_seq) - 10 FROM events)"
        )
        owner.execute("ALTER TABLE events ENABLE TRIGGER USER")
    code, out, err = _sync(folder, capsys)
    assert (code, err) == (0, "") and "0 session update(s), 10 entries" in out
    assert _count(hub, "events") == entries
    assert _hub_export(hub, "a", "latest", capsys) == _laptop_export(folder, str(sid), capsys)

    # The laptop joins another, new hub: it gets everything.
    other = Hub(hub.cluster, hub.cluster.create_database(), tmp_path / "other")
    (tmp_path / "other").mkdir()
    code, _, _ = run(
        ["hub", "init", "--dsn", other.admin_dsn, "--clinic-key", str(other.key_file),
         "--room", "a"], capsys
    )  # fmt: skip
    assert code == 0
    room = other.room_dsn("a").replace(f"host={hub.cluster.sockets}", "host=127.0.0.1")
    code, _, _ = run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", room, "--room", "a",
         "--clinic-key", str(other.key_file)], capsys
    )  # fmt: skip
    assert code == 0
    code, out, err = _sync(folder, capsys)
    assert (code, err) == (0, "") and out.startswith("Sent 1 client(s), 1 session update(s)")
    assert _count(other, "events") == _local_entries(folder)
