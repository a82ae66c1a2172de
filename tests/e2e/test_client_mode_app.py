"""Client mode on a real desktop (issue 18): the real app under Xvfb with openbox, a course
window open with the client's data; Ctrl+Shift+A hands the laptop to the client, and the X
server is asked which of the app's windows are viewable: only the main window, showing the
questionnaire. The PHQ-9 is answered with the number keys; at the end the lock screen asks
for the PIN, the PIN typed at the keyboard brings the course back, and `kapsession measures
list` reads the scored answers from the data folder."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from kapsession.storage.paths import DB_NAME

from .conftest import App, cli, wait_for
from .test_lock_windows import (  # noqa: F401 (window_manager: a fixture)
    CLIENT,
    LOCKED,
    PIN,
    prepared_folder,
    viewable,
    window_manager,
    window_titled,
)

QUESTIONNAIRE = "kapsession · PHQ-9"


@pytest.mark.usefixtures("window_manager")
def test_a_client_answers_a_phq9_by_keyboard_on_the_real_app(
    app_env: dict[str, str], tmp_path: Path
) -> None:
    folder = prepared_folder(tmp_path)
    app = App(app_env, folder)
    main = app.window
    app.xdo("key", "--window", main, "ctrl+shift+c")
    course = window_titled(app, f"Course · {CLIENT}")
    app.xdo("windowactivate", "--sync", main)
    app.xdo("key", "--clearmodifiers", "ctrl+shift+a")
    wait_for(lambda: viewable(app) == {main: QUESTIONNAIRE}, what="only the questionnaire")
    answers = ["2", "1", "1", "0", "3", "1", "0", "2", "0"]  # 10: moderate
    for key in answers:
        app.xdo("key", "--clearmodifiers", key)
    wait_for(lambda: viewable(app) == {main: LOCKED}, what="the lock after the last answer")
    app.type_line(PIN)
    wait_for(lambda: course in viewable(app), what="the course back after the PIN")
    assert viewable(app)[main].startswith("kapsession") and viewable(app)[main] != LOCKED
    listed = cli(
        app_env,
        "measures",
        "list",
        "--data-dir",
        str(folder),
        "--client",
        CLIENT,
        "--format",
        "json",
    )
    assert listed.returncode == 0, listed.stderr
    [measure] = json.loads(listed.stdout)
    assert (measure["instrument"], measure["total"], measure["severity"]) == (
        "phq9",
        10.0,
        "moderate",
    )
    assert measure["answers"] == [int(a) for a in answers] and measure["source"] == "client"


def _kept_answers(folder: Path) -> list[int | None] | None:
    """The open run's answers as the data folder holds them (read-only, beside the app)."""
    conn = sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT answers FROM open_client_runs").fetchone()
    except sqlite3.OperationalError:  # the table is not there yet
        return None
    finally:
        conn.close()
    return None if row is None else list(json.loads(row[0]))


@pytest.mark.usefixtures("window_manager")
def test_a_run_killed_mid_way_is_kept_as_incomplete_and_the_app_opens_locked(
    app_env: dict[str, str], tmp_path: Path
) -> None:
    """Three PHQ-9 items answered by keyboard, then the app is killed (SIGKILL: no save, no
    orderly shutdown). The answers were in the data folder already; the restarted app keeps
    them as an incomplete PHQ-9 (never scored) and opens locked: the client who held the
    laptop cannot restart their way to the clinician's screens."""
    folder = prepared_folder(tmp_path)
    app = App(app_env, folder)
    main = app.window
    app.xdo("key", "--clearmodifiers", "ctrl+shift+a")
    wait_for(lambda: viewable(app) == {main: QUESTIONNAIRE}, what="only the questionnaire")
    answers = [2, 1, 3]
    for key in answers:
        app.xdo("key", "--clearmodifiers", str(key))
    done = [*answers, *[None] * 6]
    wait_for(lambda: _kept_answers(folder) == done, what="the three answers in the data folder")
    app.kill()
    assert app.proc.returncode == -signal.SIGKILL

    again = App(app_env, folder)
    main = again.window
    wait_for(lambda: viewable(again) == {main: LOCKED}, what="the restarted app to open locked")
    assert _kept_answers(folder) is None  # the open run became the measure
    listed = cli(
        app_env,
        "measures",
        "list",
        "--data-dir",
        str(folder),
        "--client",
        CLIENT,
        "--format",
        "json",
    )
    assert listed.returncode == 0, listed.stderr
    [measure] = json.loads(listed.stdout)
    assert (measure["instrument"], measure["complete"], measure["total"]) == ("phq9", False, None)
    assert measure["answers"] == done and "incomplete" in measure["flags"]
    assert measure["source"] == "client"
    again.type_line(PIN)
    wait_for(lambda: viewable(again).get(main, LOCKED) != LOCKED, what="the unlock")
