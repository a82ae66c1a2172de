"""Note search across every session: the field in the review's header and the list of hits in
its side panel. Which hit opens first and what the heading says are the core's decisions."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from kapsession.integration.review import NoteHit
from kapsession.integration.review_navigation import results_heading
from ui.format import t_plus
from ui.plain_text import plain_label


class SearchField(QLineEdit):
    def __init__(self) -> None:
        super().__init__()
        self.setPlaceholderText("Search notes in all sessions  (Ctrl+F, Enter)")
        self.setAccessibleName("Search notes in all sessions")
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(360)

    def focus_for_typing(self) -> None:
        self.setFocus()
        self.selectAll()


def hit_text(hit: NoteHit) -> str:
    when = t_plus(hit.t) if hit.t is not None else ""
    earlier = "  (in an earlier version)" if not hit.in_current else ""
    return f"{hit.client_code} · #{hit.session_id} · {when}\n{hit.snippet}{earlier}"


class SearchResults(QWidget):
    """Hidden until the first search; then a heading and one row per hit."""

    hit_chosen = Signal(int)  # the index of the hit activated

    def __init__(self) -> None:
        super().__init__()
        self.heading = plain_label("Search results")
        self.heading.setProperty("role", "muted")
        self.list = QListWidget()
        self.list.setAccessibleName("Search results")
        self.list.itemActivated.connect(self._on_item_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.list, 1)
        self.hide()

    def show_hits(self, query: str, hits: Sequence[NoteHit]) -> None:
        self.list.clear()
        self.show()
        self.heading.setText(results_heading(query, len(hits)))
        for hit in hits:
            self.list.addItem(QListWidgetItem(hit_text(hit)))

    def mark(self, index: int) -> None:
        self.list.setCurrentRow(index)

    def _on_item_activated(self, item: QListWidgetItem) -> None:
        self.hit_chosen.emit(self.list.row(item))
