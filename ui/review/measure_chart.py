"""The course view's chart of a client's rating scales (issue 18), in pyqtgraph like the
session timeline: one plot per instrument on one shared axis of days, its severity bands
shaded (deeper with severity, labelled at the right), the totals as a line with dots,
response (a ring) and remission (a star) marked, the remission line dotted, and each session
a dashed line labelled S1, S2... across every plot. It draws what
kapsession.integration.measures.course_document decided; nothing here scores or judges."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from kapsession.integration.measures import chart_span
from ui import theme

LINE = "#8aa3b8"
SESSION = theme.ACCENT
RESPONSE = theme.OK
LABEL_ROOM = 0.22  # of the days shown, added at the right for the bands' labels


def day_x(day: str) -> float:
    """A day as the axis' seconds (noon UTC, so no zone moves it to another date)."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC).timestamp()


def day_ticks(course: Mapping[str, Any]) -> list[tuple[float, str]]:
    """A tick on every day something happened (a measure, a session), and no other: the days a
    clinician will look for, never a time of day. A day closer than a tenth of the span (at least
    two days) to the last labelled one keeps its tick without a label, so neighbouring dates
    ("02 Mar 03 Mar") never run into each other."""
    days = {a["date"] for a in course.get("administrations") or []}
    days |= {s["date"] for s in course.get("sessions") or [] if s.get("date")}
    ordered = sorted(date.fromisoformat(d) for d in days)
    if not ordered:
        return []
    gap = max(2, (ordered[-1] - ordered[0]).days // 10)
    ticks: list[tuple[float, str]] = []
    labelled: date | None = None
    for d in ordered:
        label = labelled is None or (d - labelled).days >= gap
        ticks.append((day_x(d.isoformat()), d.strftime("%d %b") if label else ""))
        labelled = d if label else labelled
    return ticks


def _band_brush(index: int, count: int) -> QColor:
    hue = QColor(theme.ALERT)
    hue.setAlpha(int(14 + 70 * index / max(count - 1, 1)))
    return hue


class MeasureChart(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    def __init__(self, course: Mapping[str, Any]) -> None:
        super().__init__()
        self.course = course
        self.setBackground(theme.BACKGROUND)
        self.setAccessibleName(f"Measures of {course.get('client', '')} over the course")
        self.plots: dict[str, pg.PlotItem] = {}
        self.points: dict[str, list[tuple[float, float]]] = {}
        self.marks: dict[str, dict[str, list[tuple[float, float]]]] = {}
        self.session_lines: list[pg.InfiniteLine] = []
        first, last = chart_span(course)
        x0, x1 = day_x(first.isoformat()), day_x(last.isoformat())
        x1 += (x1 - x0) * LABEL_ROOM  # the bands' labels sit right of the last point
        instruments = list(course.get("instruments") or [])
        ticks = day_ticks(course)
        for row, scale in enumerate(instruments):
            axis = pg.AxisItem(orientation="bottom")
            axis.setTicks([ticks, []])
            plot = self.addPlot(row=row, col=0, axisItems={"bottom": axis})
            self._style(plot, str(scale["name"]))
            plot.setXRange(x0, x1, padding=0)
            plot.setYRange(0, float(scale["max_total"]), padding=0.02)
            plot.setMouseEnabled(x=True, y=False)
            if row:
                plot.setXLink(self.plots[str(instruments[0]["id"])])
            if row < len(instruments) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            self._bands(plot, scale)
            self._sessions(plot, course)
            self._series(plot, scale, course)
            self.plots[str(scale["id"])] = plot

    def _style(self, plot: pg.PlotItem, name: str) -> None:
        plot.setLabel("left", f"{name} total", color=theme.TEXT)
        for side in ("left", "bottom"):
            ax = plot.getAxis(side)
            ax.setPen(pg.mkPen(theme.BORDER))
            ax.setTextPen(pg.mkPen(theme.MUTED))
        plot.getAxis("left").setWidth(56)
        plot.hideButtons()
        plot.setMenuEnabled(False)

    def _bands(self, plot: pg.PlotItem, scale: Mapping[str, Any]) -> None:
        bands = list(scale.get("bands") or [])
        top = float(scale["max_total"])
        for i, band in enumerate(bands):
            lo, hi = float(band["low"]), min(float(band["high"]) + 1, top)
            region = pg.LinearRegionItem(
                (lo, hi),
                orientation="horizontal",
                movable=False,
                brush=_band_brush(i, len(bands)),
                pen=pg.mkPen(None),
            )
            region.setZValue(-20)
            plot.addItem(region, ignoreBounds=True)
            label = pg.TextItem(
                f"{band['low']}–{band['high']} {band['label']}", color=theme.MUTED, anchor=(1, 0.5)
            )
            label.setPos(plot.viewRange()[0][1], (lo + hi) / 2)
            plot.addItem(label, ignoreBounds=True)
            plot.sigXRangeChanged.connect(
                lambda _p, r, item=label, y=(lo + hi) / 2: item.setPos(r[1], y)
            )
        remission = scale.get("remission_below")
        if remission is not None:
            line = pg.InfiniteLine(
                float(remission),
                angle=0,
                pen=pg.mkPen(RESPONSE, width=1, style=Qt.PenStyle.DotLine),
            )
            plot.addItem(line, ignoreBounds=True)

    def _sessions(self, plot: pg.PlotItem, course: Mapping[str, Any]) -> None:
        for session in course.get("sessions") or []:
            if not session.get("date"):
                continue
            line = pg.InfiniteLine(
                day_x(session["date"]),
                angle=90,
                pen=pg.mkPen(SESSION, width=1, style=Qt.PenStyle.DashLine),
                label=f"S{session['number']}",
                labelOpts={"position": 0.95, "color": SESSION, "anchors": [(0, 0), (0, 0)]},
            )
            plot.addItem(line, ignoreBounds=True)
            self.session_lines.append(line)

    def _series(
        self, plot: pg.PlotItem, scale: Mapping[str, Any], course: Mapping[str, Any]
    ) -> None:
        ident = str(scale["id"])
        done = [
            a
            for a in course.get("administrations") or []
            if a["instrument"] == ident and a.get("total") is not None
        ]
        xs = [day_x(a["date"]) for a in done]
        ys = [float(a["total"]) for a in done]
        self.points[ident] = list(zip(xs, ys, strict=True))
        plot.plot(
            xs,
            ys,
            pen=pg.mkPen(LINE, width=2),
            symbol="o",
            symbolSize=8,
            symbolBrush=LINE,
            symbolPen=pg.mkPen(theme.BACKGROUND),
        )
        marks: dict[str, list[tuple[float, float]]] = {"response": [], "remission": []}
        for a, x, y in zip(done, xs, ys, strict=True):
            for flag in ("response", "remission"):
                if flag in a["flags"]:
                    marks[flag].append((x, y))
        self.marks[ident] = marks
        if marks["response"]:
            rx, ry = zip(*marks["response"], strict=True)
            plot.plot(
                list(rx),
                list(ry),
                pen=None,
                symbol="o",
                symbolSize=18,
                symbolBrush=None,
                symbolPen=pg.mkPen(RESPONSE, width=2),
            )
        if marks["remission"]:
            top = float(scale["max_total"])
            mx, my = zip(*marks["remission"], strict=True)
            plot.plot(
                list(mx),
                [y + top * 0.09 for y in my],
                pen=None,
                symbol="star",
                symbolSize=14,
                symbolBrush=RESPONSE,
                symbolPen=pg.mkPen(None),
            )
