"""The list of sessions, newest first, with a welcome in its place until there is one."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapsession.storage.store import SessionRecord, parse_iso

from ..format import minutes_seconds
from ..plain_text import plain_label

WELCOME = (
    "<p><b>Welcome to kapsession.</b> It sits open through the dosing window: the dose clock "
    "across the room, the protocol's checks coming due quietly, the music arc, and notes that "
    "save with Enter.</p>"
    "<p>To see how a session feels before a real one, press <b>Rehearse with a demo client</b> "
    "below: a training session with made-up data, marked as rehearsal everywhere.</p>"
    "<p>For a real session, enter the client's code, the protocol, the dose and the music on the "
    "left, then <b>Give dose now</b> at the moment the medicine is given. F1 lists every key.</p>"
)
COLUMNS = ("#", "Client", "State", "Route", "Dose", "Planned", "Dose given", "Length")


class SessionList(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The client column takes what is left, so no column is elided or scrolled sideways.
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.setAccessibleName("Sessions")

        # The first launch explains itself and offers a rehearsal; gone once a session exists.
        self.welcome = plain_label(WELCOME)
        self.welcome.setWordWrap(True)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.welcome.setAccessibleName("Welcome")
        self.welcome.setStyleSheet("font-size: 13pt; padding: 12px;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.welcome)
        layout.addWidget(self.table)

    def show_sessions(self, records: Sequence[SessionRecord]) -> None:
        """The sessions, oldest first as the store gives them; shown newest first."""
        shown = list(reversed(records))
        self.welcome.setVisible(not shown)
        self.table.setVisible(bool(shown))
        self.table.setRowCount(len(shown))
        for row, record in enumerate(shown):
            for col, text in enumerate(_row(record)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, record.id)
                self.table.setItem(row, col, item)

    def selected_id(self) -> int | None:
        items = self.table.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None


def _row(record: SessionRecord) -> tuple[str, ...]:
    client = record.client_code + (" (rehearsal)" if record.rehearsal else "")
    given = (
        parse_iso(record.dose_at).astimezone().strftime("%Y-%m-%d %H:%M") if record.dose_at else "–"
    )
    length = minutes_seconds(record.ended_t) if record.ended_t is not None else "–"
    return (
        str(record.id),
        client,
        record.state,
        record.route,
        f"{record.dose_mg:g} mg",
        f"{record.planned_minutes} min",
        given,
        length,
    )
