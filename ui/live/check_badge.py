"""The protocol check badge: draws what the session decided (`LiveSession.check_badge`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from kapsession.session.live_status import BadgeState


class CheckBadge(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAccessibleName("Protocol check")
        self.setStyleSheet("font-size: 14pt; padding: 6px 12px;")

    def show_state(self, state: BadgeState) -> None:
        self.setText(state.text)
        self.setVisible(bool(state.text))
        if self.property("role") != state.level:
            self.setProperty("role", state.level)
            self.style().unpolish(self)
            self.style().polish(self)
