"""One session drawn as one zoomable timeline (pyqtgraph): the vitals plots with the
protocol's thresholds, the alerts and the faults across them, and a strip of lanes with a
marker per entry. Built for one review; another session or a reload gets a fresh one (clearing
pyqtgraph's layout and refilling it left the views with no width). It draws and reports clicks;
where to look and what to select is decided in kapsession.integration.review_navigation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal

from kapsession.integration.review import Review
from kapsession.integration.review_navigation import XRange, pan_limits, whole_session
from ui import theme
from ui.format import t_plus
from ui.plain_text import plain_tip
from ui.review.plot_style import (
    BINS,
    CHECK_STYLE,
    DOTS_UP_TO,
    DOWNSAMPLE_FROM,
    MARKER_STYLE,
    PHASE_FILL,
    PLOT_LABELS,
    PLOT_OF,
    REBIN_DELAY_MS,
    ROW_Y,
    ROWS,
    SERIES,
    SHADED,
    TRACK_FILL,
    MinutesAxis,
    colour,
)


class TimelinePlot(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    picked = Signal(int)  # the seq of the marker or reading clicked

    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review
        self.setBackground(theme.BACKGROUND)
        self.setAccessibleName("Session timeline")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.ci.layout.setSpacing(2)
        self._axes: list[pg.AxisItem] = []
        self.cursors: list[pg.InfiniteLine] = []
        self._draw(review)

    # --- what the window asks of it --------------------------------------------------------
    def view_range(self) -> XRange:
        (lo, hi), _ = self.lanes.viewRange()
        return XRange(lo, hi)

    def show_range(self, view: XRange) -> None:
        self.lanes.setXRange(view.lo, view.hi, padding=0)

    def show_selection(self, seq: int, x: float) -> None:
        """The cursor across every plot at `x`, and a ring round the entry's marker."""
        for cursor in self.cursors:
            cursor.setPos(x)
            cursor.show()
        y = self.marker_y.get(seq)
        if y is not None:
            self.ring.setData(x=[x], y=[y])
        else:
            self.ring.setData(x=[], y=[])

    # --- drawing -------------------------------------------------------------------------
    def _draw(self, review: Review) -> None:
        minutes = np.asarray(review.vitals.t, dtype=float) / 60.0
        has_rr = any(v is not None for v in review.vitals.resp_rate)
        self.vital_plots: list[pg.ViewBox | None] = [
            self._plot(row, label) if row < 3 or has_rr else None
            for row, label in enumerate(PLOT_LABELS)
        ]
        self.lanes = self._plot(4, "")
        self.lane_axis = self._axes[-1]
        time_axis = MinutesAxis("bottom", linkView=self.lanes)
        time_axis.setPen(pg.mkPen(theme.BORDER))
        time_axis.setTextPen(pg.mkPen(theme.MUTED))
        time_axis.setGrid(30)
        self.ci.addItem(time_axis, row=5, col=1)
        layout = self.ci.layout
        for row, stretch in enumerate((4, 3, 2, 2 if has_rr else 0, 6, 0)):
            layout.setRowStretchFactor(row, stretch)
        plots = [p for p in self.vital_plots if p is not None]
        self._threshold_shading(review)
        self.curves: list[tuple[pg.PlotDataItem, tuple[int, ...]]] = []
        for name, _label, hue, style in SERIES:
            target = self.vital_plots[PLOT_OF[name]]
            if target is None:
                continue
            values = np.array(
                [math.nan if v is None else v for v in review.vitals.values(name)], dtype=float
            )
            pen = pg.mkPen(hue, width=2, style=style)
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
                symbolBrush=hue,
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
            self.curves.append((curve, review.vitals.seq))
        self._y_ranges(review)

        for marker in review.alerts():
            for p in plots:
                line = pg.InfiniteLine(
                    marker.t / 60.0, angle=90, pen=pg.mkPen(colour(theme.ALERT, 150), width=1)
                )
                p.addItem(line, ignoreBounds=True)
        for band in review.fault_bands:
            for p in [*plots, self.lanes]:
                region = pg.LinearRegionItem(
                    (band.start_t / 60.0, band.end_t / 60.0),
                    movable=False,
                    brush=colour(theme.MUTED, 45),
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
            self.cursors.append(cursor)
            if p is not self.lanes:
                p.setXLink(self.lanes)
        limits = pan_limits(review)
        self.lanes.setLimits(xMin=limits.lo, xMax=limits.hi, minXRange=1.0)
        self.show_range(whole_session(review))
        self._rebin_pending = False
        self.rebin()
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
        self.ci.addItem(axis, row=row, col=0)
        self.ci.addItem(view, row=row, col=1)
        return view

    def _threshold_shading(self, review: Review) -> None:
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
                    pen=pg.mkPen(colour(theme.ALERT, 150), width=1, style=Qt.PenStyle.DashLine),
                    label=f"{name} {word} {edge:g}",
                    labelOpts={
                        "position": 0.99 if word == ">" else 0.8,
                        "color": colour(theme.ALERT, 220),
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
            brush=colour(theme.ALERT, 26),
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
        self.marker_y: dict[int, float] = {}
        for m in review.markers:
            row = m.lane
            if m.lane == "music":
                row = "phases" if m.kind == "phase" else "tracks"
            symbol, hue = CHECK_STYLE.get(m.status) if m.lane == "checks" else MARKER_STYLE[row]  # type: ignore[misc]
            if m.lane == "notes" and m.amended:
                symbol = "d"
            xs, seqs = groups.setdefault((row, symbol, hue), ([], []))
            xs.append(m.t / 60.0)
            seqs.append(m.seq)
            self.marker_y[m.seq] = ROW_Y[row]
        self.groups: list[tuple[pg.ScatterPlotItem, np.ndarray, np.ndarray]] = []
        for (row, symbol, hue), (xs, seqs) in groups.items():
            scatter = pg.ScatterPlotItem(
                symbol=symbol,
                size=13 if row in ("notes", "alerts") else 11,
                brush=pg.mkBrush(hue),
                pen=pg.mkPen(theme.BACKGROUND, width=1),
                hoverable=True,
                hoverSize=16,
                tip=self.tip,
            )
            scatter.sigClicked.connect(self._on_marker_clicked)
            lanes.addItem(scatter)
            order = np.argsort(np.asarray(xs), kind="stable")
            self.groups.append(
                (scatter, np.asarray(xs)[order], np.asarray(seqs, dtype=object)[order])
            )
        self.ring = pg.ScatterPlotItem(
            size=24, symbol="o", brush=pg.mkBrush(None), pen=pg.mkPen(theme.ACCENT, width=2)
        )
        self.ring.setZValue(40)
        lanes.addItem(self.ring)

    def rebin(self) -> None:
        """Show at most one marker per lane and style in each sliver of the visible time
        (BINS across the view): 9,000 notes at a whole-session zoom would cost ~90 ms to set
        up and paint as overlapping dots. Zooming in shows every one of them."""
        self._rebin_pending = False
        (lo, hi), _ = self.lanes.viewRange()
        width = max((hi - lo) / BINS, 1e-9)
        for scatter, xs, seqs in self.groups:
            start, stop = np.searchsorted(xs, [lo - width, hi + width])
            shown = xs[start:stop]
            _, first = np.unique(np.floor((shown - lo) / width), return_index=True)
            picked = first + start
            y = self.marker_y[int(seqs[0])] if len(seqs) else 0.0
            scatter.setData(x=xs[picked], y=np.full(len(picked), float(y)), data=seqs[picked])

    def _on_range_changed(self) -> None:
        if not self._rebin_pending:
            self._rebin_pending = True
            QTimer.singleShot(REBIN_DELAY_MS, self.rebin)

    def tip(self, x: float, y: float, data: object) -> str:
        """Hover text, made on demand (10,000 markers need no labels up front)."""
        if not isinstance(data, int):
            return ""
        index = self.review.marker_index(data)
        if index is None:
            return ""
        marker = self.review.markers[index]
        return f"{t_plus(marker.t)}  {marker.label}"

    # --- clicks ----------------------------------------------------------------------------
    def _on_marker_clicked(
        self, _item: pg.ScatterPlotItem, points: Sequence[Any], _ev: Any
    ) -> None:
        if len(points):
            self.picked.emit(int(points[0].data()))

    def _on_line_clicked(self, _curve: object, event: Any) -> None:
        """A click on a line (no dots on a long session) selects the nearest reading."""
        if not self.review.vitals.t:
            return
        x = event.pos().x() * 60.0
        times = np.asarray(self.review.vitals.t)
        nearest = int(np.abs(times - x).argmin())
        self.picked.emit(self.review.vitals.seq[nearest])

    def _on_vitals_clicked(self, item: pg.PlotDataItem, points: Sequence[Any], _ev: Any) -> None:
        if not len(points):
            return
        for curve, seqs in self.curves:
            if curve is item:
                self.picked.emit(seqs[points[0].index()])
                return
