"""The banner that stays while an alert waits to be acknowledged (Alt+A)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


class AlertBanner(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setProperty("role", "alert")
        self.setWordWrap(True)
        self.setAccessibleName("Alert to acknowledge")
        self.setVisible(False)

    def show_text(self, text: str) -> None:
        """The session's words for its open alerts; empty hides the banner."""
        self.setVisible(bool(text))
        if text:
            self.setText(text)
