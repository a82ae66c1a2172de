"""The one path by which problems reach the therapist (and a log line without clinical text)."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger("kapsession.ui")


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
