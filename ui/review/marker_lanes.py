"""The strip of lanes under the vitals plots: a marker per entry on its lane (notes,
observations, checks, alerts, faults, tracks, phases, the session's start and end), the music
phases and tracks as bands, and a ring round the selected marker. However many markers there
are, each lane and style is one scatter, thinned to one marker per sliver of the visible time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer

from kapsession.integration.review import Review
from ui import theme
from ui.format import t_plus
from ui.review.plot_style import (
    BINS,
    CHECK_STYLE,
    MARKER_STYLE,
    PHASE_FILL,
    REBIN_DELAY_MS,
    ROW_Y,
    ROWS,
    TRACK_FILL,
)


class MarkerLanes:
    def __init__(
        self, review: Review, view: pg.ViewBox, axis: pg.AxisItem, on_pick: Callable[[int], None]
    ) -> None:
        self.review, self.view, self._on_pick = review, view, on_pick
        self._rebin_pending = False
        self.ring: pg.ScatterPlotItem | None = None  # round the selected marker
        self._draw(review, axis)

    def follow_view(self) -> None:
        """From now on, re-pick the markers shown after each pan or zoom."""
        self.rebin()
        self.view.sigXRangeChanged.connect(self._on_range_changed)

    def show_ring(self, seq: int, x: float) -> None:
        """The ring round the entry's marker (none for an entry without one)."""
        y = self.marker_y.get(seq)
        if self.ring is None:  # made at the first selection
            self.ring = pg.ScatterPlotItem(
                size=24, symbol="o", brush=pg.mkBrush(None), pen=pg.mkPen(theme.ACCENT, width=2)
            )
            self.ring.setZValue(40)
            self.view.addItem(self.ring)
        if y is not None:
            self.ring.setData(x=[x], y=[y])
        else:
            self.ring.setData(x=[], y=[])

    def _draw(self, review: Review, axis: pg.AxisItem) -> None:
        lanes = self.view
        axis.setTicks([[(ROW_Y[name], label) for name, label in ROWS], []])
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

        # One scatter per lane and style: a few items however many markers there are, each
        # made from the review's columns (no object per marker).
        markers = review.markers
        times = np.asarray(markers.t, dtype=float) / 60.0
        seqs = np.asarray(markers.seqs, dtype=object)
        styles: dict[tuple[str, str, str], list[Sequence[int]]] = {}
        for lane, kind, status, amended in markers.classes:
            row = lane
            if lane == "music":
                row = "phases" if kind == "phase" else "tracks"
            symbol, hue = CHECK_STYLE[status] if lane == "checks" else MARKER_STYLE[row]
            if lane == "notes" and amended:
                symbol = "d"
            styles.setdefault((row, symbol, hue), []).append(
                markers.classes[(lane, kind, status, amended)]
            )
        self.marker_y: dict[int, float] = {}
        self.groups: list[tuple[pg.ScatterPlotItem, np.ndarray, np.ndarray]] = []
        for (row, symbol, hue), parts in styles.items():
            # Markers are in time order: so are the indices of one class, and of several sorted.
            at = np.sort(np.concatenate(parts)) if len(parts) > 1 else np.asarray(parts[0])
            group_seqs = seqs[at]
            self.marker_y.update(dict.fromkeys(group_seqs.tolist(), float(ROW_Y[row])))
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
            self.groups.append((scatter, times[at], group_seqs))

    def rebin(self) -> None:
        """Show at most one marker per lane and style in each sliver of the visible time
        (BINS across the view): 9,000 notes at a whole-session zoom would cost ~90 ms to set
        up and paint as overlapping dots. Zooming in shows every one of them."""
        self._rebin_pending = False
        (lo, hi), _ = self.view.viewRange()
        width = max((hi - lo) / BINS, 1e-9)
        for scatter, xs, seqs in self.groups:
            start, stop = np.searchsorted(xs, [lo - width, hi + width])
            shown = xs[start:stop]
            _, first = np.unique(np.floor((shown - lo) / width), return_index=True)
            picked = first + start
            y = self.marker_y[int(seqs[0])] if len(seqs) else 0.0
            scatter.setData(x=xs[picked], y=np.full(len(picked), float(y)), data=seqs[picked])

    def _on_range_changed(self) -> None:  # many per drag: the markers are re-picked once
        if not self._rebin_pending:
            self._rebin_pending = True
            # The view as context: a timeline replaced meanwhile cancels it.
            QTimer.singleShot(REBIN_DELAY_MS, self.view, self.rebin)

    def tip(self, x: float, y: float, data: object) -> str:
        """Hover text, made on demand (10,000 markers need no labels up front)."""
        if not isinstance(data, int | np.integer):
            return ""
        index = self.review.marker_index(int(data))
        if index is None:
            return ""
        marker = self.review.markers[index]
        return f"{t_plus(marker.t)}  {marker.label}"

    # --- clicks ----------------------------------------------------------------------------
    def _on_marker_clicked(
        self, _item: pg.ScatterPlotItem, points: Sequence[Any], _ev: Any
    ) -> None:
        if len(points):
            self._on_pick(int(points[0].data()))
