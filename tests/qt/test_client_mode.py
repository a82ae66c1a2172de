"""Client mode (issue 18) in the real main window: the client answers a PHQ-9 with the number
keys, one item a screen in large type; every other window of the app (a course view with the
client's data) is off the screen meanwhile; at the end the answers are saved and scored and
the lock screen asks for the PIN; only the PIN brings the clinician's screens back. A run
stopped early is kept as incomplete, never scored."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from helpers.qt import show_active
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kapsession.clock import FakeClock
from kapsession.integration import measures
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage import clinicians, security_settings
from kapsession.storage.store import Store
from ui.client_mode import ClientModePage
from ui.lock import LockConfig
from ui.main_window import MainWindow
from ui.review import CourseWindow
from ui.settings import Settings

PIN = "4821"
KEYS = [Qt.Key.Key_0 + n for n in range(10)]


@pytest.fixture
def window(
    qtbot, store: Store, service: SessionService, tmp_path: Path, settings_sandbox: None
) -> Iterator[MainWindow]:
    clinicians.charting_as(
        store, clinicians.add(store, "A. Rivera", "therapist", "", "1234", service.clock.now())
    )
    service.plan(SessionPlan("K-044", "KAP sublingual", "sublingual", 150.0, 60, ""))
    pin_hash = security_settings.hash_pin(PIN)
    w = MainWindow(
        service,
        lambda _scale: pytest.fail("no rehearsal here"),
        data_dir=tmp_path / "data",
        confirm=lambda _t, _x: True,
        screen_lock=LockConfig(lambda typed: security_settings.pin_matches(pin_hash, typed), 0),
    )
    w.resize(1100, 760)
    show_active(qtbot, w)
    yield w
    if shiboken6.isValid(w):
        w.unlock()
        w.close()


def _start(qtbot, w: MainWindow, instrument: str = "phq9") -> ClientModePage:  # type: ignore[no-untyped-def]
    home = w.home
    home.table.selectRow(0)
    home.instrument_choice.setCurrentIndex(home.instrument_choice.findData(instrument))
    assert home.client_mode_button.isEnabled()
    qtbot.mouseClick(home.client_mode_button, Qt.MouseButton.LeftButton)
    page = w.client_page
    assert isinstance(page, ClientModePage)
    qtbot.waitUntil(page.hasFocus)
    return page


def test_a_client_answers_a_phq9_by_keyboard_and_the_pin_brings_the_screens_back(
    qtbot, window: MainWindow, store: Store, clock: FakeClock
) -> None:
    course = CourseWindow(store, "K-044", lambda _id: None, settings=Settings())
    course.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(course)
    course.show()
    window.activateWindow()
    page = _start(qtbot, window)
    # the clinician's screens are off the screen: the course window, the home page
    assert not course.isVisible()
    assert window._pages.currentWidget() is page and not window.home.isVisible()
    assert page.item.font().pointSize() >= 24 or "30pt" in page.item.styleSheet()
    assert page.progress.text() == "Question 1 of 9"
    assert page.item.text() == "Little interest or pleasure in doing things"
    answers = [1, 2, 0, 3, 1, 0, 2, 1, 0]
    qtbot.keyClick(page, KEYS[7])  # not an answer: nothing moves
    assert page.progress.text() == "Question 1 of 9"
    qtbot.keyClick(page, KEYS[3])
    qtbot.keyClick(page, Qt.Key.Key_Backspace)  # back to item 1, answered again below
    assert page.progress.text() == "Question 1 of 9"
    for n, value in enumerate(answers):
        assert page.progress.text() == f"Question {n + 1} of 9"
        qtbot.keyClick(page, KEYS[value])
    # done: saved, scored, and the lock screen asks for the PIN
    assert window.client_page is None
    assert window.locked and not course.isVisible()
    [saved] = measures.measures_of(store, "K-044")
    assert (saved.complete, saved.total, saved.severity, saved.source) == (
        True,
        10.0,
        "moderate",
        "client",
    )
    assert saved.answers == tuple(answers) and saved.author == "A. Rivera"
    secret = window.lock_screen.secret
    qtbot.keyClicks(secret, "0000")
    qtbot.keyClick(secret, Qt.Key.Key_Return)
    assert window.locked
    qtbot.keyClicks(secret, PIN)
    qtbot.keyClick(secret, Qt.Key.Key_Return)
    assert not window.locked
    qtbot.waitUntil(course.isVisible)
    assert window.home.isVisible()


def test_a_run_stopped_early_is_kept_as_incomplete(qtbot, window: MainWindow, store: Store) -> None:
    page = _start(qtbot, window)
    for value in (2, 2, 1):
        qtbot.keyClick(page, KEYS[value])
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert window.client_page is page and "Escape again" in page.hint.text()
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert window.client_page is None and window.locked
    [saved] = measures.measures_of(store, "K-044")
    assert (saved.complete, saved.total) == (False, None)
    assert saved.answers[:4] == (2, 2, 1, None)


def test_a_click_answers_too_and_closing_is_refused_while_the_client_holds_it(
    qtbot, window: MainWindow, store: Store
) -> None:
    page = _start(qtbot, window, "gad7")
    window.close()
    assert window.isVisible() and window.client_page is page
    for _ in range(7):
        qtbot.mouseClick(page.buttons[1], Qt.MouseButton.LeftButton)
    [saved] = measures.measures_of(store, "K-044")
    assert (saved.instrument, saved.total, saved.severity) == ("gad7", 7.0, "mild")
    assert QApplication.activeWindow() is window


def test_each_answer_is_kept_before_the_next_item_shows_and_the_start_counts_as_a_lock(
    qtbot, window: MainWindow, store: Store
) -> None:
    """A kill mid-run loses nothing (kapsession.integration.client_run.keep): each answer is
    in the open run, committed, when the next item is on the screen; and the start is a lock
    on the audit trail (once, not again at the end), so a restart opens locked."""
    locks: list[bool] = []
    window.lock_changed.connect(locks.append)
    page = _start(qtbot, window)
    assert locks == [True]
    reader = sqlite3.connect(store.conn.execute("PRAGMA database_list").fetchone()[2])
    for n, value in enumerate((2, 0, 3), start=1):
        qtbot.keyClick(page, KEYS[value])
        assert page.progress.text() == f"Question {n + 1} of 9"
        [kept] = reader.execute("SELECT answers FROM open_client_runs").fetchall()
        assert json.loads(kept[0])[:n] == [2, 0, 3][:n]
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert window.locked and locks == [True]
    assert reader.execute("SELECT count(*) FROM open_client_runs").fetchone()[0] == 0
    reader.close()
    [saved] = measures.measures_of(store, "K-044")
    assert saved.answers[:4] == (2, 0, 3, None) and not saved.complete
