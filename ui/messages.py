"""The one path by which problems reach the therapist (and a log line without clinical text)."""

from __future__ import annotations

import logging
import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger("kapsession.ui")

# If the first paint never comes, --smoke fails instead of hanging a packaging check.
SMOKE_TIMEOUT_MS = 20_000
# bench/startup.py's contract: a --smoke run appends `first_paint <ns>` and `ready <ns>`
# (time.monotonic_ns()) to the file this names.
SMOKE_STAMPS_ENV = "KAPSESSION_SMOKE_STAMPS"


def smoke_stamp(*names: str) -> None:
    """Appends `name <monotonic ns>` lines to $KAPSESSION_SMOKE_STAMPS's file, if it is set."""
    path = os.environ.get(SMOKE_STAMPS_ENV)
    if path:
        now = time.monotonic_ns()
        with open(path, "a", encoding="ascii") as out:
            out.writelines(f"{name} {now}\n" for name in names)


def fatal(message: str, code: int, show: bool = True) -> int:
    """A problem that stops the app before it opens: one line on stderr, a dialog if possible."""
    print(f"kapsession: {message}", file=sys.stderr)
    if show:
        _ask(None, QMessageBox.Icon.Critical, "kapsession", message)
    return code


def _ask(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    message: str,
    buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.Ok,
) -> int:
    """A message box whose text is shown as it is: messages carry file names, client codes
    and protocol names, which must never be read as markup."""
    box = QMessageBox(icon, title, message, buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box.exec()


def error(parent: QWidget | None, message: str) -> None:
    log.warning("shown to user: error dialog")
    _ask(parent, QMessageBox.Icon.Warning, "kapsession", message)


def inform(parent: QWidget | None, title: str, message: str) -> None:
    _ask(parent, QMessageBox.Icon.Information, title, message)


def confirm(parent: QWidget | None, title: str, message: str) -> bool:
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    return _ask(parent, QMessageBox.Icon.Question, title, message, yes | no) == yes


class _FirstPaint(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app = app
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.painted:
            self.painted = True
            # Let this paint finish, then stamp it (the main window painted: the first paint
            # and the first screen to act on at once) and leave.
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        smoke_stamp("first_paint", "ready")
        self.app.quit()


def exit_after_first_paint(app: QApplication, window: QWidget) -> int:
    watcher = _FirstPaint(app)
    window.installEventFilter(watcher)
    QTimer.singleShot(SMOKE_TIMEOUT_MS, app.quit)
    app.exec()
    if not watcher.painted:
        print("kapsession: the main window was never painted", file=sys.stderr)
        return 1
    return 0
