"""The review screen: one session as one zoomable timeline (pyqtgraph), every entry in a list
beside it, the selected entry with its amendments in a side panel, and note search across
sessions.

Keys: Right/K and Left/J move through the markers, Up/Down through the list; + and − zoom
around the selection, 0 shows the whole session; Ctrl+F searches notes in every session, Enter
jumps to the first hit and F3 to the next; F5 reloads (a running session keeps growing);
Ctrl+W closes. The mouse wheel zooms and dragging pans the time axis."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kapsession.integration.review import NoteHit, Review, build_review, search_notes
from kapsession.session.entry_text import amendment_line, describe, kind_title, note_line
from kapsession.storage.store import Event, Store, parse_iso

from . import geometry, theme
from .format import t_plus
from .plain_text import plain_label, plain_tip

# Series colours: warm and low, told apart by hue and line style rather than brightness.
SERIES = (
    ("systolic", "Systolic", theme.ACCENT, Qt.PenStyle.SolidLine),
    ("diastolic", "Diastolic", "#a88a63", Qt.PenStyle.DashLine),
    ("heart_rate", "Heart rate", theme.OK, Qt.PenStyle.SolidLine),
    ("spo2", "SpO₂", "#8aa3b8", Qt.PenStyle.SolidLine),
    ("resp_rate", "Resp. rate", "#a792b5", Qt.PenStyle.SolidLine),
)
COLOURS = {name: colour for name, _, colour, _ in SERIES}
PLOT_OF = {"systolic": 0, "diastolic": 0, "heart_rate": 1, "spo2": 2, "resp_rate": 3}
# Fields whose out-of-range ground is shaded; the others only get their dashed edge (two shaded
# fields in one plot would tint all of it).
# Below systolic's low edge is where diastolic normally runs, so only its high side is shaded.
SHADED = {
    ("systolic", ">"),
    ("heart_rate", ">"),
    ("heart_rate", "<"),
    ("spo2", "<"),
    ("resp_rate", ">"),
    ("resp_rate", "<"),
}
PLOT_LABELS = ("BP mm Hg", "HR /min", "SpO₂ %", "RR /min")

# Lanes of the marker strip, top to bottom: (name, label).
ROWS = (
    ("notes", "Notes"),
    ("observations", "Observations"),
    ("checks", "Checks"),
    ("alerts", "Alerts"),
    ("faults", "Faults"),
    ("tracks", "Tracks"),
    ("phases", "Phases"),
    ("session", "Session"),
)
ROW_Y = {name: len(ROWS) - 1 - i for i, (name, _) in enumerate(ROWS)}

DOTS_UP_TO = 120
DOWNSAMPLE_FROM = 2000

# Markers per lane and style across the visible time (more would overlap anyway), and how long
# panning or zooming settles before the markers are re-picked.
BINS = 400
REBIN_DELAY_MS = 40

CHECK_STYLE = {
    "due": ("o", theme.ACCENT),
    "late": ("o", theme.ALERT),
    "missed": ("x", theme.ALERT),
    "skipped": ("s", theme.MUTED),
    "snoozed": ("t1", theme.MUTED),
}
MARKER_STYLE = {
    "notes": ("o", theme.TEXT),
    "observations": ("s", "#a792b5"),
    "alerts": ("t", theme.ALERT),
    "faults": ("x", theme.MUTED),
    "tracks": ("t2", "#8aa3b8"),
    "phases": ("d", theme.ACCENT),
    "session": ("star", theme.ACCENT),
}
PHASE_FILL = ("#2c2823", "#342e27")
TRACK_FILL = ("#23303a", "#2b3845")


def _colour(hex_colour: str, alpha: int = 255) -> QColor:
    c = QColor(hex_colour)
    c.setAlpha(alpha)
    return c


class MinutesAxis(pg.AxisItem):  # type: ignore[misc]
    """Minutes since the dose, read as T+mm."""

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:
        labels = []
        for v in values:
            seconds = round(abs(v) * 60)
            sign = "−" if v < 0 and seconds else "+"
            minutes, secs = divmod(seconds, 60)
            # Ticks closer than a minute (zoomed far in) say the seconds too.
            labels.append(f"T{sign}{minutes}" + (f":{secs:02d}" if spacing < 1 else ""))
        return labels


@dataclass(frozen=True)
class _Row:
    event: Event
    text: str


class EntriesModel(QAbstractTableModel):
    """Every entry of the session, in reading order. Texts are made when a row is first shown:
    the view only asks for the rows on screen, so 10,000 entries cost nothing up front."""

    HEADERS = ("Time", "Entry")

    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review
        self._events = review.events
        self._texts: dict[int, str] = {}
        self.row_of = {e.seq: i for i, e in enumerate(self._events)}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._events)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def seq_at(self, row: int) -> int:
        return self._events[row].seq

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        event = self._events[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return t_plus(event.t) if event.t is not None else "after" if event.seq else ""
            return self._text(event)
        if role == Qt.ItemDataRole.ForegroundRole and event.kind in ("alert", "check_missed"):
            return QColor(theme.ALERT)
        if role == Qt.ItemDataRole.ForegroundRole and event.kind in (
            "check_due",
            "check_late",
            "check_snoozed",
            "check_skipped",
            "alert_ack",
            "track_ended",
            "volume",
        ):
            return QColor(theme.MUTED)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def _text(self, event: Event) -> str:
        text = self._texts.get(event.seq)
        if text is None:
            text = entry_line(self.review, event)
            self._texts[event.seq] = text
        return text


def entry_line(review: Review, event: Event) -> str:
    if event.kind == "note":
        detail = review.detail(event.seq)
        text = detail.current_text if detail and detail.current_text is not None else ""
        current = detail.amendments[-1] if detail and detail.amendments else event
        tags = current.data.get("tags") or []
        return note_line(text, tags, "review", amended=bool(detail and detail.amendments))
    if event.kind == "amendment":
        return amendment_line(event.amends, event.reason, str(event.data.get("text", "")))
    return describe(event.kind, event.data, event.reason, style="review")


class ReviewWindow(QWidget):
    """A review of one session, in its own window (the home or live screen stays as it was)."""

    selected = Signal(int)  # seq

    def __init__(
        self,
        store: Store,
        session_id: int,
        select_seq: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.store = store
        self.review: Review | None = None
        self.current: int | None = None  # the selected marker's index
        self.current_seq: int | None = None
        self.hits: list[NoteHit] = []
        self._hit_index = -1
        self._syncing = False
        self._build()
        self._keys()
        self.load(session_id, select_seq)
        geometry.restore(self, "review", 1280, 800)
        # The keys move through the timeline from the start; typing goes to search only after
        # Ctrl+F (or a click in it).
        self.setFocusProxy(self.plot)
        self.plot.setFocus()

    # --- building ------------------------------------------------------------------------
    def _build(self) -> None:
        self.header = plain_label()
        self.header.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.subheader = plain_label()
        self.subheader.setProperty("role", "muted")
        self.subheader.setTextFormat(Qt.TextFormat.PlainText)
        self.subheader.setWordWrap(True)
        self.badge = plain_label("REHEARSAL")
        self.badge.setProperty("role", "badge")
        self.badge.hide()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search notes in all sessions  (Ctrl+F, Enter)")
        self.search.setAccessibleName("Search notes in all sessions")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(360)
        self.search.returnPressed.connect(self._on_search)
        # The key to the chart, outside it so it never hides a reading.
        swatches = "   ".join(
            f"<span style='color:{colour}'>{'┅┅' if style == Qt.PenStyle.DashLine else '━━'}</span>"
            f" {html.escape(label)}"
            for _key, label, colour, style in SERIES
        )
        self.legend = plain_label(
            f"{swatches}   <span style='background:{_colour(theme.ALERT, 60).name(QColor.NameFormat.HexArgb)}'>"
            "&nbsp;&nbsp;&nbsp;</span> outside the protocol's range"
            f"   <span style='background:{theme.BORDER}'>&nbsp;&nbsp;&nbsp;</span> laptop asleep or app closed"
            f"   <span style='color:{theme.ALERT}'>│</span> alert"
            f"   <span style='color:{theme.TEXT}'>◆</span> amended note"
        )
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setProperty("role", "muted")
        self.hint = plain_label(
            "←/→ or J/K: previous/next marker · +/−: zoom · 0: whole session · F1: all keys"
        )
        self.hint.setProperty("role", "muted")

        titles = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.header)
        top.addWidget(self.badge)
        top.addStretch(1)
        top.addWidget(self.search)
        titles.addLayout(top)
        titles.addWidget(self.subheader)
        titles.addWidget(self.legend)

        self.plot = self._new_canvas()

        self.entries = QTableView()
        self.entries.setAccessibleName("All entries")
        self.entries.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.entries.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.entries.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.entries.verticalHeader().setVisible(False)
        self.entries.verticalHeader().setDefaultSectionSize(26)
        self.entries.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.entries.horizontalHeader().setStretchLastSection(True)
        self.entries.setWordWrap(False)
        self.entries.setShowGrid(False)
        self.entries.setAlternatingRowColors(True)
        self.entries.setStyleSheet(  # the selected row: amber text on a barely raised row
            f"QTableView {{ background: {theme.SURFACE}; alternate-background-color: "
            f"{theme.BACKGROUND}; border: 1px solid {theme.BORDER}; border-radius: 8px; }}"
            f"QTableView::item {{ padding: 2px 6px; }}"
            f"QTableView::item:selected {{ background: {theme.RAISED}; color: {theme.ACCENT}; }}"
        )
        self.entries.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)

        self.detail = QTextBrowser()
        self.detail.setAccessibleName("Selected entry")
        self.detail.setOpenLinks(False)
        self.detail.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.itemActivated.connect(self._on_hit_activated)
        self.results_label = plain_label("Search results")
        self.results_label.setProperty("role", "muted")
        self.results.hide()
        self.results_label.hide()

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_label = plain_label("Selected entry")
        side_label.setProperty("role", "muted")
        side_layout.addWidget(side_label)
        side_layout.addWidget(self.detail, 3)
        side_layout.addWidget(self.results_label)
        side_layout.addWidget(self.results, 2)

        self._left = left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.plot)
        left.addWidget(self.entries)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([560, 200])
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(side)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        body.setSizes([900, 340])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(titles)
        layout.addWidget(body, 1)
        layout.addWidget(self.hint)

    @staticmethod
    def _new_canvas() -> pg.GraphicsLayoutWidget:
        canvas = pg.GraphicsLayoutWidget()
        canvas.setBackground(theme.BACKGROUND)
        canvas.setAccessibleName("Session timeline")
        canvas.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        canvas.ci.layout.setSpacing(2)
        return canvas

    def _keys(self) -> None:
        def key(seq: str, slot: Callable[[], object]) -> None:
            shortcut = QShortcut(QKeySequence(seq), self)
            shortcut.activated.connect(slot)

        for seq in ("Right", "K"):
            key(seq, lambda: self.step(1))
        for seq in ("Left", "J"):
            key(seq, lambda: self.step(-1))
        key("+", lambda: self.zoom(0.5))
        key("=", lambda: self.zoom(0.5))
        key("-", lambda: self.zoom(2.0))
        key("0", self.show_all)
        key("Ctrl+F", self._focus_search)
        key("F3", self.next_hit)
        key("F5", self.reload)
        key("Ctrl+W", self.close)
        key("Esc", self._on_escape)
        key("F1", self._show_keys)

    # --- loading -------------------------------------------------------------------------
    def load(self, session_id: int, select_seq: int | None = None) -> None:
        self.review = review = build_review(self.store, session_id)
        self.current = None
        self.current_seq = None
        record = review.record
        self.setWindowTitle(f"Review · {record.client_code} · session #{record.id}")
        self.header.setText(f"{record.client_code} · session #{record.id}")
        self.badge.setVisible(record.rehearsal)
        when = (
            parse_iso(record.dose_at).astimezone().strftime("%Y-%m-%d %H:%M")
            if record.dose_at
            else "not started"
        )
        state = {"running": "running now", "ended": "ended", "planned": "planned"}[record.state]
        length = t_plus(review.end_t) if record.state != "planned" else "–"
        self.subheader.setText(
            f"{when} · {record.protocol} · {record.dose_mg:g} mg {record.route} · "
            f"{state} · {length}"
            + (
                f" · intention: {' '.join(record.intention.split())[:120]}"
                if record.intention
                else ""
            )
        )
        self._draw(review)
        self.model = EntriesModel(review)
        self.entries.setModel(self.model)
        self.entries.setColumnWidth(0, 96)
        self.entries.selectionModel().currentRowChanged.connect(self._on_row)
        if select_seq is not None:
            self.select_seq(select_seq)
        else:
            self.detail.setHtml(_intro_html(review))

    def reload(self) -> None:
        if self.review is not None:
            self.load(self.review.record.id, self.current_seq)

    # --- drawing -------------------------------------------------------------------------
    def _draw(self, review: Review) -> None:
        if self.review is not None and getattr(self, "lanes", None) is not None:
            # Another session (or a reload): a fresh canvas. Clearing pyqtgraph's layout and
            # refilling it left the views with no width.
            had_focus = self.plot.hasFocus()
            old, self.plot = self.plot, self._new_canvas()
            self._left.replaceWidget(0, self.plot)
            old.deleteLater()
            self.setFocusProxy(self.plot)
            if had_focus:
                self.plot.setFocus()
        self._axes: list[pg.AxisItem] = []
        self._cursors: list[pg.InfiniteLine] = []
        minutes = np.asarray(review.vitals.t, dtype=float) / 60.0
        has_rr = any(v is not None for v in review.vitals.resp_rate)
        self.vital_plots: list[pg.ViewBox | None] = [
            self._plot(row, label) if row < 3 or has_rr else None
            for row, label in enumerate(PLOT_LABELS)
        ]
        self.vitals_plot = self.vital_plots[0]
        self.lanes = self._plot(4, "")
        self.lane_axis = self._axes[-1]
        time_axis = MinutesAxis("bottom", linkView=self.lanes)
        time_axis.setPen(pg.mkPen(theme.BORDER))
        time_axis.setTextPen(pg.mkPen(theme.MUTED))
        time_axis.setGrid(30)
        self.plot.ci.addItem(time_axis, row=5, col=1)
        layout = self.plot.ci.layout
        for row, stretch in enumerate((4, 3, 2, 2 if has_rr else 0, 6, 0)):
            layout.setRowStretchFactor(row, stretch)
        plots = [p for p in self.vital_plots if p is not None]
        self._threshold_shading(review, plots)
        self._curves: list[tuple[pg.PlotDataItem, tuple[int, ...]]] = []
        for name, _label, colour, style in SERIES:
            target = self.vital_plots[PLOT_OF[name]]
            if target is None:
                continue
            values = np.array(
                [math.nan if v is None else v for v in review.vitals.values(name)], dtype=float
            )
            pen = pg.mkPen(colour, width=2, style=style)
            # A dot per reading while they can be told apart (a 15-minute protocol); a
            # minute-by-minute monitor over hours reads better as a line.
            dots = len(minutes) <= DOTS_UP_TO
            curve = pg.PlotDataItem(
                minutes,
                values,
                pen=pen,
                connect="finite",
                symbol="o" if dots else None,
                symbolSize=6,
                symbolBrush=colour,
                symbolPen=None,
                antialias=True,
            )
            curve.sigPointsClicked.connect(self._on_vitals_clicked)
            curve.curve.setClickable(True, width=8)
            curve.curve.sigClicked.connect(self._on_line_clicked)
            target.addItem(curve)
            if len(minutes) > DOWNSAMPLE_FROM:
                # Recomputed on every pan and zoom, so only where it pays for itself.
                curve.setClipToView(True)
                curve.setDownsampling(auto=True, method="peak")
            self._curves.append((curve, review.vitals.seq))
        self._y_ranges(review)

        for marker in review.alerts():
            for p in plots:
                line = pg.InfiniteLine(
                    marker.t / 60.0, angle=90, pen=pg.mkPen(_colour(theme.ALERT, 150), width=1)
                )
                p.addItem(line, ignoreBounds=True)
        for band in review.fault_bands:
            for p in [*plots, self.lanes]:
                region = pg.LinearRegionItem(
                    (band.start_t / 60.0, band.end_t / 60.0),
                    movable=False,
                    brush=_colour(theme.MUTED, 45),
                    pen=pg.mkPen(None),
                )
                region.setToolTip(plain_tip(band.label))
                p.addItem(region, ignoreBounds=True)

        self._draw_lanes(review)
        for p in [*plots, self.lanes]:
            cursor = pg.InfiniteLine(
                0, angle=90, pen=pg.mkPen(theme.ACCENT, width=1, style=Qt.PenStyle.DotLine)
            )
            cursor.setZValue(30)
            cursor.hide()
            p.addItem(cursor, ignoreBounds=True)
            self._cursors.append(cursor)
            if p is not self.lanes:
                p.setXLink(self.lanes)
        self.lanes.setLimits(
            xMin=review.start_t / 60.0 - 5,
            xMax=review.end_t / 60.0 + 5,
            minXRange=1.0,
        )
        self.show_all()
        self._rebin_pending = False
        self._rebin()
        self.lanes.sigXRangeChanged.connect(self._on_range_changed)

    def _plot(self, row: int, label: str) -> pg.ViewBox:
        """A view and its left axis: no PlotItem (it builds four axes, a menu and buttons
        each time, a third of the window's start-up on a long session)."""
        view = pg.ViewBox(enableMenu=False)
        view.setMouseEnabled(x=True, y=False)
        view.setBackgroundColor(theme.SURFACE)
        axis = pg.AxisItem("left", linkView=view)
        axis.setPen(pg.mkPen(theme.BORDER))
        axis.setTextPen(pg.mkPen(theme.MUTED))
        axis.setWidth(96)
        if label:
            axis.setLabel(label, color=theme.MUTED)
            axis.setGrid(30)
        self._axes.append(axis)
        self.plot.ci.addItem(axis, row=row, col=0)
        self.plot.ci.addItem(view, row=row, col=1)
        return view

    def _threshold_shading(self, review: Review, plots: Sequence[pg.ViewBox]) -> None:
        """Out-of-range values are on shaded ground; the edge is a dashed line naming it."""
        for band in review.thresholds:
            if band.applies_to != "all" or band.field not in PLOT_OF:
                continue
            target = self.vital_plots[PLOT_OF[band.field]]
            if target is None:
                continue
            name = next(label for key, label, _, _ in SERIES if key == band.field)
            for edge, far, word in ((band.high, 1000.0, ">"), (band.low, -1000.0, "<")):
                if edge is None:
                    continue
                if (band.field, word) in SHADED:
                    self._shade(target, edge, far)
                line = pg.InfiniteLine(
                    edge,
                    angle=0,
                    pen=pg.mkPen(_colour(theme.ALERT, 150), width=1, style=Qt.PenStyle.DashLine),
                    label=f"{name} {word} {edge:g}",
                    labelOpts={
                        "position": 0.99 if word == ">" else 0.8,
                        "color": _colour(theme.ALERT, 220),
                        "anchors": [(1, 0), (1, 0)] if word == ">" else [(1, 1), (1, 1)],
                    },
                )
                line.setToolTip(plain_tip(band.source))
                line.setZValue(-10)
                target.addItem(line, ignoreBounds=True)

    @staticmethod
    def _shade(target: pg.ViewBox, edge: float, far: float) -> None:
        region = pg.LinearRegionItem(
            tuple(sorted((edge, far))),
            orientation="horizontal",
            movable=False,
            brush=_colour(theme.ALERT, 26),
            pen=pg.mkPen(None),
        )
        region.setZValue(-20)
        target.addItem(region, ignoreBounds=True)

    def _y_ranges(self, review: Review) -> None:
        def span(name: str, low: float, high: float) -> tuple[float, float]:
            # Room for the data and for the threshold edges, so their labels can be read.
            edges = [
                e
                for b in review.thresholds
                if b.field == name and b.applies_to == "all"
                for e in (b.low, b.high)
                if e is not None
            ]
            values = [v for v in review.vitals.values(name) if v is not None] + edges
            lo, hi = min([low, *values]), max([high, *values])
            margin = (hi - lo) * 0.15
            return lo - margin, hi + margin

        bp_low, bp_high = span("systolic", 60, 160)
        dia_low, _ = span("diastolic", 60, 100)
        plots = self.vital_plots
        assert plots[0] is not None and plots[1] is not None and plots[2] is not None
        plots[0].setYRange(min(bp_low, dia_low), bp_high, padding=0)
        plots[1].setYRange(*span("heart_rate", 50, 100), padding=0)
        plots[2].setYRange(span("spo2", 88, 100)[0], 101, padding=0)
        if plots[3] is not None:
            plots[3].setYRange(*span("resp_rate", 6, 24), padding=0)

    def _draw_lanes(self, review: Review) -> None:
        lanes = self.lanes
        lanes.setYRange(-0.7, len(ROWS) - 0.3, padding=0)
        self.lane_axis.setTicks([[(ROW_Y[name], label) for name, label in ROWS], []])
        for bands, row, fills in (
            (review.phases, "phases", PHASE_FILL),
            (review.tracks, "tracks", TRACK_FILL),
        ):
            if not bands:
                continue
            bars = pg.BarGraphItem(
                x0=[b.start_t / 60.0 for b in bands],
                x1=[b.end_t / 60.0 for b in bands],
                y0=[ROW_Y[row] - 0.38] * len(bands),
                height=0.76,
                brushes=[pg.mkBrush(fills[i % 2]) for i in range(len(bands))],
                pen=pg.mkPen(theme.BORDER),
            )
            bars.setZValue(-5)
            lanes.addItem(bars)
            if row == "phases" and len(bands) <= 40:
                # Track titles would overlap at a whole-session zoom: they show on hover, in the
                # list and beside the selection instead.
                for b in bands:
                    text = pg.TextItem(b.label.capitalize(), color=theme.TEXT, anchor=(0, 0.5))
                    text.setPos(b.start_t / 60.0 + 0.3, ROW_Y[row])
                    text.setZValue(-4)
                    lanes.addItem(text)

        # One scatter per lane and style: a few items however many markers there are.
        groups: dict[tuple[str, str, str], tuple[list[float], list[int]]] = {}
        self._marker_y: dict[int, float] = {}
        for m in review.markers:
            row = m.lane
            if m.lane == "music":
                row = "phases" if m.kind == "phase" else "tracks"
            symbol, colour = CHECK_STYLE.get(m.status) if m.lane == "checks" else MARKER_STYLE[row]  # type: ignore[misc]
            if m.lane == "notes" and m.amended:
                symbol = "d"
            xs, seqs = groups.setdefault((row, symbol, colour), ([], []))
            xs.append(m.t / 60.0)
            seqs.append(m.seq)
            self._marker_y[m.seq] = ROW_Y[row]
        self._groups: list[tuple[pg.ScatterPlotItem, np.ndarray, np.ndarray]] = []
        for (row, symbol, colour), (xs, seqs) in groups.items():
            scatter = pg.ScatterPlotItem(
                symbol=symbol,
                size=13 if row in ("notes", "alerts") else 11,
                brush=pg.mkBrush(colour),
                pen=pg.mkPen(theme.BACKGROUND, width=1),
                hoverable=True,
                hoverSize=16,
                tip=self._tip,
            )
            scatter.sigClicked.connect(self._on_marker_clicked)
            lanes.addItem(scatter)
            order = np.argsort(np.asarray(xs), kind="stable")
            self._groups.append(
                (scatter, np.asarray(xs)[order], np.asarray(seqs, dtype=object)[order])
            )
        self.ring = pg.ScatterPlotItem(
            size=24, symbol="o", brush=pg.mkBrush(None), pen=pg.mkPen(theme.ACCENT, width=2)
        )
        self.ring.setZValue(40)
        lanes.addItem(self.ring)

    def _rebin(self) -> None:
        """Show at most one marker per lane and style in each sliver of the visible time
        (BINS across the view): 9,000 notes at a whole-session zoom would cost ~90 ms to set
        up and paint as overlapping dots. Zooming in shows every one of them."""
        self._rebin_pending = False
        (lo, hi), _ = self.lanes.viewRange()
        width = max((hi - lo) / BINS, 1e-9)
        for scatter, xs, seqs in self._groups:
            start, stop = np.searchsorted(xs, [lo - width, hi + width])
            shown = xs[start:stop]
            _, first = np.unique(np.floor((shown - lo) / width), return_index=True)
            picked = first + start
            y = self._marker_y[int(seqs[0])] if len(seqs) else 0.0
            scatter.setData(x=xs[picked], y=np.full(len(picked), float(y)), data=seqs[picked])

    def _on_range_changed(self) -> None:
        if not self._rebin_pending:
            self._rebin_pending = True
            QTimer.singleShot(REBIN_DELAY_MS, self._rebin)

    def _tip(self, x: float, y: float, data: object) -> str:
        """Hover text, made on demand (10,000 markers need no labels up front)."""
        review = self.review
        if review is None or not isinstance(data, int):
            return ""
        index = review.marker_index(data)
        if index is None:
            return ""
        marker = review.markers[index]
        return f"{t_plus(marker.t)}  {marker.label}"

    # --- selection -----------------------------------------------------------------------
    def step(self, direction: int) -> None:
        review = self.review
        if review is None or not review.markers:
            return
        if self.current is None:
            index = 0 if direction > 0 else len(review.markers) - 1
            if self.current_seq is not None:  # a vitals or other entry chosen in the list
                event = review.event(self.current_seq)
                t = event.t if event is not None and event.t is not None else 0.0
                after = [i for i, m in enumerate(review.markers) if (m.t > t) == (direction > 0)]
                if after:
                    index = after[0] if direction > 0 else after[-1]
        else:
            index = max(0, min(len(review.markers) - 1, self.current + direction))
        self.select_seq(review.markers[index].seq)

    def select_seq(self, seq: int) -> None:
        """Select an entry: the marker, the list row and the side panel follow."""
        review = self.review
        if review is None or review.event(seq) is None:
            return
        self.current = review.marker_index(seq)
        event = review.event(seq)
        assert event is not None
        if event.kind == "amendment" and event.amends is not None:
            seq = event.amends
            event = review.event(seq) or event
        self.current_seq = seq
        self.detail.setHtml(detail_html(review, seq))
        self._syncing = True
        try:
            row = self.model.row_of.get(seq)
            if row is not None:
                index = self.model.index(row, 0)
                self.entries.selectionModel().setCurrentIndex(
                    index,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                self.entries.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        finally:
            self._syncing = False
        if event.t is not None:
            x = event.t / 60.0
            for cursor in self._cursors:
                cursor.setPos(x)
                cursor.show()
            y = self._marker_y.get(seq)
            if y is not None:
                self.ring.setData(x=[x], y=[y])
            else:
                self.ring.setData(x=[], y=[])
            self._reveal(x)
        self.selected.emit(seq)

    def _reveal(self, x: float) -> None:
        (lo, hi), _ = self.lanes.viewRange()
        if lo <= x <= hi:
            return
        half = (hi - lo) / 2
        self.lanes.setXRange(x - half, x + half, padding=0)

    def zoom(self, factor: float) -> None:
        (lo, hi), _ = self.lanes.viewRange()
        centre = (lo + hi) / 2
        if self.current_seq is not None and self.review is not None:
            event = self.review.event(self.current_seq)
            if event is not None and event.t is not None:
                centre = event.t / 60.0
        half = max(0.5, (hi - lo) * factor / 2)
        self.lanes.setXRange(centre - half, centre + half, padding=0)

    def show_all(self) -> None:
        if self.review is not None:
            self.lanes.setXRange(
                self.review.start_t / 60.0 - 1, self.review.end_t / 60.0 + 1, padding=0
            )

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        self.select_seq(self.model.seq_at(current.row()))

    def _on_marker_clicked(
        self, _item: pg.ScatterPlotItem, points: Sequence[Any], _ev: Any
    ) -> None:
        if len(points):
            self.select_seq(int(points[0].data()))

    def _on_line_clicked(self, _curve: object, event: Any) -> None:
        """A click on a line (no dots on a long session) selects the nearest reading."""
        if self.review is None or not self.review.vitals.t:
            return
        x = event.pos().x() * 60.0
        times = np.asarray(self.review.vitals.t)
        nearest = int(np.abs(times - x).argmin())
        self.select_seq(self.review.vitals.seq[nearest])

    def _on_vitals_clicked(self, item: pg.PlotDataItem, points: Sequence[Any], _ev: Any) -> None:
        if not len(points):
            return
        for curve, seqs in self._curves:
            if curve is item:
                self.select_seq(seqs[points[0].index()])
                return

    # --- search --------------------------------------------------------------------------
    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_search(self) -> None:
        query = self.search.text()
        self.hits = search_notes(self.store, query)
        self.results.clear()
        self.results_label.setVisible(True)
        self.results.setVisible(True)
        if not self.hits:
            self.results_label.setText(f"No note contains “{query.strip()}”.")
            return
        count = len(self.hits)
        self.results_label.setText(
            f"{count} note{'s' if count != 1 else ''} in all sessions · Enter opens · F3 next"
        )
        for hit in self.hits:
            when = t_plus(hit.t) if hit.t is not None else ""
            earlier = "  (in an earlier version)" if not hit.in_current else ""
            item = QListWidgetItem(
                f"{hit.client_code} · #{hit.session_id} · {when}\n{hit.snippet}{earlier}"
            )
            self.results.addItem(item)
        # The first hit in this session when there is one, else the newest session's.
        here = self.review.record.id if self.review is not None else None
        first = next((i for i, h in enumerate(self.hits) if h.session_id == here), 0)
        self._jump(first)

    def next_hit(self) -> None:
        if self.hits:
            self._jump((self._hit_index + 1) % len(self.hits))

    def _on_hit_activated(self, item: QListWidgetItem) -> None:
        self._jump(self.results.row(item))

    def _jump(self, index: int) -> None:
        hit = self.hits[index]
        self._hit_index = index
        self.results.setCurrentRow(index)
        if self.review is None or self.review.record.id != hit.session_id:
            self.load(hit.session_id)
        self.select_seq(hit.seq)
        self.zoom_to_selection()

    def zoom_to_selection(self, minutes: float = 20.0) -> None:
        if self.current_seq is None or self.review is None:
            return
        event = self.review.event(self.current_seq)
        if event is not None and event.t is not None:
            x = event.t / 60.0
            self.lanes.setXRange(x - minutes / 2, x + minutes / 2, padding=0)

    def _on_escape(self) -> None:
        self.plot.setFocus()

    def _show_keys(self) -> None:
        from .dialogs import ShortcutsDialog

        ShortcutsDialog(self).exec()

    # --- the side panel ------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        geometry.remember(self, "review")
        super().closeEvent(event)


def _esc(text: object) -> str:
    return html.escape(str(text)).replace("\n", "<br>")


def _when(event: Event) -> str:
    local = parse_iso(event.at).astimezone().strftime("%H:%M:%S")
    t = t_plus(event.t) if event.t is not None else "after the session"
    who = f" · {_esc(event.author)}" if event.author else ""
    return f"<span style='color:{theme.MUTED}'>{t} · {local}{who}</span>"


def _kind_title(event: Event) -> str:
    return kind_title(event.kind)


def detail_html(review: Review, seq: int) -> str:
    detail = review.detail(seq)
    if detail is None:
        return ""
    event = detail.event
    parts = [f"<h3 style='margin:0'>{_esc(_kind_title(event))}</h3>", _when(event), "<br>"]
    if event.kind == "note":
        # The tags as they are now: an amendment may have changed them.
        current = detail.amendments[-1] if detail.amendments else event
        tags = current.data.get("tags") or []
        if tags:
            parts.append(f"<p style='color:{theme.MUTED}'>Tags: {_esc(', '.join(tags))}</p>")
        parts.append(f"<p style='font-size:13pt'>{_esc(detail.current_text or '')}</p>")
        if detail.amendments:
            parts.append(
                f"<p style='color:{theme.MUTED}'>Original, as first written:</p>"
                f"<p style='color:{theme.MUTED}'>{_esc(event.data.get('text', ''))}</p>"
            )
            for n, amendment in enumerate(detail.amendments, 1):
                parts.append(
                    f"<p><b>Amendment {n}</b> · {_when(amendment)}<br>"
                    f"Reason: {_esc(amendment.reason or '')}<br>"
                    f"{_esc(amendment.data.get('text', ''))}</p>"
                )
    else:
        parts.append(f"<p style='font-size:12pt'>{_esc(entry_line(review, event))}</p>")
        if event.kind == "alert" and event.data.get("source"):
            parts.append(
                f"<p style='color:{theme.MUTED}'>Threshold: {_esc(event.data['source'])}</p>"
            )
        if event.reason:
            parts.append(f"<p>Reason: {_esc(event.reason)}</p>")
        if event.data.get("check"):
            parts.append(f"<p style='color:{theme.MUTED}'>Check: {_esc(event.data['check'])}</p>")
        if event.kind == "alert" and not detail.acknowledgements:
            parts.append(f"<p style='color:{theme.ALERT}'>Not acknowledged.</p>")
        for ack in detail.acknowledgements:
            text = f": {_esc(ack.data['text'])}" if ack.data.get("text") else ""
            parts.append(f"<p><b>Acknowledged</b> · {_when(ack)}{text}</p>")
    return "".join(parts)


def _intro_html(review: Review) -> str:
    counts: dict[str, int] = {}
    for m in review.markers:
        counts[m.lane] = counts.get(m.lane, 0) + 1
    lines = ", ".join(f"{n} {lane}" for lane, n in counts.items() if lane != "session")
    return (
        f"<p>{_esc(len(review.vitals))} vitals, {_esc(lines or 'no markers')}.</p>"
        f"<p style='color:{theme.MUTED}'>Press → or K for the first marker, or click one. "
        "Click a vitals point to see that reading.</p>"
    )


def open_review(
    store: Store, session_id: int, parent: QWidget | None = None, select_seq: int | None = None
) -> ReviewWindow:
    window = ReviewWindow(store, session_id, select_seq, parent)
    window.show()
    window.activateWindow()
    return window
