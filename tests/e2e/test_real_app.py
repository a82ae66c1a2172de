"""The real app under Xvfb: a rehearsal session typed into, killed, reopened and ended."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kapsession.storage.paths import DB_NAME

from .conftest import App, cli, export, wait_for

pytestmark = pytest.mark.e2e


def _notes(doc: dict) -> list[tuple[str, list[str]]]:
    return [(e["text"], e["tags"]) for e in doc["events"] if e["kind"] == "note"]


def test_rehearsal_session_survives_a_kill_and_ends(app_env, tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = App(app_env, data, "--rehearsal", "--time-scale", "30")
    app.type_line("q: the ocean is breathing")
    app.type_line("hands open, jaw soft")
    app.xdo("key", "alt+6")  # chip: for integration
    app.type_line("bring this to integration")
    expected = [
        ("the ocean is breathing", ["quote"]),
        ("hands open, jaw soft", []),
        ("bring this to integration", ["integration"]),
    ]
    doc = wait_for(
        lambda: (d := export(app_env, data)) and _notes(d) == expected and d, what="3 notes"
    )
    session = doc["session"]
    assert session["rehearsal"] is True and session["client"] == "DEMO-REHEARSAL"
    assert doc["notice"].startswith("REHEARSAL")
    shot = app.screenshot(tmp_path / "live.png")
    assert shot.stat().st_size > 10_000

    # A second app on the same data folder refuses, and touches nothing.
    second = cli(app_env, "--data-dir", str(data), "--smoke")
    assert second.returncode == 3
    assert "already open" in second.stderr

    last_t = max(e["t"] for e in doc["events"] if e["kind"] == "note")
    app.kill()

    app = App(app_env, data, "--rehearsal", "--time-scale", "30")
    doc = wait_for(
        lambda: (d := export(app_env, data)) and any(e["kind"] == "gap" for e in d["events"]) and d,
        what="the gap entry",
    )
    assert doc["session"]["id"] == session["id"], "the same session was resumed"
    assert _notes(doc) == expected, "every saved note is back"
    gap = next(e for e in doc["events"] if e["kind"] == "gap")
    assert gap["cause"] == "app_stopped_unexpectedly"
    assert gap["to_t"] >= gap["from_t"] >= last_t, "the dose clock kept counting"

    app.type_line("after the restart")
    wait_for(lambda: len(_notes(export(app_env, data))) == 4, what="the note typed after restart")

    app.xdo("key", "ctrl+shift+e")
    app.xdo("sleep", "0.5")
    app.xdo("key", "alt+r")  # the reason field; the discharge check is left undone
    app.type_line("e2e: client ready early")
    ended = wait_for(
        lambda: (d := export(app_env, data)) and d["session"]["state"] == "ended" and d,
        what="the session to end",
    )
    assert ended["events"][-1]["kind"] == "session_ended"
    assert ended["events"][-1]["reason"] == "e2e: client ready early"
    listing = cli(app_env, "sessions", "--data-dir", str(data))
    assert listing.returncode == 0
    assert "ended" in listing.stdout and "DEMO-REHEARSAL" in listing.stdout
    app.kill()


def test_smoke_start_paints_and_exits(app_env, tmp_path: Path) -> None:
    done = cli(app_env, "--data-dir", str(tmp_path / "fresh"), "--smoke")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fresh" / DB_NAME).exists()


def test_unusable_data_folder_is_one_clear_line(app_env, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = cli(app_env, "--data-dir", str(blocker / "data"), "--smoke")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "Cannot create the data folder" in done.stderr


def test_newer_database_is_refused_untouched(app_env, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(app_env, "--data-dir", str(data), "--smoke").returncode == 0
    with sqlite3.connect(data / DB_NAME) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('kapsession', 'm999_from_the_future', '2030-01-01')"
        )
    conn.close()
    before = (data / DB_NAME).read_bytes()
    done = cli(app_env, "--data-dir", str(data), "--smoke")
    assert done.returncode == 2
    assert "newer version of kapsession" in done.stderr
    assert (data / DB_NAME).read_bytes() == before


def test_sigterm_closes_in_order_and_the_session_resumes(app_env, tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = App(app_env, data, "--rehearsal", "--time-scale", "10")
    app.type_line("before the logout")
    wait_for(lambda: _notes(export(app_env, data)), what="the note")
    app.proc.terminate()  # what a logout or shutdown sends
    assert app.proc.wait(15) == 0
    doc = export(app_env, data)
    assert [e["kind"] for e in doc["events"][-2:]] == ["track_ended", "app_closed"]
    assert doc["session"]["state"] == "running"
    App(app_env, data, "--rehearsal", "--time-scale", "10")
    doc = wait_for(
        lambda: (d := export(app_env, data)) and any(e["kind"] == "gap" for e in d["events"]) and d,
        what="the gap entry",
    )
    # (the exports this test made are noted on the timeline too)
    kinds = [e["kind"] for e in doc["events"] if e["kind"] not in ("export", "handout")]
    gap = next(e for e in doc["events"] if e["kind"] == "gap")
    assert gap["cause"] == "app_closed"
    assert kinds[kinds.index("app_closed") + 1] == "gap"  # the music starts again after it
    assert _notes(doc) == [("before the logout", [])]


def test_sigterm_on_the_idle_home_screen_exits_at_once(app_env, tmp_path: Path) -> None:
    app = App(app_env, tmp_path / "data")
    app.proc.terminate()
    # An idle Qt loop runs no Python; the wake-up socket must still let the handler run.
    assert app.proc.wait(10) == 0
