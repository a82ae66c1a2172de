"""Helpers shared by the widget tests (fixtures live in conftest.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QListWidget, QWidget

from kapsession.storage.store import Event, Store


def show_active(qtbot, widget: QWidget) -> None:
    """Shortcuts only fire in the active window."""
    with qtbot.waitActive(widget):
        widget.show()
        widget.activateWindow()


def type_into(qtbot, widget: QWidget, text: str) -> None:
    """Typed, as a therapist would, into the widget after it took the focus."""
    widget.setFocus()
    qtbot.keyClicks(widget, text)


def stream_texts(stream: QListWidget) -> list[str]:
    return [stream.item(i).text() for i in range(stream.count())]


def db_path(store: Store) -> Path:
    return Path(store.db.execute("PRAGMA database_list").fetchone()[2])


def committed(store: Store, kind: str | None = None) -> list[dict[str, object]]:
    """Rows as another connection sees them: only what was really committed."""
    conn = sqlite3.connect(f"file:{db_path(store)}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [dict(r) for r in rows if kind is None or r["kind"] == kind]


def notes_in(store: Store, session_id: int) -> list[Event]:
    return [e for e in store.events(session_id) if e.kind == "note"]


class ModalDriver:
    """Interacts with the next modal dialog from inside its exec() loop.

    A failing handler closes the dialog (so exec() returns instead of hanging the test) and its
    error is raised again by check(). Call next() once per action that opens a dialog: a second
    pending handler would fire inside the first dialog's loop."""

    def __init__(self) -> None:
        self.seen: list[QWidget] = []
        self.errors: list[BaseException] = []
        self.cancelled = False

    def next(self, handler: Callable[[QWidget], None], kind: type[QWidget] = QDialog) -> None:
        tries = [0]

        def run() -> None:
            if self.cancelled:  # the test is over; never touch a later test's dialogs
                return
            widget = QApplication.activeModalWidget()
            if widget is None and tries[0] < 50:
                tries[0] += 1
                QTimer.singleShot(10, run)
                return
            try:
                assert isinstance(widget, kind), f"expected a {kind.__name__}, got {widget!r}"
                self.seen.append(widget)
                handler(widget)
            except BaseException as exc:
                self.errors.append(exc)
                if isinstance(widget, QDialog) and widget.isVisible():
                    widget.reject()

        QTimer.singleShot(0, run)

    def check(self, count: int = 1) -> None:
        if self.errors:
            raise self.errors[0]
        assert len(self.seen) == count, f"expected {count} modal dialog(s), saw {len(self.seen)}"


def reactivate(qtbot, window: QWidget, focus: QWidget) -> None:
    """What the window manager does when a dialog closes: activate its parent window again, so
    the keyboard goes to `focus` (the offscreen platform has no window manager)."""
    assert window.focusWidget() is focus, "the window must hand its focus back to the note"
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is focus)


def double_click(qtbot, viewport: QWidget, pos) -> None:
    """A real double click: press/release then the double-click event (QTest's mouseDClick
    alone sends only the last)."""
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=pos)


# Entries the user writes or causes; the core may add others (phase changes, clock events).
USER_KINDS = ("dose", "note", "amendment", "app_closed", "session_ended")


def kinds(store: Store, session_id: int, only: tuple[str, ...] = USER_KINDS) -> list[str]:
    return [e.kind for e in store.events(session_id) if e.kind in only]


def row_with(stream: QListWidget, text: str) -> int:
    """The one stream row whose line ends with `text`."""
    rows = [i for i in range(stream.count()) if stream.item(i).text().endswith(text)]
    assert len(rows) == 1, f"expected one row ending with {text!r}, found {len(rows)}"
    return rows[0]
