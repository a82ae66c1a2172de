"""Every entry of the session in a list beside the timeline, in reading order. Moving through
it reports the entry chosen; a selection made elsewhere is followed without reporting back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from kapsession.integration.review import Review
from ui import theme
from ui.format import t_plus
from ui.review.entry_text import entry_line

ALERTING = ("alert", "check_missed")
QUIET = (
    "check_due",
    "check_late",
    "check_snoozed",
    "check_skipped",
    "alert_ack",
    "track_ended",
    "volume",
)


class EntriesModel(QAbstractTableModel):
    """Every entry of the session, in reading order, answered row by row from the review's
    columns: the time and colour from each entry's kind and time, the text made (and the entry
    read) when a row is first shown. The view only asks for the rows on screen, so 10,000
    entries cost nothing up front."""

    HEADERS = ("Time", "Entry")

    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review
        self._events = review.events
        self._seqs, self._kinds, self._ts = (
            review.events.seqs,
            review.events.kinds,
            review.events.ts,
        )
        self._texts: dict[int, str] = {}
        self._alert, self._muted = QColor(theme.ALERT), QColor(theme.MUTED)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._seqs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def seq_at(self, row: int) -> int:
        return self._seqs[row]

    @property
    def row_of(self) -> Mapping[int, int]:
        """The row of each entry, by seq."""
        return self._events.positions

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                t = self._ts[row]
                return t_plus(t) if t is not None else "after" if self._seqs[row] else ""
            return self._text(row)
        if role == Qt.ItemDataRole.ForegroundRole:
            kind = self._kinds[row]
            if kind in ALERTING:
                return self._alert
            if kind in QUIET:
                return self._muted
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def _text(self, row: int) -> str:
        seq = self._seqs[row]
        text = self._texts.get(seq)
        if text is None:
            text = entry_line(self.review, self._events[row])
            self._texts[seq] = text
        return text


class EntryTable(QTableView):
    chosen = Signal(int)  # the seq of the row moved to

    def __init__(self) -> None:
        super().__init__()
        self.entries_model: EntriesModel | None = None
        self._following = False
        self.setAccessibleName("All entries")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(26)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.horizontalHeader().setStretchLastSection(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setStyleSheet(  # the selected row: amber text on a barely raised row
            f"QTableView {{ background: {theme.SURFACE}; alternate-background-color: "
            f"{theme.BACKGROUND}; border: 1px solid {theme.BORDER}; border-radius: 8px; }}"
            f"QTableView::item {{ padding: 2px 6px; }}"
            f"QTableView::item:selected {{ background: {theme.RAISED}; color: {theme.ACCENT}; }}"
        )
        self.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)

    def show_review(self, review: Review) -> EntriesModel:
        self.entries_model = model = EntriesModel(review)
        self.setModel(model)
        self.setColumnWidth(0, 96)
        self.selectionModel().currentRowChanged.connect(self._on_row)
        return model

    def follow(self, seq: int) -> None:
        """Select and centre the entry's row (chosen on the timeline or by search)."""
        model = self.entries_model
        row = model.row_of.get(seq) if model is not None else None
        if model is None or row is None:
            return
        self._following = True
        try:
            index = model.index(row, 0)
            self.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        finally:
            self._following = False

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._following or not current.isValid() or self.entries_model is None:
            return
        self.chosen.emit(self.entries_model.seq_at(current.row()))
