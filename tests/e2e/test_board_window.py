"""The room board on a real desktop: the real `kapsession board` process under Xvfb + openbox
against the tests' PostgreSQL, two rooms synced from real data folders (room a: a check due;
room b: an open alert). What the window shows is read twice: its texts through the
KAPSESSION_BOARD_STATE hook, and its pixels as the X server has them (amber behind the DUE line,
red for the alert). F11 makes it full screen (the window manager says so); Ctrl+Q ends it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from tests.hub.board_rooms import join_and_sync, make_room
from tests.hub.conftest import Hub, hub, pg_cluster, pg_db  # noqa: F401 (fixtures)
from ui.board import window as board_window

from .conftest import KAPSESSION, cli, wait_for
from .test_lock_windows import viewable, window_manager  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e


class _Board:
    def __init__(self, env: dict[str, str], dsn: str, log: Path) -> None:
        self.env = env
        with log.open("w") as said:
            self.proc = subprocess.Popen(
                [*KAPSESSION, "board", "--dsn", dsn], env=env, stdout=subprocess.DEVNULL,
                stderr=said,
            )  # fmt: skip
        self.log = log

    def window(self) -> str:
        def find() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"the board exited early: {self.log.read_text()}")
            return next(
                (w for w, t in viewable(self).items() if t == board_window.TITLE), None
            )  # fmt: skip

        return str(wait_for(find, timeout=60, what="the board's window"))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _colour_count(png: Path, colour: str) -> int:
    image = QImage(str(png))
    assert not image.isNull()
    want = QColor(colour).rgb() & 0xFFFFFF
    return sum(
        1
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
        if image.pixel(x, y) & 0xFFFFFF == want
    )


def test_the_board_shows_a_due_check_in_one_room_and_an_open_alert_in_the_other(
    app_env: dict[str, str],
    window_manager: None,  # noqa: F811
    hub: Hub,  # noqa: F811
    tmp_path: Path,
) -> None:
    make_room(tmp_path / "a", "C-014", 16.5, phase="onset", music=True)
    make_room(tmp_path / "b", "C-027", 10.5, alert=True)
    for room in ("a", "b"):
        join_and_sync(tmp_path / room, hub.room_dsn(room), room, hub.key_file)
    state = tmp_path / "board.json"
    env = {**app_env, board_window.STATE_ENV: str(state)}
    board = _Board(env, hub.logins()["board"], tmp_path / "board.log")
    try:
        window = board.window()

        def shown() -> dict | None:
            try:
                texts = json.loads(state.read_text())
            except (OSError, ValueError):
                return None
            return texts if set(texts["rooms"]) == {"a", "b"} else None

        texts = wait_for(shown, timeout=60, what="both rooms on the board")
        a, b = texts["rooms"]["a"], texts["rooms"]["b"]
        assert (a["client"], a["check"], a["phase"]) == (
            "C-014",
            "DUE  Monitoring (T+15:00)",
            "onset",
        )
        assert a["clock"].startswith("T+16:") and a["alerts"] == "" and a["music"] == "♪ music on"
        assert (b["client"], b["alerts"]) == ("C-027", "ALERT  SpO2 below 90 %")
        assert b["check"] == "next check T+15:00: Monitoring" and b["state"] == "alert"
        assert texts["status"] == "clinic hub: live · 2 rooms"

        shot = tmp_path / "board.png"
        subprocess.run(["import", "-window", window, str(shot)], env=env, check=True)
        assert _colour_count(shot, board_window.AMBER) > 200, "no amber DUE on the screen"
        assert _colour_count(shot, board_window.RED) > 200, "no red alert on the screen"

        subprocess.run(["xdotool", "windowactivate", "--sync", window], env=env, check=True)
        subprocess.run(["xdotool", "key", "--clearmodifiers", "F11"], env=env, check=True)
        wait_for(
            lambda: (
                "_NET_WM_STATE_FULLSCREEN"
                in subprocess.run(
                    ["xprop", "-id", window, "_NET_WM_STATE"],
                    env=env,
                    capture_output=True,
                    text=True,
                ).stdout
            ),
            what="the board full screen after F11",
        )
        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+q"], env=env, check=True)
        assert board.proc.wait(30) == 0
    finally:
        board.kill()
    assert "Traceback" not in board.log.read_text()


def test_a_wrong_password_is_one_line_and_exit_2_before_any_window(
    app_env: dict[str, str],
    hub: Hub,  # noqa: F811
) -> None:
    done = cli(app_env, "board", "--dsn", hub.logins()["board"].replace("password=", "password=x"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "refused the login" in done.stderr
