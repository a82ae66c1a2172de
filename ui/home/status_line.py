"""The home screen's one message line, and the one way its actions' errors reach it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from PySide6.QtWidgets import QLabel

from kapsession.errors import KapsessionError

from ..plain_text import plain_label

log = logging.getLogger("kapsession.ui.home")

DISK_TROUBLE = "The database could not be written (is the disk full or read-only?)."


def status_line() -> QLabel:
    label = plain_label()
    label.setWordWrap(True)
    label.setAccessibleName("Message")
    return label


def say(label: QLabel, text: str, error: bool = False) -> None:
    label.setProperty("role", "status" if error else "saved")
    label.setText(text)
    label.style().unpolish(label)
    label.style().polish(label)


def guarded(action: Callable[[], None], label: QLabel) -> None:
    """Run a home-screen action; what goes wrong is said on the message line."""
    try:
        action()
    except KapsessionError as exc:
        say(label, str(exc), error=True)
    except (sqlite3.Error, OSError) as exc:
        log.error("home action failed: %s", type(exc).__name__)
        say(label, DISK_TROUBLE, True)
