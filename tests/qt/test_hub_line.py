"""The clinic hub's dim line under the home and live screens, on real Qt offscreen: hidden for a
folder that has not joined, synced / offline with the count / a fault in one line with the
detail on hover; drawn on the GUI thread when the worker posts from its own; never the focus."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.clock import FakeClock
from kapsession.hub.worker import SyncStatus
from ui.live.hub_line import HubFeed, HubLine
from ui.main_window import MainWindow

NOW = datetime(2026, 12, 6, 13, 30, tzinfo=UTC)
SINCE = datetime(2026, 12, 6, 13, 2, tzinfo=UTC)  # 14:02 in Berlin


def _line(qtbot) -> tuple[HubFeed, HubLine]:
    feed = HubFeed()
    line = HubLine(feed, FakeClock(NOW), "Europe/Berlin")
    qtbot.addWidget(line)
    line.show()
    return feed, line


def test_a_folder_that_has_not_joined_shows_no_hub_line(
    qtbot, make_window: Callable[..., MainWindow]
) -> None:
    window = make_window(lambda _t, _x: True)
    assert not window.hub_line.isVisible() and window.hub_line.text() == ""
    qtbot.mouseClick(window.home.rehearsal_button, Qt.MouseButton.LeftButton)
    assert window.live_view is not None
    assert not window.hub_line.isVisible() and window.hub_line.text() == ""


def test_synced_offline_with_its_count_and_a_fault_each_show_one_dim_line(qtbot) -> None:
    feed, line = _line(qtbot)
    feed.joined.emit()
    qtbot.waitUntil(lambda: line.text() == "clinic hub: connecting…")
    feed.post(SyncStatus(True, 0, None, None))
    qtbot.waitUntil(lambda: line.text() == "clinic hub: synced")
    assert line.property("role") == "muted" and line.isVisible()

    feed.post(SyncStatus(False, 37, SINCE, None))
    qtbot.waitUntil(lambda: line.text() == "clinic hub: offline since 14:02 · 37 waiting")
    assert "37 entries wait on this laptop" in line.toolTip() and line.tone == "offline"

    problem = "The clinic hub at 127.0.0.1:5432/kap refused the login 'room_a': wrong password."
    feed.post(SyncStatus(False, 1, None, problem, "login"))
    qtbot.waitUntil(lambda: line.tone == "fault")
    assert line.text() == "clinic hub: not syncing: the hub refused this room's login · 1 waiting"
    assert line.detail.startswith(problem + " 1 entry waits on this laptop")
    assert "room_a" in line.toolTip() and "\n" not in line.text()


def test_a_status_posted_from_the_workers_thread_is_drawn_on_the_gui_thread(qtbot) -> None:
    feed, line = _line(qtbot)
    drawn_on: list[threading.Thread] = []
    original = line.setText

    def spy(text: str) -> None:
        drawn_on.append(threading.current_thread())
        original(text)

    line.setText = spy  # type: ignore[method-assign]
    worker = threading.Thread(target=feed.post, args=(SyncStatus(True, 0, None, None),))
    worker.start()
    worker.join()
    assert drawn_on == [], "nothing is drawn by the worker's thread"
    qtbot.waitUntil(lambda: bool(drawn_on))
    assert drawn_on == [threading.main_thread()]


def test_the_live_line_never_takes_the_focus_from_the_note_field(
    qtbot, make_window: Callable[..., MainWindow]
) -> None:
    window = make_window(lambda _t, _x: True)
    window._on_rehearsal()
    view = window.live_view
    assert view is not None
    qtbot.waitUntil(lambda: window.focusWidget() is view.note)
    window.hub_feed.joined.emit()
    window.hub_feed.post(SyncStatus(False, 2, SINCE, None))
    qtbot.waitUntil(lambda: window.hub_line.text().startswith("clinic hub: offline since"))
    assert window.hub_line.isVisible()
    assert window.focusWidget() is view.note
    assert window.hub_line.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert QApplication.activeModalWidget() is None


def test_an_entry_committed_on_the_live_screen_nudges_the_sync(
    qtbot, make_window: Callable[..., MainWindow]
) -> None:
    window = make_window(lambda _t, _x: True)
    nudged: list[int] = []
    window.hub_feed.on_commit = lambda: nudged.append(1)
    window._on_rehearsal()
    view = window.live_view
    assert view is not None
    before = len(nudged)
    qtbot.keyClicks(view.note, "the room is quiet")
    qtbot.keyClick(view.note, "\r")
    qtbot.waitUntil(lambda: len(nudged) > before)


def test_a_sync_that_cannot_start_is_said_on_the_line_never_in_a_dialog(
    qtbot, make_window: Callable[..., MainWindow], store, tmp_path
) -> None:
    from ui.app import _start_hub_sync

    window = make_window(lambda _t, _x: True)
    folder = tmp_path / "data"
    (folder / "hub.json").write_text("not json")
    started: list[object] = []
    _start_hub_sync(window, folder, store, started)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.hub_line.tone == "fault")
    assert started == [] and QApplication.activeModalWidget() is None
    assert window.hub_line.text() == "clinic hub: not syncing: a fault needs attention"
    assert "hub.json cannot be read" in window.hub_line.detail
    assert "run `kapsession hub join` again" in window.hub_line.detail
