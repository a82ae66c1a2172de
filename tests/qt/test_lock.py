"""The screen lock on a running session: Ctrl+L or the idle time locks; nothing clinical is on
screen while locked (client code, notes, intention, the half-typed note); the dose clock and the
checks keep running underneath; a wrong PIN is refused, the right one brings the live screen
back with its focus and its half-typed note."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
import shiboken6
from helpers.monitoring import of_kind, start_sublingual
from helpers.qt import ModalDriver, show_active
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from kapsession.clock import FakeClock
from kapsession.session.live import LiveSession, SessionService
from kapsession.storage import security_settings
from kapsession.storage.store import Store
from kapsession.storage.unlock_tries import FAILED, UnlockTries
from ui import messages
from ui.dialogs import SHORTCUTS, ShortcutsDialog
from ui.format import t_plus
from ui.lock import FREE_TRIES, LockConfig
from ui.main_window import MainWindow
from ui.qt_lists import all_widgets, top_level_widgets
from ui.review import CourseWindow, ReviewWindow

CTRL = Qt.KeyboardModifier.ControlModifier
CLIENT = "CANARY-C9"
NOTE = "canary-note: the river under the floor"
HALF = "canary-half typed"
PIN = "4821"


@pytest.fixture
def mlive(pservice: SessionService) -> LiveSession:
    live = start_sublingual(pservice, CLIENT)
    live.add_note(NOTE)
    return live


@pytest.fixture
def locking_window(
    qtbot, pservice: SessionService, tmp_path: Path, settings_sandbox: None
) -> Iterator[Callable[..., MainWindow]]:
    windows: list[MainWindow] = []

    def make(
        live: LiveSession | None, idle_ms: int = 0, tries: UnlockTries | None = None
    ) -> MainWindow:
        pin_hash = security_settings.hash_pin(PIN)
        config = LockConfig(
            lambda typed: security_settings.pin_matches(pin_hash, typed), idle_ms, tries
        )
        window = MainWindow(
            pservice,
            lambda _scale: pytest.fail("no rehearsal here"),
            data_dir=tmp_path,
            confirm=lambda _title, _text: True,
            screen_lock=config,
        )
        windows.append(window)
        window.resize(1100, 760)
        show_active(qtbot, window)
        if live is not None:
            window.show_live(live)
        return window

    yield make
    for window in windows:
        if shiboken6.isValid(window):
            window.unlock()
            window.close()


def visible_text() -> str:
    """Every piece of text any visible widget or window title would show."""
    parts: list[str] = []
    for widget in all_widgets():
        if not widget.isVisible():
            continue
        if widget.isWindow():
            parts.append(widget.windowTitle())
        if isinstance(widget, QLabel | QAbstractButton):
            parts.append(widget.text())
        elif isinstance(widget, QLineEdit):
            parts += [widget.text(), widget.placeholderText()]
        elif isinstance(widget, QPlainTextEdit):
            parts.append(widget.toPlainText())
        elif isinstance(widget, QListWidget):
            parts += [widget.item(i).text() for i in range(widget.count())]
        parts.append(widget.toolTip())
    return "\n".join(parts)


def type_into_focus(qtbot, text: str) -> None:
    focus = QApplication.focusWidget()
    assert focus is not None
    qtbot.keyClicks(focus, text)


def test_locked_screen_shows_no_client_code_no_notes_and_keeps_the_half_typed_note(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    window = locking_window(mlive)
    view = window.live_view
    assert view is not None
    qtbot.keyClicks(view.note, HALF)
    before = visible_text()
    assert CLIENT in before and NOTE in before and HALF in before  # the check can see them

    qtbot.keyClick(view.note, Qt.Key.Key_L, CTRL)
    assert window.locked
    shown = visible_text()
    for secret in (CLIENT, NOTE, HALF, "to rest"):
        assert secret not in shown
    assert window.lock_screen.clock.text() == t_plus(mlive.elapsed())
    assert "phase" in window.lock_screen.phase.text()
    assert QApplication.focusWidget() is window.lock_screen.secret

    # Typing while locked goes to the PIN field, never into the note underneath.
    type_into_focus(qtbot, "99")
    assert view.note.text() == HALF
    window.close()  # refused while locked
    assert window.isVisible() and window.locked


def test_wrong_pin_then_right_pin(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    window = locking_window(mlive)
    view = window.live_view
    assert view is not None
    qtbot.keyClicks(view.note, HALF)
    window.lock()
    secret = window.lock_screen.secret
    qtbot.keyClicks(secret, "1234")
    qtbot.keyClick(secret, Qt.Key.Key_Return)
    assert window.locked
    assert "not the PIN" in window.lock_screen.status.text()
    assert secret.text() == ""
    qtbot.keyClicks(secret, PIN)
    qtbot.keyClick(secret, Qt.Key.Key_Return)
    assert not window.locked
    assert CLIENT in window.windowTitle()
    assert view.note.text() == HALF
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.note)


def test_the_dose_clock_and_the_checks_keep_running_while_locked(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession, clock: FakeClock
) -> None:
    window = locking_window(mlive)
    view = window.live_view
    assert view is not None
    window.lock()
    assert window.lock_screen.check.text().startswith("A check is due")  # the baseline
    due_before = len(of_kind(mlive, "check_due"))
    clock.advance(16 * 60 + 5)  # past the 15-minute check
    expected = t_plus(mlive.elapsed())
    # The lock page follows the clock, and so does the live screen underneath (its own timer).
    qtbot.waitUntil(lambda: window.lock_screen.clock.text() == expected)
    qtbot.waitUntil(lambda: view.clock.text() == expected)
    qtbot.waitUntil(lambda: len(of_kind(mlive, "check_due")) > due_before)
    assert window.locked
    assert window.lock_screen.check.text().startswith("A check is due")


def test_idle_time_locks_the_screen(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    window = locking_window(mlive, idle_ms=150)
    qtbot.waitUntil(lambda: window.locked, timeout=10_000)
    assert CLIENT not in visible_text()


def test_input_restarts_the_idle_countdown(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    window = locking_window(mlive, idle_ms=60_000)
    watcher = window.idle
    view = window.live_view
    handle = window.windowHandle()
    assert watcher is not None and view is not None and handle is not None
    assert watcher._timer.isActive()
    # Input as the window system delivers it: to the window, then to its focus widget.
    watcher._timer.stop()  # as if the countdown had been running: any input starts it afresh
    QTest.keyClick(handle, Qt.Key.Key_A)
    assert view.note.text() == "a"
    assert watcher._timer.isActive() and watcher._timer.interval() == 60_000
    watcher._timer.stop()
    QTest.mouseClick(
        handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5)
    )
    assert watcher._timer.isActive()
    # While locked there is nothing to count down; unlocking starts it again.
    window.lock()
    watcher._timer.stop()
    QTest.keyClick(handle, Qt.Key.Key_1)
    assert window.lock_screen.secret.text() == "1"
    assert not watcher._timer.isActive()
    window.unlock()
    assert watcher._timer.isActive()


def test_the_home_screen_locks_too(
    qtbot, locking_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    window = locking_window(None)
    qtbot.keyClick(window.home, Qt.Key.Key_L, CTRL)
    assert window.locked
    assert window.lock_screen.phase.text() == "No session is running"
    assert str(tmp_path) not in visible_text()


def test_ctrl_l_is_in_the_shortcut_list() -> None:
    assert any(keys == "Ctrl+L" for keys, _what in SHORTCUTS)


def test_no_pin_and_no_passphrase_unlocks_with_enter(
    qtbot, pservice: SessionService, tmp_path: Path, settings_sandbox: None
) -> None:
    window = MainWindow(
        pservice,
        lambda _scale: pytest.fail("no rehearsal"),
        data_dir=tmp_path,
        screen_lock=LockConfig(None, 0),
    )
    qtbot.addWidget(window)
    show_active(qtbot, window)
    window.lock()
    assert "press Enter" in window.lock_screen.secret.placeholderText()
    qtbot.keyClick(window.lock_screen.secret, Qt.Key.Key_Return)
    assert not window.locked


def test_locking_over_an_open_form_closes_it_unsaved(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession, modal: ModalDriver
) -> None:
    """The amend form shows the note's text: when the idle time locks the screen over it, it
    is closed (nothing saved) so the lock is the only thing on screen."""
    from ui.dialogs import AmendDialog

    window = locking_window(mlive)
    view = window.live_view
    assert view is not None
    notes_before = [e for e in mlive.events() if e.kind in ("note", "amendment")]

    def lock_over(dialog: AmendDialog) -> None:
        assert NOTE in dialog.text_edit.toPlainText()
        dialog.reason_edit.setText("typo")
        assert window.idle is not None
        window.idle.idle.emit()  # the idle time ran out while the form was open

    modal.next(lock_over, AmendDialog)
    qtbot.keyClick(view.note, Qt.Key.Key_E, CTRL)
    modal.check()
    assert window.locked
    assert NOTE not in visible_text() and CLIENT not in visible_text()
    assert [e for e in mlive.events() if e.kind in ("note", "amendment")] == notes_before
    window.activateWindow()  # what the window manager does when the form closes
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.lock_screen.secret)


def test_repeated_wrong_pins_make_each_next_try_wait(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    window = locking_window(mlive)
    window.lock()
    screen = window.lock_screen
    for _ in range(FREE_TRIES):
        qtbot.keyClicks(screen.secret, "0000")
        qtbot.keyClick(screen.secret, Qt.Key.Key_Return)
    assert not screen.secret.isEnabled()
    assert "Wait 5 seconds" in screen.status.text()
    assert screen._hold.isActive() and screen._hold.interval() == 5000
    screen._hold.stop()
    screen._end_hold()  # the wait is over
    assert screen.secret.isEnabled()
    qtbot.keyClicks(screen.secret, "1111")
    qtbot.keyClick(screen.secret, Qt.Key.Key_Return)
    assert screen._hold.interval() == 10_000  # doubled
    screen._hold.stop()
    screen._end_hold()
    qtbot.keyClicks(screen.secret, PIN)
    qtbot.keyClick(screen.secret, Qt.Key.Key_Return)
    assert not window.locked


# --- every window of the app, not only the main one ----------------------------------------


def visible_windows() -> list[QWidget]:
    return [w for w in top_level_widgets() if w.isVisible()]


def on_screen(widget: QWidget) -> bool:
    """Mapped by the platform, not only flagged visible by Qt."""
    handle = widget.windowHandle()
    return handle is not None and handle.isVisible()


def the_one(kind: type[QWidget]) -> QWidget:
    found = [w for w in visible_windows() if isinstance(w, kind)]
    assert len(found) == 1, found
    return found[0]


def with_review_and_course(qtbot, window: MainWindow) -> tuple[ReviewWindow, CourseWindow]:
    """The home screen's own keys open the newest session's review and its client's course."""
    qtbot.keyClick(window.home, Qt.Key.Key_C, CTRL | Qt.KeyboardModifier.ShiftModifier)
    course = the_one(CourseWindow)
    show_active(qtbot, window)
    qtbot.keyClick(window.home, Qt.Key.Key_R, CTRL)
    review = the_one(ReviewWindow)
    qtbot.waitUntil(review.isActiveWindow)
    # Its search finds the note in every session: what must not stay usable under the lock.
    review.search.setText("river")
    qtbot.keyClick(review.search, Qt.Key.Key_Return)
    assert CLIENT in visible_text() and NOTE in visible_text()  # the check can see them
    review.plot.setFocus()
    return cast(ReviewWindow, review), cast(CourseWindow, course)


def unlock_with_pin(qtbot, window: MainWindow) -> None:
    qtbot.keyClicks(window.lock_screen.secret, PIN)
    qtbot.keyClick(window.lock_screen.secret, Qt.Key.Key_Return)
    assert not window.locked


def assert_only_the_lock_shows(window: MainWindow) -> None:
    assert visible_windows() == [window]
    assert window.locked and window.windowTitle() == "kapsession · locked"
    shown = visible_text()
    assert CLIENT not in shown and NOTE not in shown


# Keys sent at hidden or disabled widgets are refused, which QTest reports: that is the point.
@pytest.mark.qt_log_ignore("Keyboard event not accepted by receiving widget")
def test_ctrl_l_in_the_review_window_locks_every_window_and_the_unlock_brings_them_back(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    window = locking_window(None)
    review, course = with_review_and_course(qtbot, window)

    qtbot.keyClick(review.plot, Qt.Key.Key_L, CTRL)  # pressed where the therapist is
    assert_only_the_lock_shows(window)
    assert not on_screen(review) and not on_screen(course)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.lock_screen.secret)

    # Their keys cannot bring them back: the home screen's, typed at the main window (as the
    # window system delivers them, and straight at the hidden home screen)...
    handle = window.windowHandle()
    assert handle is not None
    shift = Qt.KeyboardModifier.ShiftModifier
    for key, modifiers in ((Qt.Key.Key_R, CTRL), (Qt.Key.Key_C, CTRL | shift)):
        QTest.keyClick(handle, key, modifiers)
        qtbot.keyClick(window.home, key, modifiers)
    # ... nor the review's own keys (its search), sent to a window that is no longer shown.
    qtbot.keyClick(review, Qt.Key.Key_F, CTRL)
    qtbot.keyClick(review, Qt.Key.Key_F5)
    assert_only_the_lock_shows(window)
    assert window.lock_screen.secret.text() == ""  # none of it was typed anywhere

    unlock_with_pin(qtbot, window)
    assert set(visible_windows()) == {window, review, course}
    assert on_screen(review) and on_screen(course)
    qtbot.waitUntil(review.isActiveWindow)  # the keyboard goes back where it was
    review.close()
    course.close()


def test_the_idle_lock_hides_the_review_and_course_and_typing_there_counts_as_activity(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    window = locking_window(None, idle_ms=60_000)
    watcher = window.idle
    assert watcher is not None
    review, course = with_review_and_course(qtbot, window)
    handle = review.windowHandle()
    assert handle is not None
    # Typing in the review (as the window system delivers it) restarts the countdown.
    watcher._timer.stop()
    QTest.keyClick(handle, Qt.Key.Key_Right)
    assert watcher._timer.isActive() and watcher._timer.interval() == 60_000

    watcher._timer.start(50)  # as if the therapist had then left the room for the idle time
    qtbot.waitUntil(lambda: window.locked)
    assert_only_the_lock_shows(window)
    unlock_with_pin(qtbot, window)
    assert set(visible_windows()) == {window, review, course}
    review.close()
    course.close()


def test_nothing_shows_while_locked_and_what_asked_to_show_comes_after_the_unlock(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession
) -> None:
    """A timer, a menu action, another window's key: whatever opens a window while locked,
    it never reaches the screen; a message is kept and shown after the unlock."""
    window = locking_window(None)
    window.lock()
    window.home.action_row.review()  # what the home screen's key or a timer would run
    late = [w for w in top_level_widgets() if isinstance(w, ReviewWindow)]
    assert len(late) == 1 and not on_screen(late[0])
    messages.error(window, "Backup not written: the backup folder is full.")  # returns: closed
    qtbot.waitUntil(lambda: visible_windows() == [window])
    assert_only_the_lock_shows(window)
    assert not any(on_screen(w) for w in top_level_widgets() if w is not window)

    unlock_with_pin(qtbot, window)
    assert on_screen(late[0])
    box = the_one(QMessageBox)
    assert box.text() == "Backup not written: the backup folder is full."
    box.close()
    late[0].close()


def test_ctrl_l_in_a_dialog_of_the_review_locks_and_closes_the_dialog(
    qtbot, locking_window: Callable[..., MainWindow], mlive: LiveSession, modal: ModalDriver
) -> None:
    window = locking_window(None)
    review, course = with_review_and_course(qtbot, window)

    def lock_from(dialog: QWidget) -> None:
        qtbot.waitUntil(dialog.isActiveWindow)
        handle = dialog.windowHandle()
        assert handle is not None
        QTest.keyClick(handle, Qt.Key.Key_L, CTRL)  # as the window system delivers it

    modal.next(lock_from, ShortcutsDialog)
    review_handle = review.windowHandle()
    assert review_handle is not None
    QTest.keyClick(review_handle, Qt.Key.Key_F1)  # the review's key list, a modal dialog
    modal.check()
    assert_only_the_lock_shows(window)
    unlock_with_pin(qtbot, window)
    assert set(visible_windows()) == {window, review, course}
    review.close()
    course.close()


def test_wrong_tries_before_a_restart_still_hold_the_lock(
    qtbot, locking_window: Callable[..., MainWindow], store: Store, clock: FakeClock
) -> None:
    """The wrong tries are on the audit trail: a lock screen built after a restart (a new
    UnlockTries over the same store) starts with the wait still to run."""
    store.clock = clock
    before = UnlockTries(store, clock)
    store.audit("lock", "app")
    for _ in range(FREE_TRIES + 1):
        before.failed()
    clock.advance(4)

    after = UnlockTries(store, clock)  # the app started again
    assert after.locked_at_exit
    window = locking_window(None, tries=after)
    window.lock()
    screen = window.lock_screen
    assert not screen.secret.isEnabled()
    assert "Wait 6 seconds" in screen.status.text()
    assert screen._hold.isActive() and screen._hold.interval() == 6000
    screen._hold.stop()
    screen._end_hold()
    qtbot.keyClicks(screen.secret, "0000")
    qtbot.keyClick(screen.secret, Qt.Key.Key_Return)
    assert screen._hold.interval() == 20_000  # the count went on from before the restart
    failed = [a for (a,) in store.db.execute("SELECT action FROM audit") if a == FAILED]
    assert len(failed) == FREE_TRIES + 2
