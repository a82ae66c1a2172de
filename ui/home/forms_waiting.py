"""The home screen's list of sessions whose monitoring form has not been exported yet, oldest
first, with the days since the session (issue 15); once the form is exported (the export
dialog or `kapsession export --format form`) the line goes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QVBoxLayout, QWidget

from kapsession.clock import Clock, SystemClock
from kapsession.exports.form_waiting import forms_waiting, waiting_line
from kapsession.storage.store import Store

from ..plain_text import plain_label


class FormsWaiting(QWidget):
    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        super().__init__()
        self.store, self.clock = store, clock or SystemClock()
        self.title = plain_label("Monitoring forms not exported yet (oldest first):")
        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        self.list.setAccessibleName("Sessions whose monitoring form is not exported")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list)

    def refresh(self) -> None:
        self.list.clear()
        for w in forms_waiting(self.store, self.clock.now()):
            self.list.addItem(waiting_line(w))
            self.list.item(self.list.count() - 1).setData(Qt.ItemDataRole.UserRole, w.session.id)
        self.setVisible(self.list.count() > 0)

    def lines(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]
