"""Ctrl+U switches who is charting, but on X11 a QLineEdit claims Ctrl+U for itself (the
keyboard scheme's DeleteCompleteLine): it accepts the ShortcutOverride and the shortcut never
fires (seen under Xvfb: the PIN typed next went into the note field). This filter declines
that override in the text fields it is installed on, so the key reaches the shortcut."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget


class _KeepCtrlU(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if event.key() == Qt.Key.Key_U and mods == Qt.KeyboardModifier.ControlModifier:
                event.ignore()  # not the field's: the window's shortcut takes it
                return True
        return False


def keep_ctrl_u(owner: QWidget, *fields: QLineEdit) -> None:
    """Ctrl+U in `fields` (default: every line edit in `owner`) goes to the shortcut."""
    keeper = _KeepCtrlU(owner)
    for field in fields or tuple(owner.findChildren(QLineEdit)):
        field.installEventFilter(keeper)
