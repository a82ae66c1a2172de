"""A client's course of sessions at a glance: the chart of the client's rating scales over the
series (issue 18: ui/review/measure_chart.py), and one row per session, in order, with the dose,
the peak vitals, the deepest sedation, the strongest dissociation, alerts and the worksheet's
next step, the client's music ratings (liking/resonance/openness, issue 17) and, under the
table, each arc's mean ratings across the sessions. Enter or a double click opens that
session's review."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QColor, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapsession.integration import measures
from kapsession.integration.review import ArcMusic, CourseRow, course, music_by_arc
from kapsession.storage.store import Store
from ui import theme
from ui.plain_text import plain_label
from ui.settings import Settings

GEOMETRY_KEY = "course"

COLUMNS = (
    "#",
    "Date",
    "Dose",
    "Protocol",
    "Peak BP",
    "Peak HR",
    "Lowest SpO₂",
    "Deepest MOAA/S",
    "Max dissociation",
    "Alerts",
    "Notes",
    "Music L/R/O",
    "Next step (worksheet)",
    "Signed",
)


SHOWN_ROWS = 6  # session rows the course shows below a chart before it scrolls


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


def course_cells(row: CourseRow) -> tuple[str, ...]:
    bp = "–" if row.peak_systolic is None else f"{row.peak_systolic:g}/{_num(row.peak_diastolic)}"
    state = "" if row.state == "ended" else f" ({row.state})"
    return (
        f"{row.number}{' R' if row.rehearsal else ''}",
        row.date + state,
        f"{row.dose_mg:g} mg {row.route}",
        row.protocol,
        bp,
        _num(row.peak_heart_rate),
        _num(row.lowest_spo2, " %"),
        _num(row.deepest_moaas),
        _num(row.max_dissociation),
        str(row.alerts),
        str(row.notes),
        music_text(row),
        row.next_step or "–",
        signed_text(row),
    )


def music_text(row: CourseRow) -> str:
    """'7/8/6' (liking/resonance/openness), or – when the client was not asked."""
    m = row.music
    return "–" if m is None else f"{m.liking}/{m.resonance}/{m.openness}"


def arc_means_text(arcs: list[ArcMusic]) -> str:
    """One line per arc: 'Gentle descent (sessions 1, 3): liking 7.5 · resonance 8 · openness 6'."""
    lines = []
    for a in arcs:
        which = ", ".join(str(n) for n in a.sessions)
        label = "session" if len(a.sessions) == 1 else "sessions"
        means = " · ".join(f"{k} {v:g}" for k, v in a.means.items())
        lines.append(f"{a.arc} ({label} {which}): {means}")
    return "\n".join(lines)


def signed_text(row: CourseRow) -> str:
    """Who signed (a co-signer after the first), or whether an ended session waits for it."""
    if row.signed_by:
        return ", ".join(dict.fromkeys(row.signed_by))
    return "not signed" if row.state == "ended" else "–"


class CourseWindow(QWidget):
    def __init__(
        self,
        store: Store,
        client_code: str,
        open_review: Callable[[int], object],
        parent: QWidget | None = None,
        *,
        settings: Settings,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Course · {client_code}")
        self.store, self.client_code, self._open_review = store, client_code, open_review
        self.settings = settings
        title = plain_label(f"{client_code} · course of sessions")
        title.setStyleSheet("font-size: 15pt; font-weight: bold;")
        title.setTextFormat(Qt.TextFormat.PlainText)
        hint = plain_label(
            "Enter or double click: review the session · F5: reload · Ctrl+W: close. "
            "MOAA/S: lower is deeper sedation (5 responds readily … 0 no response to pain); "
            "dissociation is the quick clinician rating (0 none … 4 extreme); music L/R/O: the "
            "client's liking, resonance and openness (0–10)."
        )
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName(f"Sessions of {client_code}")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # The selected row: amber text on a barely raised row (the shared table style puts an
        # amber bar before every cell, which reads as a fence across the row).
        self.table.setStyleSheet(
            f"QTableWidget::item:selected {{ background: {theme.RAISED}; color: {theme.ACCENT}; "
            "border: none; }"
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        # Enter, and a double click (which Qt reports as an activation too).
        self.table.activated.connect(lambda index: self._open(index.row()))
        self.empty = plain_label()
        self.empty.setProperty("role", "muted")
        # The client's view of the music, per arc across sessions (issue 17): the means.
        self.music_title = plain_label("Music, mean ratings per arc (0–10; L/R/O in the table)")
        self.music_title.setStyleSheet("font-weight: bold;")
        self.music_means = plain_label()
        self.music_means.setAccessibleName("Mean music ratings per arc")
        self.music_means.setWordWrap(True)
        self.music_means.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.legend = plain_label(
            "Rating scales: totals by day; shaded: severity bands; ring: response (50 % or more "
            "below the first score); star: remission (dotted line); dashed: sessions S1, S2 …"
        )
        self.legend.setProperty("role", "muted")
        self.legend.setWordWrap(True)
        self.chart: QWidget | None = None
        self._shared = False  # the splitter's first sizes, given at the first show
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(title)
        layout.addWidget(self.legend)
        layout.addWidget(self.split, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.music_title)
        layout.addWidget(self.music_means)
        layout.addWidget(hint)
        for keys, slot in (("F5", self.refresh), ("Ctrl+W", self.close)):
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
        self.refresh()
        settings.restore_geometry(self, GEOMETRY_KEY, 1200, 420)
        if self.chart is not None and self.height() < 720:  # room for the scales' chart
            self.resize(self.width(), 720)

    def refresh(self) -> None:
        self._refresh_chart()
        self.rows = course(self.store, self.client_code)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, text in enumerate(course_cells(row)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.session_id)
                if c == 9 and row.alerts:
                    item.setForeground(QColor(theme.ALERT))
                if row.state == "planned":
                    item.setForeground(QColor(theme.MUTED))
                self.table.setItem(r, c, item)
        self.empty.setText("" if self.rows else "No sessions for this client yet.")
        arcs = music_by_arc(self.rows)
        self.music_means.setText(arc_means_text(arcs))
        self.music_title.setVisible(bool(arcs))
        self.music_means.setVisible(bool(arcs))
        # The chart never squeezes the sessions out of sight: the header and up to four rows
        # stay whole under it.
        shown = min(len(self.rows), 4)
        rows_height = sum(self.table.rowHeight(r) for r in range(shown)) or 30
        self.table.setMinimumHeight(
            self.table.horizontalHeader().sizeHint().height()
            + rows_height
            + self.table.horizontalScrollBar().sizeHint().height()
            + 2 * self.table.frameWidth()
        )
        if self.rows:
            self.table.selectRow(len(self.rows) - 1)
            self.table.setFocus()

    def _refresh_chart(self) -> None:
        """The rating-scale chart above the sessions, when the client has answered any."""
        doc = measures.course_document(
            self.store, measures.data_folder(self.store), self.client_code
        )
        if self.chart is not None:
            self.chart.setParent(None)
            self.chart.deleteLater()
            self.chart = None
        self.legend.setVisible(doc is not None)
        if doc is None:
            return
        from ui.review.measure_chart import MeasureChart  # pyqtgraph, only when there is one

        self.chart = MeasureChart(doc)
        self.chart.setMinimumHeight(150 * len(doc["instruments"]))
        self.split.insertWidget(0, self.chart)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)

    def sessions_height(self) -> int:
        """The sessions table's height for its header, its rows (up to SHOWN_ROWS) and the
        horizontal scroll bar: what it keeps below the chart."""
        t = self.table
        rows = min(max(t.rowCount(), 1), SHOWN_ROWS)
        return (
            t.horizontalHeader().sizeHint().height()
            + rows * t.verticalHeader().defaultSectionSize()
            + t.horizontalScrollBar().sizeHint().height()
            + 2 * t.frameWidth()
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.chart is not None and not self._shared:
            # The chart takes what the sessions' rows leave (stretch factors alone left the
            # table three rows high with the first cut off: docs/screenshots/course-measures).
            self._shared = True
            total = sum(self.split.sizes()) or self.split.height()
            table = min(self.sessions_height(), total - self.chart.minimumHeight())
            self.split.setSizes([total - table, table])

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.rows) and self.rows[row].state != "planned":
            self._open_review(self.rows[row].session_id)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.remember_geometry(self, GEOMETRY_KEY)
        super().closeEvent(event)
