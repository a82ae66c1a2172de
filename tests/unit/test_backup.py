"""Backups and restore on real files: the online backup is whole, private, verified and named by
its UTC time; retention keeps what it promises; restore refuses what it must and keeps the
replaced database aside."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kapsession.cli import commands
from kapsession.clock import FakeClock
from kapsession.errors import AlreadyOpenError
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage import audit, backup
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

from .conftest import T0, PlanFactory

NOW = datetime(2026, 3, 2, 10, 30, 5, tzinfo=UTC)


@pytest.fixture
def live(file_service: SessionService, make_plan: PlanFactory, clock: FakeClock) -> LiveSession:
    session = file_service.give_dose(file_service.plan(make_plan()).id)
    for i in range(20):
        clock.advance(30)
        session.add_note(f"note {i}: waves")
    return session


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _notes(path: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT json_extract(data, '$.text') FROM events WHERE kind = 'note' ORDER BY seq"
            )
        ]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_is_whole_verified_private_and_named_by_utc_time(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    target = tmp_path / "backups"
    result = backup.create(folder, target, NOW)  # while the session's store is still open

    owner = live.store.db.execute("SELECT id FROM folder").fetchone()[0]
    assert result.verified.owner == owner
    assert result.path == target / f"kapsession-{owner}-20260302T103005Z.sqlite3"
    assert sorted(p.name for p in target.iterdir()) == [
        result.path.name,
        f"kapsession-{owner}.chainkey",  # the plain folder's audit chain key, kept beside
    ], "no temp file left"
    assert _mode(result.path) == 0o600
    assert _mode(target) == 0o700
    assert _notes(result.path) == [f"note {i}: waves" for i in range(20)]
    assert result.verified.problems == []
    assert result.verified.entries == live.store.audit_head()[0]
    with closing(sqlite3.connect(result.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "standalone file"
    # A second backup in the same second gets its own name.
    again = backup.create(folder, target, NOW)
    assert again.path.name == f"kapsession-{owner}-20260302T103005Z-2.sqlite3"


def test_a_backup_is_put_on_the_audit_trail(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    result = backup.create(folder, tmp_path / "b", NOW)
    backup.record(live.store, result)
    row = live.store.db.execute(
        "SELECT action, target, detail FROM audit ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row[0:2] == ("backup", "database")
    assert row[2].startswith(result.path.name)


def test_backup_and_restore_round_trip_on_the_command_line(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    live.store.close()
    target = tmp_path / "backups"
    out = io.StringIO()
    assert (
        commands.run_command(
            commands.parse_args(["backup", "--data-dir", str(folder), "--to", str(target)]), out
        )
        == 0
    )
    assert out.getvalue().startswith("Backup written and verified: ")
    (made,) = backup.backups_in(target)
    saved = _notes(made)

    # Later work that the restore will roll back.
    store = Store.open(folder)
    store.append(1, "note", T0 + timedelta(hours=1), "UTC", 3600.0, {"text": "after the backup"})
    store.close()

    args = ["restore", str(made), "--data-dir", str(folder)]
    assert commands.run_command(commands.parse_args(args), io.StringIO()) == 2, (
        "refused without --yes"
    )
    assert _notes(folder / DB_NAME)[-1] == "after the backup", "left untouched"

    out = io.StringIO()
    assert commands.run_command(commands.parse_args([*args, "--yes"]), out) == 0
    assert _notes(folder / DB_NAME) == saved
    (aside,) = [
        p
        for p in folder.iterdir()
        if p.name.startswith(DB_NAME + ".replaced-") and not p.name.endswith(("-wal", "-shm"))
    ]
    assert f"kept as {aside}" in out.getvalue()
    assert _notes(aside)[-1] == "after the backup", "the replaced database is kept, whole"
    assert _mode(folder / DB_NAME) == 0o600 and _mode(aside) == 0o600

    store = Store.open_readonly(folder)
    try:
        report = audit.verify(store.db.conn)
        last = store.db.execute(
            "SELECT action, detail FROM audit ORDER BY id DESC LIMIT 1"
        ).fetchone()
    finally:
        store.close()
    assert report.ok, report.problems
    assert last[0] == "restore" and made.name in last[1]


def test_restore_refuses_while_the_app_holds_the_folder(
    live: LiveSession, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = backup.create(folder, tmp_path / "b", NOW).path
    lock = InstanceLock(folder)
    lock.acquire()
    try:
        with pytest.raises(AlreadyOpenError):
            backup.restore(made, folder, NOW, replace=True)
        assert commands.main(["restore", str(made), "--data-dir", str(folder), "--yes"]) == 3
        assert "close it before restoring" in capsys.readouterr().err
    finally:
        lock.release()
    assert not [p for p in folder.iterdir() if ".replaced-" in p.name]


def test_restore_refuses_a_backup_that_does_not_verify(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    made = backup.create(folder, tmp_path / "b", NOW).path
    with closing(sqlite3.connect(made, isolation_level=None)) as conn:
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute("DELETE FROM events WHERE kind = 'note'")
    before = (folder / DB_NAME).stat().st_mtime_ns
    with pytest.raises(backup.RestoreError, match="did not verify, so it was not restored"):
        backup.restore(made, tmp_path / "empty", NOW)
    assert not (tmp_path / "empty" / DB_NAME).exists()
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    with pytest.raises(backup.RestoreError, match="not a readable kapsession backup"):
        backup.restore(garbage, folder, NOW, replace=True)
    assert (folder / DB_NAME).stat().st_mtime_ns == before


def test_restore_into_an_empty_folder_needs_no_confirmation(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    made = backup.create(folder, tmp_path / "b", NOW).path
    fresh = tmp_path / "new-laptop"
    result = backup.restore(made, fresh, NOW)
    assert result.replaced is None
    assert _notes(fresh / DB_NAME) == _notes(made)
    assert _mode(fresh) == 0o700


def test_a_leftover_partial_file_is_swept_and_never_counted_as_a_backup(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    target = tmp_path / "b"
    target.mkdir()
    partial = target / ".kapsession-backup-abc.partial"
    partial.write_bytes(b"half a backup")
    (target / "holiday.jpg").write_bytes(b"not ours")
    assert backup.backups_in(target) == []
    made = backup.create(folder, target, NOW)
    owner = made.verified.owner
    assert sorted(p.name for p in target.iterdir()) == [
        "holiday.jpg",
        made.path.name,
        f"kapsession-{owner}.chainkey",
    ]


def _name(at: datetime) -> str:
    return f"kapsession-{at:%Y%m%dT%H%M%SZ}.sqlite3"


def test_retention_keeps_a_week_of_everything_and_14_more_days_of_dailies() -> None:
    now = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    # Three backups a day for 40 days.
    names = [_name(now - timedelta(days=d, hours=h)) for d in range(40) for h in (1, 5, 9)]
    pruned = set(backup.to_prune([*names, "notes.txt"], now))
    kept = set(names) - pruned
    recent = {n for n in names if now - backup.stamp_of(n) < timedelta(days=7)}  # type: ignore[operator]
    assert recent <= kept, "everything from the last 7 days"
    older_days = sorted({backup.stamp_of(n).date() for n in kept - recent}, reverse=True)  # type: ignore[union-attr]
    days_kept = sorted({backup.stamp_of(n).date() for n in kept}, reverse=True)  # type: ignore[union-attr]
    assert len(days_kept) == 14 or older_days == [], days_kept
    for day in older_days:
        of_day = sorted(n for n in names if backup.stamp_of(n).date() == day)  # type: ignore[union-attr]
        assert of_day[-1] in kept and not set(of_day[:-1]) & kept, "only the day's newest"
    assert max(names) in kept
    assert "notes.txt" not in pruned


def test_retention_never_deletes_the_only_backups_however_old() -> None:
    now = datetime(2026, 6, 30, tzinfo=UTC)
    names = [_name(now - timedelta(days=400 + d)) for d in range(3)]
    assert backup.to_prune(names, now) == []


def test_retention_is_applied_on_disk_after_a_backup(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    target = tmp_path / "b"
    target.mkdir()
    owner = live.store.db.execute("SELECT id FROM folder").fetchone()[0]
    old = [_name(NOW - timedelta(days=30 + d)) for d in range(20)]
    for name in old:
        (target / name.replace("kapsession-", f"kapsession-{owner}-")).write_bytes(b"old")
    others = [_name(NOW - timedelta(days=60 + d)).replace("n-", "n-0123456789ab-") for d in (0, 1)]
    for name in [*old[:3], *others]:  # from before folder ids, and another folder's
        (target / name).write_bytes(b"not this folder's to prune")
    result = backup.create(folder, target, NOW)
    assert len(result.pruned) == 20 - 13, "13 old dailies join today's newest: 14 days"
    assert len(backup.backups_of(target, owner)) == 14
    assert len(backup.backups_in(target)) == 14 + 3 + 2, "the others' backups are left alone"


def test_a_backup_is_due_after_a_session_and_once_a_day(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    target = tmp_path / "b"
    assert backup.maybe_backup(folder, target, NOW) is not None, "none yet"
    assert backup.maybe_backup(folder, target, NOW + timedelta(hours=23)) is None
    assert backup.maybe_backup(folder, target, NOW + timedelta(hours=1), after_session=True)
    assert backup.maybe_backup(folder, target, NOW + timedelta(hours=25)) is not None


def test_backup_folder_comes_from_option_then_environment_then_the_data_folder(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    assert backup.backup_dir("/mnt/usb", data, env={}) == Path("/mnt/usb")
    env = {backup.ENV_VAR: "/srv/kap"}
    assert backup.backup_dir(None, data, env=env) == Path("/srv/kap")
    assert backup.backup_dir(None, data, env={}) == data / "backups"


def test_a_backup_to_an_unwritable_place_says_so_and_leaves_nothing(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(backup.BackupError, match="Cannot create the backup folder"):
        backup.create(folder, blocker / "sub", NOW)
    with pytest.raises(backup.BackupError, match="no kapsession database"):
        backup.create(tmp_path / "nothing", tmp_path / "b", NOW)
    assert not (tmp_path / "b").exists() or os.listdir(tmp_path / "b") == []


def test_verify_holds_the_trail_against_the_newest_backups(
    live: LiveSession, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cutting off the newest entries together with their rows leaves a chain that is whole on
    its own; the backup taken before still remembers them."""
    target = tmp_path / "b"
    monkeypatch.setenv(backup.ENV_VAR, str(target))
    live.store.close()
    backup.create(folder, target, NOW)
    out = io.StringIO()
    assert (
        commands.run_command(commands.parse_args(["verify", "--data-dir", str(folder)]), out) == 0
    )

    with closing(sqlite3.connect(folder / DB_NAME, isolation_level=None)) as conn:
        seq, entry = conn.execute(
            "SELECT target_id, id FROM audit WHERE target = 'events' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert entry == conn.execute("SELECT max(id) FROM audit").fetchone()[0]
        triggers = ("events_no_delete", "audit_no_delete")
        saved = [
            conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [t]).fetchone()[0]
            for t in triggers
        ]
        for trigger in triggers:
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DELETE FROM events WHERE seq = ?", [seq])
        conn.execute("DELETE FROM audit WHERE id = ?", [entry])
        for sql in saved:  # put back as they were: the schema check alone cannot see the cut
            conn.execute(sql)

    out = io.StringIO()
    assert (
        commands.run_command(commands.parse_args(["verify", "--data-dir", str(folder)]), out) == 1
    )
    (made,) = backup.backups_in(target)
    assert out.getvalue().splitlines()[1:] == [
        f"  audit #{entry}: recorded in backup {made.name} but not in "
        "this database as it was (entries cut off or rewritten since)"
    ]


def test_two_restores_in_one_second_keep_both_replaced_databases(
    live: LiveSession, folder: Path, tmp_path: Path
) -> None:
    made = backup.create(folder, tmp_path / "b", NOW).path
    live.store.close()
    first = backup.restore(made, folder, NOW, replace=True).replaced
    second = backup.restore(made, folder, NOW, replace=True).replaced
    assert first is not None and second is not None
    assert second.name == first.name + "-2"
    assert first.exists() and second.exists()
