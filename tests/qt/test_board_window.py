"""The room board's window on real Qt (offscreen): tiles made from a snapshot, T+ ticking on the
board's clock, DUE amber and LATE red (in the pixels of the check line), the hub's absence in one
line without closing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from kapsession.clock import FakeClock
from kapsession.hub.board import BoardEntry, BoardSession, RoomState, Snapshot
from kapsession.hub.board_feed import FeedStatus
from ui.board import window as board_window
from ui.board.window import BoardWindow

DOSE = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
PLAN = {"plan": [["m15", 900.0, "Monitoring"]], "late_after_s": 300.0, "missed_after_s": 900.0}


def _snapshot(now: datetime) -> Snapshot:
    def session(code: str, *entries: BoardEntry) -> BoardSession:
        return BoardSession(
            code,
            "running",
            False,
            1.0,
            None,
            DOSE,
            None,
            (BoardEntry(1, "dose", 0.0, PLAN), *entries),
        )

    rooms = (
        RoomState("a", now, session("C-014", BoardEntry(2, "phase", 0.0, {"name": "onset"}))),
        RoomState(
            "b", now, session("C-027", BoardEntry(2, "alert", 60.0, {"field": "spo2", "low": 90}))
        ),
        RoomState("c", now - timedelta(minutes=5), None),
    )
    return Snapshot(rooms, hub_now=now, read_at=now)


def _pixels_of(widget, color: str) -> int:
    image = widget.grab().toImage()
    want = QColor(color).rgb()
    return sum(
        1
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
        if image.pixel(x, y) == want
    )


def test_tiles_show_each_room_and_t_plus_ticks_on_the_boards_clock(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "board.json"
    monkeypatch.setenv(board_window.STATE_ENV, str(state))
    clock = FakeClock(DOSE + timedelta(seconds=16 * 60))
    w = BoardWindow(clock.now, UTC, tick_ms=50)
    qtbot.addWidget(w)
    w.show()
    w.set_status(FeedStatus(True, None, None))
    w.set_snapshot(_snapshot(clock.now()))
    shown = w.visible_texts()["rooms"]
    assert shown["a"]["client"] == "C-014" and shown["a"]["clock"] == "T+16:00"
    assert shown["a"]["check"] == "DUE  Monitoring (T+15:00)" and shown["a"]["phase"] == "onset"
    assert shown["b"]["alerts"] == "ALERT  SpO2 below 90 %" and shown["b"]["state"] == "alert"
    assert (
        shown["c"]["client"] == "no session today"
        and shown["c"]["offline"] == "offline since 14:11"
    )
    assert w.status_line.text() == "clinic hub: live · 3 rooms"
    assert json.loads(state.read_text())["rooms"]["a"]["check"] == "DUE  Monitoring (T+15:00)"
    # Amber behind the DUE line, no red yet in room a's tile.
    assert _pixels_of(w._views["a"].labels["check"], board_window.AMBER) > 50
    clock.advance(4 * 60 + 5)  # T+20:05: 5 minutes past due is late
    qtbot.waitUntil(lambda: w.visible_texts()["rooms"]["a"]["clock"] == "T+20:05")
    assert w.visible_texts()["rooms"]["a"]["check"] == "LATE  Monitoring (T+15:00)"
    assert _pixels_of(w._views["a"].labels["check"], board_window.RED) > 50
    assert _pixels_of(w._views["a"].labels["check"], board_window.AMBER) == 0


def test_the_hub_away_is_one_line_and_the_last_tiles_stay(qtbot) -> None:
    clock = FakeClock(DOSE + timedelta(seconds=60))
    w = BoardWindow(clock.now, UTC)
    qtbot.addWidget(w)
    w.show()
    w.set_snapshot(_snapshot(clock.now()))
    w.set_status(
        FeedStatus(False, DOSE + timedelta(minutes=2), "The clinic hub at x cannot be reached.")
    )
    assert w.status_line.text() == "clinic hub unreachable since 14:02: showing what it last said"
    assert w.visible_texts()["rooms"]["a"]["client"] == "C-014"
    assert w.isVisible()  # the window stays open
