"""The command line without the GUI: `sessions`, `export`, where the data folder comes from, and
bad arguments (exit 2, one clear line on stderr)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers.cli import run

from kapsession.clock import FakeClock
from kapsession.session.live import SessionService
from kapsession.storage import paths
from kapsession.storage.paths import DB_NAME
from kapsession.storage.store import Store

from .conftest import AUTHOR, T0, TZ, PlanFactory


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n"), f"expected one line, got {err!r}"
    assert err.startswith("kapsession: ")
    return err


@pytest.fixture
def data(tmp_path: Path, make_plan: PlanFactory) -> Path:
    """A data folder with one ended session (notes included) and one still only planned."""
    folder = tmp_path / "data"
    store = Store.open(folder)
    clock = FakeClock(T0)
    service = SessionService(store, clock, TZ, AUTHOR)
    live = service.give_dose(service.plan(make_plan(client_code="C-017")).id)
    clock.advance(600)
    live.add_note("qf: I can see the ocean 🌊")
    clock.advance(75 * 60 - 600)
    live.end("synthetic test: ended without discharge check")
    service.plan(make_plan(client_code="C-018", route="intramuscular", dose_mg=50))
    store.close()
    return folder


def test_sessions_on_an_empty_folder_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "never-used"
    assert run(["sessions", "--data-dir", str(missing)], capsys) == (0, "No sessions yet.\n", "")
    assert not missing.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(["sessions", "--data-dir", str(empty)], capsys) == (0, "No sessions yet.\n", "")
    assert list(empty.iterdir()) == []


def test_sessions_lists_every_session(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["sessions", "--data-dir", str(data)], capsys)

    assert (code, err) == (0, "")
    header, first, second = out.splitlines()
    assert header.split() == [
        "ID",
        "STATE",
        "CLIENT",
        "ROUTE",
        "DOSE",
        "PLAN",
        "DOSE",
        "GIVEN",
        "LENGTH",
    ]
    assert first.split()[:6] == ["1", "ended", "C-017", "sublingual", "200mg", "75"]
    assert first.split()[-1] == "75:00"
    assert second.split() == ["2", "planned", "C-018", "intramuscular", "50mg", "75", "-", "-"]


def test_a_rehearsal_is_marked_in_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(tmp_path)
    SessionService(store, FakeClock(T0), TZ, AUTHOR).plan_rehearsal(60, T0)
    store.close()

    code, out, _ = run(["sessions", "--data-dir", str(tmp_path)], capsys)

    assert code == 0
    assert "DEMO-REHEARSAL (" in out.splitlines()[1]
    assert out.splitlines()[-1] == "(R) = rehearsal session"


@pytest.mark.parametrize("where", ["before", "after"])
def test_data_dir_works_before_and_after_the_subcommand(
    data: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    argv = (
        ["--data-dir", str(data), "sessions"]
        if where == "before"
        else ["sessions", "--data-dir", str(data)]
    )
    code, out, _ = run(argv, capsys)
    assert code == 0 and "C-017" in out


def test_the_environment_variable_names_the_data_folder(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(paths.ENV_VAR, str(data))
    code, out, _ = run(["sessions"], capsys)
    assert code == 0 and "C-017" in out

    code, out, _ = run(["export", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["session"]["client"] == "C-017"

    # --data-dir wins over the environment.
    elsewhere = tmp_path / "elsewhere"
    assert run(["sessions", "--data-dir", str(elsewhere)], capsys)[1] == "No sessions yet.\n"
    assert not elsewhere.exists()


def test_export_json_to_stdout_picks_the_latest_started_session(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["export", "--data-dir", str(data), "--format", "json"], capsys)

    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["format"] == "kapsession.timeline/1"
    assert doc["session"]["id"] == 1, "the planned session 2 has nothing to export yet"
    notes = [e for e in doc["events"] if e["kind"] == "note"]
    assert notes == [
        {
            "seq": notes[0]["seq"],
            "kind": "note",
            "at": "2026-03-02T09:10:00.000Z",
            "t": 600.0,
            "tz": TZ,
            "author": f"unassigned (account {AUTHOR})",  # no clinician charted it
            "text": "I can see the ocean 🌊",
            "tags": ["quote", "integration"],
        }
    ]


def test_export_a_chosen_session_to_a_file(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    target = out_dir / "session-2.json"

    code, out, err = run(
        [
            "export",
            "--data-dir",
            str(data),
            "--session",
            "2",
            "--format",
            "json",
            "-o",
            str(target),
        ],
        capsys,
    )

    assert (code, out, err) == (0, "", "")
    assert [p.name for p in out_dir.iterdir()] == ["session-2.json"], "no temp file left"
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["session"]["client"] == "C-018" and doc["events"] == []


def test_export_into_a_missing_folder_fails_cleanly(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "out.json"

    code, out, err = run(
        ["export", "--data-dir", str(data), "--format", "json", "-o", str(target)], capsys
    )

    assert (code, out) == (2, "")
    assert "Cannot write to" in one_error_line(err)
    assert not target.parent.exists()


def test_a_failed_export_leaves_the_old_file_and_no_partial_one(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.json"
    target.write_text("the previous export\n")

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    code, out, err = run(
        ["export", "--data-dir", str(data), "--format", "json", "-o", str(target)], capsys
    )
    monkeypatch.undo()

    assert (code, out) == (2, "")
    assert "No space left on device" in one_error_line(err)
    assert target.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out.json"]


def test_export_onto_a_folder_is_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        ["export", "--data-dir", str(data), "--format", "json", "-o", str(tmp_path)], capsys
    )
    assert code == 2 and "is a folder" in one_error_line(err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--time-scale", "10"], "--time-scale only applies with --rehearsal"),
        (["--rehearsal", "--time-scale", "abc"], "--time-scale must be a number, not 'abc'"),
        (["--rehearsal", "--time-scale", "0"], "more than 0"),
        (["--rehearsal", "--time-scale", "nan"], "more than 0"),
        (["--rehearsal", "sessions"], "do not combine with sessions"),
        (["export", "--format", "docx"], "invalid choice: 'docx'"),
        (["export"], "--format"),
        (["export", "--format", "json", "--session", "xyz"], "--session must be a session number"),
        (["export", "--format", "json", "--session", "-1"], "--session"),
        (["export", "--format", "json", "--session", "²"], "--session must be a session number"),
        (["export", "--format", "json", "--session", "99"], "There is no session 99"),
        (["handout", "--which", "poster"], "invalid choice: 'poster'"),
        (["handout"], "--which"),
        (["handout", "--which", "integration", "--session", "99"], "There is no session 99"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    data: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run([*argv, "--data-dir", str(data)], capsys)

    assert code == 2
    assert out == ""
    assert message in one_error_line(err)


def test_export_from_a_folder_without_data_fails_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "nothing"
    code, out, err = run(["export", "--data-dir", str(folder), "--format", "json"], capsys)
    assert (code, out) == (2, "")
    assert "There is no kapsession data" in one_error_line(err)
    assert not folder.exists()


def test_an_unreadable_database_is_reported_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / DB_NAME).write_bytes(b"not a database" * 100)
    code, _, err = run(["sessions", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and "not a readable kapsession database" in one_error_line(err)


def test_no_subcommand_points_to_the_app(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([], capsys)
    assert (code, out) == (2, "")
    one_error_line(err)
