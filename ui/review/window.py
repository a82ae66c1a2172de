"""The review screen: one session as one zoomable timeline (pyqtgraph), every entry in a list
beside it, the selected entry with its amendments in a side panel, and note search across
sessions. This window composes those widgets and binds the keys; where a key lands is decided
in kapsession.integration.review_navigation.

Keys: Right/K and Left/J move through the markers, Up/Down through the list; + and − zoom
around the selection, 0 shows the whole session; Ctrl+F searches notes in every session, Enter
jumps to the first hit and F3 to the next; F5 reloads (a running session keeps growing);
Ctrl+W closes. The mouse wheel zooms and dragging pans the time axis."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from kapsession.integration import review_navigation as nav
from kapsession.integration.review import NoteHit, Review, build_review, search_notes
from kapsession.storage.store import Store
from ui.plain_text import plain_label
from ui.review.detail_panel import DetailPanel
from ui.review.entry_table import EntriesModel, EntryTable
from ui.review.header import ReviewHeader
from ui.review.search import SearchField, SearchResults
from ui.review.timeline_plot import TimelinePlot
from ui.settings import Settings

GEOMETRY_KEY = "review"


class ReviewWindow(QWidget):
    """A review of one session, in its own window (the home or live screen stays as it was)."""

    selected = Signal(int)  # seq

    def __init__(
        self,
        store: Store,
        session_id: int,
        select_seq: int | None = None,
        parent: QWidget | None = None,
        *,
        settings: Settings,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.store = store
        self.settings = settings
        self.review: Review | None = None
        self._plot: TimelinePlot | None = None
        self.current: int | None = None  # the selected marker's index
        self.current_seq: int | None = None
        self.hits: list[NoteHit] = []
        self._hit_index = -1
        self._build()
        self._keys()
        self.load(session_id, select_seq)
        settings.restore_geometry(self, GEOMETRY_KEY, 1280, 800)
        # The keys move through the timeline from the start; typing goes to search only after
        # Ctrl+F (or a click in it).
        self.plot.setFocus()

    @property
    def plot(self) -> TimelinePlot:
        """The timeline (a new one for every session shown)."""
        assert self._plot is not None
        return self._plot

    @property
    def model(self) -> EntriesModel:
        assert self.entries.entries_model is not None
        return self.entries.entries_model

    # --- building ------------------------------------------------------------------------
    def _build(self) -> None:
        self.search = SearchField()
        self.search.returnPressed.connect(self._on_search)
        self.header = ReviewHeader(self.search)
        self.hint = plain_label(
            "←/→ or J/K: previous/next marker · +/−: zoom · 0: whole session · F1: all keys"
        )
        self.hint.setProperty("role", "muted")
        self.entries = EntryTable()
        self.entries.chosen.connect(self.select_seq)
        self.detail = DetailPanel()
        self.results = SearchResults()
        self.results.hit_chosen.connect(self._jump)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_label = plain_label("Selected entry")
        side_label.setProperty("role", "muted")
        side_layout.addWidget(side_label)
        side_layout.addWidget(self.detail, 3)
        side_layout.addWidget(self.results, 2)

        # The timeline goes in at index 0 when a session is loaded.
        self._left = left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.entries)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(side)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        body.setSizes([900, 340])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.header)
        layout.addWidget(body, 1)
        layout.addWidget(self.hint)

    def _keys(self) -> None:
        def key(seq: str, slot: Callable[[], object]) -> None:
            QShortcut(QKeySequence(seq), self).activated.connect(slot)

        for seq in ("Right", "K"):
            key(seq, lambda: self.step(1))
        for seq in ("Left", "J"):
            key(seq, lambda: self.step(-1))
        key("+", lambda: self.zoom(0.5))
        key("=", lambda: self.zoom(0.5))
        key("-", lambda: self.zoom(2.0))
        key("0", self.show_all)
        key("Ctrl+F", self.search.focus_for_typing)
        key("F3", self.next_hit)
        key("F5", self.reload)
        key("Ctrl+W", self.close)
        key("Esc", self._on_escape)
        key("F1", self._show_keys)
        key("Ctrl+Shift+S", self.sign)

    # --- loading -------------------------------------------------------------------------
    def load(self, session_id: int, select_seq: int | None = None) -> None:
        self.review = review = build_review(self.store, session_id)
        self.current = None
        self.current_seq = None
        record = review.record
        self.setWindowTitle(f"Review · {record.client_code} · session #{record.id}")
        self.header.show_review(review)
        self._show_timeline(review)
        self.entries.show_review(review)
        if select_seq is not None:
            self.select_seq(select_seq)
        else:
            self.detail.show_intro(review)

    def _show_timeline(self, review: Review) -> None:
        """A fresh timeline for every session and reload, where the old one was."""
        old, self._plot = self._plot, TimelinePlot(review)
        self._plot.picked.connect(self.select_seq)
        self.setFocusProxy(self._plot)
        if old is None:
            self._left.insertWidget(0, self._plot)
            self._left.setStretchFactor(0, 3)
            self._left.setStretchFactor(1, 1)
            self._left.setSizes([560, 200])
            return
        had_focus = old.hasFocus()
        self._left.replaceWidget(0, self._plot)
        old.deleteLater()
        if had_focus:
            self._plot.setFocus()

    def sign(self) -> None:
        """Ctrl+Shift+S: sign or co-sign the session shown, once it has ended."""
        if self.review is None or self.review.record.state != "ended":
            return
        from ui.clinicians.dialogs import SignDialog

        record = self.review.record
        if SignDialog(self.store, record, record.dose_tz or "UTC", self).exec():
            self.reload()

    def reload(self) -> None:
        if self.review is not None:
            self.load(self.review.record.id, self.current_seq)

    # --- selection -----------------------------------------------------------------------
    def step(self, direction: int) -> None:
        if self.review is None:
            return
        index = nav.step_marker(self.review, self.current, self.current_seq, direction)
        if index is not None:
            self.select_seq(self.review.markers[index].seq)

    def select_seq(self, seq: int) -> None:
        """Select an entry: the marker, the list row and the side panel follow."""
        review = self.review
        event = review.event(seq) if review is not None else None
        if review is None or event is None:
            return
        self.current = review.marker_index(seq)
        if event.kind == "amendment" and event.amends is not None:
            seq = event.amends
        self.current_seq = seq
        self.detail.show_entry(review, seq)
        self.entries.follow(seq)
        x = nav.minutes_of(review, seq)
        if x is not None:
            self.plot.show_selection(seq, x)
            moved = nav.revealed(self.plot.view_range(), x)
            if moved is not None:
                self.plot.show_range(moved)
        self.selected.emit(seq)

    def zoom(self, factor: float) -> None:
        centre = nav.minutes_of(self.review, self.current_seq) if self.review else None
        self.plot.show_range(nav.zoomed(self.plot.view_range(), factor, centre))

    def show_all(self) -> None:
        if self.review is not None:
            self.plot.show_range(nav.whole_session(self.review))

    def zoom_to_selection(self, minutes: float = nav.HIT_SPAN) -> None:
        x = nav.minutes_of(self.review, self.current_seq) if self.review else None
        if x is not None:
            self.plot.show_range(nav.around(x, minutes))

    # --- search --------------------------------------------------------------------------
    def _on_search(self) -> None:
        query = self.search.text()
        self.hits = search_notes(self.store, query)
        self.results.show_hits(query, self.hits)
        if self.hits:
            here = self.review.record.id if self.review is not None else None
            self._jump(nav.first_hit(self.hits, here))

    def next_hit(self) -> None:
        if self.hits:
            self._jump((self._hit_index + 1) % len(self.hits))

    def _jump(self, index: int) -> None:
        hit = self.hits[index]
        self._hit_index = index
        self.results.mark(index)
        if self.review is None or self.review.record.id != hit.session_id:
            self.load(hit.session_id)
        self.select_seq(hit.seq)
        self.zoom_to_selection()

    def _on_escape(self) -> None:
        self.plot.setFocus()

    def _show_keys(self) -> None:
        from ui.dialogs import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.remember_geometry(self, GEOMETRY_KEY)
        super().closeEvent(event)


def open_review(
    store: Store,
    session_id: int,
    parent: QWidget | None = None,
    select_seq: int | None = None,
    *,
    settings: Settings,
) -> ReviewWindow:
    window = ReviewWindow(store, session_id, select_seq, parent, settings=settings)
    window.show()
    window.activateWindow()
    return window
