"""While the screen is locked, the main window's lock page is the only window of the app on
screen. This is the one place that decides it, for every window the app has or will open:

- Ctrl+L locks from whichever window has the keyboard (the main window, a review, a course,
  a form), and the idle time counts input in all of them;
- locking hides every other window (review, course, ...) and closes every dialog unsaved
  (a form, a message box: any of them may show clinical text);
- while locked, any window that tries to show itself (a shortcut, a timer, a message) is kept
  off the screen before it is ever mapped: windows are put back on unlock, dialogs are closed,
  and a message's text is shown again after the unlock;
- unlocking puts the hidden windows back, and the one that had the keyboard gets it back."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut, QWindow
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from .lock import IdleWatcher
from .qt_lists import top_level_widgets

LOCK_KEYS = "Ctrl+L"
_HAS_LOCK_KEY = "kapsession_lock_key"  # a property on each window given the key once
_TRANSIENT = (Qt.WindowType.Popup, Qt.WindowType.ToolTip)  # menus, tooltips: closed, not kept


class LockCoordinator(QObject):
    lock_requested = Signal()  # Ctrl+L in any window of the app, or the idle time ran out

    def __init__(self, main: QWidget, idle_ms: int) -> None:
        super().__init__(main)  # the main window, found again as the parent: no cycle
        self.idle = IdleWatcher(idle_ms, self)
        self.idle.idle.connect(self._request)
        self.engaged = False
        self._hidden: list[QWidget] = []  # put away by the lock, in the order they were shown
        self._resume: QWidget | None = None  # the window that had the keyboard
        self._messages: list[tuple[QMessageBox.Icon, str, str]] = []
        self._give_lock_key(main)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self._on_focus_window_changed)

    @property
    def _main(self) -> QWidget:
        main = self.parent()
        assert isinstance(main, QWidget)
        return main

    # --- Ctrl+L in every window ----------------------------------------------------------------
    def _request(self) -> None:
        # A main window that was closed (the app is ending, or a test's window left behind)
        # no longer answers: only the window on screen locks and records it.
        if self._main.isVisible():
            self.lock_requested.emit()

    def _on_focus_window_changed(self, window: QWindow | None) -> None:
        if not self._main.isVisible():
            return
        widget = _widget_of(window)
        if widget is not None:
            self._give_lock_key(widget)

    def _give_lock_key(self, widget: QWidget) -> None:
        if widget.property(_HAS_LOCK_KEY):
            return
        widget.setProperty(_HAS_LOCK_KEY, True)
        shortcut = QShortcut(QKeySequence(LOCK_KEYS), widget)
        shortcut.activated.connect(self._request)

    # --- lock and unlock -------------------------------------------------------------------
    def engage(self) -> None:
        """Every window but the main one leaves the screen, and stays off it until `release`."""
        if self.engaged:
            return
        self.engaged = True
        self.idle.paused = True
        active = QApplication.activeWindow()
        self._resume = active if active is not None and active is not self._main else None
        for widget in top_level_widgets():
            if widget is not self._main and widget.isVisible():
                self._put_away(widget)
        app = QApplication.instance()
        if app is not None:
            # Only while locked: a Python filter on every event of the app costs too much
            # the rest of the time (see IdleWatcher), and while locked little happens.
            app.installEventFilter(self)
        if self._main.isMinimized():
            self._main.setWindowState(self._main.windowState() & ~Qt.WindowState.WindowMinimized)
        self._main.activateWindow()  # a window manager raises what it activates

    def release(self) -> None:
        """The windows the lock put away come back; the one that had the keyboard gets it."""
        if not self.engaged:
            return
        self.engaged = False
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        hidden, self._hidden = [w for w in self._hidden if shiboken6.isValid(w)], []
        for widget in hidden:
            widget.show()
        resume, self._resume = self._resume, None
        if resume is not None and shiboken6.isValid(resume) and resume in hidden:
            resume.activateWindow()
        messages, self._messages = self._messages, []
        for icon, title, text in messages:
            box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self._main)
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self.idle.paused = False
        self.idle.restart()

    def _put_away(self, widget: QWidget) -> None:
        if isinstance(widget, QMessageBox):
            # Its text is kept (to show after the unlock), never left on screen meanwhile.
            self._messages.append((widget.icon(), widget.windowTitle(), widget.text()))
        if isinstance(widget, QDialog):
            widget.reject()  # a form is closed unsaved: it may show clinical text
        elif widget.windowType() in _TRANSIENT:
            widget.hide()
        else:
            widget.hide()
            if widget not in self._hidden:
                self._hidden.append(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Show
            and isinstance(watched, QWidget)
            and watched.isWindow()
            and watched is not self._main
        ):
            # A Show event comes before the window is mapped: marked now, it never reaches
            # the screen; it is put away once the show in progress has returned. Not a modal
            # dialog: Qt would list it twice as modal and keep a dangling entry (it crashed);
            # a dialog is closed at once instead, before anything is painted in it.
            if not watched.isModal():
                watched.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            QTimer.singleShot(0, self, lambda: self._keep_off_screen(watched))
        return False

    def _keep_off_screen(self, widget: QWidget) -> None:
        if not shiboken6.isValid(widget):
            return
        if self.engaged and widget.isVisible():
            self._put_away(widget)
        if widget.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen):
            widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, False)
            if widget.isVisible():  # unlocked meanwhile: shown for real this time
                widget.hide()
                widget.show()


def _widget_of(window: QWindow | None) -> QWidget | None:
    if window is None:
        return None
    for widget in top_level_widgets():
        if widget.windowHandle() is window:
            return widget
    return None
