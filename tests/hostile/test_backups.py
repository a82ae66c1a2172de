"""Crafted backups and data folders: each is refused by `restore` (the data folder left exactly as
it was) and flagged by `verify`, with one line naming what is wrong and never a traceback.
Also: two data folders sharing one backup folder, at the same time, each keep their own."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kapsession.cli import commands
from kapsession.clock import DoseAnchor
from kapsession.storage import audit, backup, chain_key, datakey
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
FAST = datakey.KdfParams(time_cost=1, memory_cost_kib=1024, parallelism=1)


def _record(folder: Path, notes: int = 3, key: bytes | None = None, code: str = "C-1") -> None:
    store = Store.open(folder, key=key)
    try:
        client = store.add_client(code, None, False, T0)
        planned = store.plan_session(
            {
                "client_id": client.id,
                "protocol": "sublingual-60",
                "route": "sublingual",
                "dose_mg": 200.0,
                "planned_minutes": 60,
                "created_at": "2026-04-01T09:00:00.000Z",
            }
        )
        store.start_session(planned.id, DoseAnchor(T0, 0.0, "boot"), "UTC", {"mg": 200})
        for i in range(notes):
            store.append(planned.id, "note", T0 + timedelta(minutes=i), "UTC", 60.0 * i, {"t": i})
    finally:
        store.close()


def _add_notes(folder: Path, n: int, key: bytes | None = None) -> None:
    store = Store.open(folder, key=key)
    try:
        for i in range(n):
            store.append(1, "note", T0 + timedelta(hours=1, minutes=i), "UTC", None, {"t": i})
    finally:
        store.close()


def _raw(path: Path) -> sqlite3.Connection:
    """A raw connection with kapsession's functions and the chain key: the forger here holds
    the key (kept beside the backups, or the folder's own), so what is tested is the check of
    the crafted content itself, not the keyed chain."""
    conn = sqlite3.connect(path, isolation_level=None)
    keys = backup.beside_chain_keys(path, None) or chain_key.candidates(path.parent)
    chain = audit.Chain(keys)
    chain.resolve(conn)
    audit.register_functions(conn, lambda: "2026-04-01T12:00:00.000Z", lambda: "x", chain)
    return conn


def _verify(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = commands.run_command(commands.parse_args(["verify", str(path)]), out)
    return code, out.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    _record(data)
    return data


@pytest.fixture
def made(folder: Path, tmp_path: Path) -> Path:
    return backup.create(folder, tmp_path / "backups", NOW).path


def _forge_note_trigger(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TRIGGER note_forge AFTER INSERT ON events WHEN NEW.kind = 'note' "
        "BEGIN INSERT INTO events (session_id, kind, at, tz, data) "
        "VALUES (NEW.session_id, 'note', NEW.at, NEW.tz, '{\"text\": \"forged\"}'); END"
    )


def _fail_every_save(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TRIGGER events_io BEFORE INSERT ON events "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )


def _view(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE VIEW everything AS SELECT * FROM events")


def _drop_guards(conn: sqlite3.Connection) -> None:
    for name in ("events_no_update", "events_no_delete", "events_audit_insert", "audit_no_delete"):
        conn.execute(f"DROP TRIGGER {name}")


def _newer_level(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('kapsession', 'm099_from_the_future', '2027-01-01')"
    )


def _skeleton_without_record_of_migrations(conn: sqlite3.Connection) -> None:
    # Tables that verify, but no record of how they were made: this version would try to
    # create them again and the folder would no longer open.
    conn.execute("DROP TABLE _sqlite_migrations")


def _restore_entry_with_a_bad_date(conn: sqlite3.Connection) -> None:
    audit.append(conn, "restore", "database", None, "x", "yesterday-ish", "from elsewhere")


CRAFTED: dict[str, tuple[Callable[[sqlite3.Connection], None], str]] = {
    "forged notes": (_forge_note_trigger, "trigger note_forge is not part of kapsession's schema"),
    "fake I/O error": (_fail_every_save, "trigger events_io is not part of kapsession's schema"),
    "view": (_view, "view everything is not part of kapsession's schema"),
    "guards dropped": (_drop_guards, "trigger audit_no_delete is missing"),
    "newer level": (_newer_level, "newer version of kapsession (schema change m099_"),
    "skeleton": (_skeleton_without_record_of_migrations, "no record of kapsession's schema"),
    "restore entry with a bad date": (_restore_entry_with_a_bad_date, "at is not a time"),
}


@pytest.mark.parametrize("craft", list(CRAFTED), ids=list(CRAFTED))
def test_a_crafted_backup_is_refused_by_restore_and_flagged_by_verify(
    craft: str, folder: Path, made: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change, expected = CRAFTED[craft]
    with closing(_raw(made)) as conn:
        change(conn)
    _add_notes(folder, 2)  # the folder's record now differs from the backup's
    before = (folder / DB_NAME).read_bytes()

    code, out = _verify(made)
    assert code == 1, out
    assert expected in out.splitlines()[1], out

    assert commands.main(["restore", str(made), "--data-dir", str(folder), "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kapsession: ") and expected in err and "Traceback" not in err
    assert (folder / DB_NAME).read_bytes() == before, "the data folder is left as it was"
    assert (
        sorted(p.name for p in folder.iterdir() if "replaced" in p.name or ".partial" in p.name)
        == []
    )


def test_a_crafted_data_folder_is_flagged_by_verify(folder: Path) -> None:
    with closing(_raw(folder / DB_NAME)) as conn:
        _forge_note_trigger(conn)
    code, out = _verify(folder)
    assert code == 1
    assert out.splitlines()[1] == "  schema: trigger note_forge is not part of kapsession's schema"


def test_an_empty_record_never_replaces_one_that_holds_sessions(
    folder: Path, tmp_path: Path
) -> None:
    """An empty skeleton of the right schema verifies, and restoring it onto a new computer is
    harmless; over a record it would only lose the record, so it is refused."""
    empty = tmp_path / "empty"
    Store.open(empty).close()
    skeleton = backup.create(empty, tmp_path / "eb", NOW).path
    assert _verify(skeleton)[0] == 0
    before = (folder / DB_NAME).read_bytes()
    with pytest.raises(backup.RestoreError, match="holds no client and no session"):
        backup.restore(skeleton, folder, NOW, replace=True)
    assert (folder / DB_NAME).read_bytes() == before
    result = backup.restore(skeleton, tmp_path / "new-laptop", NOW)
    assert result.replaced is None and result.verified.holds_records is False


def _cut_newest(db: Path) -> None:
    """Cut the newest note and its entry off, the guards put back as they were."""
    with closing(_raw(db)) as conn:
        seq, entry = conn.execute(
            "SELECT target_id, id FROM audit WHERE target = 'events' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert entry == conn.execute("SELECT max(id) FROM audit").fetchone()[0]
        guards = ("events_no_delete", "audit_no_delete")
        saved = [
            conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [g]).fetchone()[0]
            for g in guards
        ]
        for g in guards:
            conn.execute(f"DROP TRIGGER {g}")
        conn.execute("DELETE FROM events WHERE seq = ?", [seq])
        conn.execute("DELETE FROM audit WHERE id = ?", [entry])
        for sql in saved:
            conn.execute(sql)


@pytest.mark.parametrize("at", ["2099-01-01T00:00:00.000Z", "not a date"])
def test_a_forged_restore_entry_does_not_switch_the_cross_check_off(
    at: str, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "backups"
    monkeypatch.setenv(backup.ENV_VAR, str(target))
    (made,) = [backup.create(folder, target, NOW).path]
    _cut_newest(folder / DB_NAME)
    with closing(_raw(folder / DB_NAME)) as conn:
        audit.append(conn, "restore", "database", None, "x", at, f"from {made.name}")
    code, out = _verify(folder)
    assert code == 1, out
    assert f"recorded in backup {made.name} but not in this database" in out
    if at == "not a date":
        assert "(restore): its time or link is not valid" in out


def test_a_real_restore_still_excuses_the_history_it_abandoned(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "backups"
    monkeypatch.setenv(backup.ENV_VAR, str(target))
    first = backup.create(folder, target, NOW).path
    _add_notes(folder, 2)
    backup.create(folder, target, NOW + timedelta(hours=1))  # a history the restore abandons
    backup.restore(first, folder, NOW + timedelta(hours=2), replace=True)
    code, out = _verify(folder)
    assert (code, out.split(":")[0]) == (0, "OK"), out


def _hostile_key_file(path: Path, **kdf: object) -> None:
    doc = json.loads(path.read_text())
    doc["kdf"].update(kdf)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("kdf", "says"),
    [
        ({"memory_cost_kib": 4 * 1024 * 1024}, "KiB of Argon2id memory"),
        ({"time_cost": 10**9}, "Argon2id passes"),
        ({"parallelism": 10**6}, "KiB of Argon2id memory"),
        ({"time_cost": 2.5}, "damaged"),
        ({"memory_cost_kib": "65536"}, "damaged"),
        ({"salt": "AAAA"}, "damaged"),
    ],
)
def test_a_hostile_key_file_beside_a_backup_is_refused_before_any_derivation(
    kdf: dict[str, object],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "enc"
    data.mkdir()
    key = datakey.create_key(data, "orchard pebble winter song", FAST)
    _record(data, key=key)
    made = backup.create(data, tmp_path / "usb", NOW, key=key).path
    _hostile_key_file(backup.key_file_beside(made), **kdf)
    monkeypatch.setenv(datakey.PASSPHRASE_ENV, "orchard pebble winter song")
    monkeypatch.setenv("KAPSESSION_DATA_DIR", str(tmp_path / "nowhere"))
    assert commands.main(["verify", str(made)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert commands.main(["restore", str(made), "--data-dir", str(tmp_path / "new")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "new" / DB_NAME).exists()


def _share(tmp_path: Path, passes: tuple[str | None, str | None]) -> None:
    """Two data folders back up into one folder, several times, two at once; then each
    verifies, and restores its own newest backup with its own passphrase."""
    shared = tmp_path / "shared"
    folders, dkeys = [], []
    for i, passphrase in enumerate(passes):
        data = tmp_path / f"data{i}"
        data.mkdir()
        key = datakey.create_key(data, passphrase, FAST) if passphrase else None
        _record(data, key=key, code=f"C-{i}")
        folders.append(data)
        dkeys.append(key)
    errors: list[BaseException] = []

    def run(i: int, at: datetime) -> None:
        try:
            backup.create(folders[i], shared, at, dkeys[i])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    for round_ in range(4):
        at = NOW + timedelta(seconds=round_)  # the same second for both: one name each
        threads = [threading.Thread(target=run, args=(i, at)) for i in (0, 1, 0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert not [p for p in shared.iterdir() if backup.is_partial(p.name)]
    for i, data in enumerate(folders):
        store = Store.open(data, key=dkeys[i])
        owner = backup.owner_of_store(store)
        store.close()
        own = backup.backups_of(shared, owner)
        assert len(own) == 8, "every concurrent backup kept, under its own name"
        for made in own:
            assert backup.verify_file(made, dkeys[i]).owner == owner
        if passes[i]:
            copy = backup.key_file_beside(own[-1])
            assert datakey.key_from_file(copy, env={datakey.PASSPHRASE_ENV: passes[i]}) == dkeys[i]
        monkeypatch_env = {"KAPSESSION_BACKUP_DIR": str(shared)}
        with pytest.MonkeyPatch.context() as mp:
            for k, v in monkeypatch_env.items():
                mp.setenv(k, v)
            if passes[i]:
                mp.setenv(datakey.PASSPHRASE_ENV, passes[i])
            assert _verify(data)[0] == 0, _verify(data)[1]
            fresh = tmp_path / f"restored{i}"
            out = io.StringIO()
            args = ["restore", str(own[-1]), "--data-dir", str(fresh)]
            assert commands.run_command(commands.parse_args(args), out) == 0
            assert _verify(fresh)[0] == 0
        store = Store.open(fresh, key=dkeys[i])
        assert [c.code for c in store.clients()] == [f"C-{i}"]
        store.close()


def test_two_plain_folders_share_a_backup_folder(tmp_path: Path) -> None:
    _share(tmp_path, (None, None))


def test_two_encrypted_folders_share_a_backup_folder(tmp_path: Path) -> None:
    _share(tmp_path, ("orchard pebble winter song", "lantern meadow quiet river"))
