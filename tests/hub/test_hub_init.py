"""`kapsession hub init` and `hub join` against a real PostgreSQL: the schema, the roles, row-level
security, the clinic key file and what a laptop's folder records."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import psycopg
import pytest
from helpers.cli import run

from tests.hub.conftest import Hub


def _insert_client(conn: psycopg.Connection, room: str, gid: str) -> None:
    conn.execute(
        "INSERT INTO clients (gid, room, folder, local_id, code, rehearsal, created_at, digest) "
        "VALUES (%s, %s, 'f', 1, 'C-1', false, '2026-12-06T10:00:00.000Z', '\\x00')",
        [gid, room],
    )


def test_init_makes_a_private_clinic_key_and_logins_and_a_second_init_changes_nothing(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    key = hub.key_file.read_bytes()
    assert len(key) == 32
    assert stat.S_IMODE(hub.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(hub.logins_file.stat().st_mode) == 0o600
    assert set(hub.logins()) == {"board", "room a", "room b"}

    code, out, err = run(
        ["hub", "init", "--dsn", hub.admin_dsn, "--clinic-key", str(hub.key_file)], capsys
    )
    assert (code, err) == (0, "")
    assert out == "The clinic hub is already set up; nothing was changed.\n"
    assert hub.key_file.read_bytes() == key

    code, out, _ = run(
        ["hub", "init", "--dsn", hub.admin_dsn, "--clinic-key", str(hub.key_file),
         "--room", "c"], capsys
    )  # fmt: skip
    assert code == 0 and "rooms added: c" in out
    assert hub.key_file.read_bytes() == key
    assert set(hub.logins()) == {"board", "room a", "room b", "room c"}


def test_init_never_overwrites_a_clinic_key_file(
    hub: Hub, pg_cluster: object, capsys: pytest.CaptureFixture[str]
) -> None:
    other = hub.cluster.create_database()
    before = hub.key_file.read_bytes()
    code, out, err = run(
        ["hub", "init", "--dsn", hub.cluster.admin_dsn(other), "--clinic-key",
         str(hub.key_file)], capsys
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "already exists; it is never overwritten" in err
    assert hub.key_file.read_bytes() == before
    with psycopg.connect(hub.cluster.admin_dsn(other)) as conn:
        assert conn.execute("SELECT to_regclass('public.events')").fetchone() == (None,)


def test_a_room_inserts_only_its_own_rows_and_never_changes_a_timeline_row(hub: Hub) -> None:
    with psycopg.connect(hub.room_dsn("a"), autocommit=True) as a:
        _insert_client(a, "a", "f:c1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            _insert_client(a, "b", "f:c2")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("UPDATE clients SET code = 'X' WHERE gid = 'f:c1'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("DELETE FROM events")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("UPDATE events SET kind = 'note'")
    with psycopg.connect(hub.room_dsn("b"), autocommit=True) as b:
        # Room b sees none of room a's rows.
        assert b.execute("SELECT count(*) FROM clients").fetchone() == (0,)
    with psycopg.connect(hub.logins()["board"], autocommit=True) as board:
        assert board.execute("SELECT room FROM clients").fetchall() == [("a",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _insert_client(board, "a", "f:c3")
    # Not even the owner rewrites a timeline row.
    with (
        psycopg.connect(hub.admin_dsn, autocommit=True) as owner,
        pytest.raises(psycopg.errors.RaiseException, match="append-only"),
    ):
        owner.execute("DELETE FROM clients")


def test_a_wrong_password_is_one_clear_line(hub: Hub, tmp_path: Path, capsys) -> None:
    bad = hub.room_dsn("a").replace("password=", "password=x")
    code, out, err = run(
        ["hub", "export", "--dsn", bad, "--clinic-key", str(hub.key_file), "--room", "a",
         "--format", "json"], capsys
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "refused the login" in err and "password=" not in err


def test_join_records_the_hub_without_its_password_in_the_open(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    dsn = hub.room_dsn("a")
    code, _, err = run(
        ["hub", "join", "--data-dir", str(folder), "--dsn", dsn, "--room", "a",
         "--clinic-key", str(hub.key_file)], capsys
    )  # fmt: skip
    assert (code, err) == (0, "")
    settings = json.loads((folder / "hub.json").read_text())
    assert settings["room"] == "a" and "password" not in settings["dsn"]
    password = dsn.split("password=")[1].split()[0]
    assert password not in (folder / "hub.json").read_text()
    assert (folder / "hub.password").read_text() == password
    assert (folder / "hub-clinic.key").read_bytes() == hub.key_file.read_bytes()
    for name in ("hub.password", "hub-clinic.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600


def test_join_refuses_a_bad_room_name_or_key_and_records_nothing(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "laptop"
    not_a_key = tmp_path / "not.key"
    not_a_key.write_bytes(b"short")
    for room, key, said in [
        ("Room 1", hub.key_file, "A room name is"),
        ("a", not_a_key, "is not a clinic key file"),
    ]:
        code, _, err = run(
            ["hub", "join", "--data-dir", str(folder), "--dsn", hub.room_dsn("a"), "--room",
             room, "--clinic-key", str(key)], capsys
        )  # fmt: skip
        assert code == 2 and said in err and err.count("\n") == 1
        assert not (folder / "hub.json").exists()
