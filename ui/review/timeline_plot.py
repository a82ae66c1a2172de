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
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from kapsession.integration.review import Review
from kapsession.integration.review_navigation import (
    XRange,
    nearest_reading,
    pan_limits,
    whole_session,
)
from ui import theme
from ui.plain_text import plain_tip
from ui.review.marker_lanes import MarkerLanes
from ui.review.plot_style import (
    DOTS_UP_TO,
    DOWNSAMPLE_FROM,
    PLOT_LABELS,
    PLOT_OF,
    ROWS,
    SERIES,
    SHADED,
    MinutesAxis,
    colour,
)


class Shade(QGraphicsRectItem):
    """A shaded stretch of a view across all of it, no outline: `across` the time axis (a
    threshold's out-of-range ground) or along it (a fault), drawn as pyqtgraph's
    LinearRegionItem draws one (the part of the view shown), without its edge lines, signals
    and handlers: a few items fewer per band when the review opens."""

    def __init__(self, view: pg.ViewBox, lo: float, hi: float, hue: QColor, across: bool) -> None:
        super().__init__()
        self._view, self._lo, self._hi, self._across = view, lo, hi, across
        self.setBrush(QBrush(hue))
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self._follow()
        view.sigRangeChanged.connect(self._follow)

    def _follow(self) -> None:
        shown = self._view.viewRect()
        if self._across:
            self.setRect(QRectF(shown.left(), self._lo, shown.width(), self._hi - self._lo))
        else:
            self.setRect(QRectF(self._lo, shown.top(), self._hi - self._lo, shown.height()))


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
        if not self.cursors:  # made at the first selection: none is shown before it
            for p in [*self.vital_plots, self.lanes]:
                if p is None:
                    continue
                cursor = pg.InfiniteLine(
                    x, angle=90, pen=pg.mkPen(theme.ACCENT, width=1, style=Qt.PenStyle.DotLine)
                )
                cursor.setZValue(30)
                p.addItem(cursor, ignoreBounds=True)
                self.cursors.append(cursor)
        for cursor in self.cursors:
            cursor.setPos(x)
        self.markers.show_ring(seq, x)

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
        # The ranges first, then the items: each item is placed once, not again with every
        # range set, link made and range followed.
        self._y_ranges(review)
        self.lanes.setYRange(-0.7, len(ROWS) - 0.3, padding=0)
        for p in plots:
            p.setXLink(self.lanes)
        limits = pan_limits(review)
        self.lanes.setLimits(xMin=limits.lo, xMax=limits.hi, minXRange=1.0)
        self.show_range(whole_session(review))

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

        for marker in review.alerts():
            for p in plots:
                line = pg.InfiniteLine(
                    marker.t / 60.0, angle=90, pen=pg.mkPen(colour(theme.ALERT, 150), width=1)
                )
                p.addItem(line, ignoreBounds=True)
        for band in review.fault_bands:
            for p in [*plots, self.lanes]:
                region = Shade(
                    p, band.start_t / 60.0, band.end_t / 60.0, colour(theme.MUTED, 45), False
                )
                region.setToolTip(plain_tip(band.label))
                p.addItem(region, ignoreBounds=True)

        self.markers = MarkerLanes(review, self.lanes, self.lane_axis, self.picked.emit)
        self.markers.follow_view()

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
        lo, hi = sorted((edge, far))
        region = Shade(target, lo, hi, colour(theme.ALERT, 26), True)
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

    def _on_line_clicked(self, _curve: object, event: Any) -> None:
        """A click on a line (no dots on a long session) selects the nearest reading."""
        seq = nearest_reading(self.review, event.pos().x())
        if seq is not None:
            self.picked.emit(seq)

    def _on_vitals_clicked(self, item: pg.PlotDataItem, points: Sequence[Any], _ev: Any) -> None:
        if not len(points):
            return
        for curve, seqs in self.curves:
            if curve is item:
                self.picked.emit(seqs[points[0].index()])
                return
