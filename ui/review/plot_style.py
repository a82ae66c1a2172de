"""How the review's timeline looks: the vitals series' colours and lines, the lanes of the
marker strip, the marker symbols, and the time axis read as T+ minutes."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ui import theme

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


def colour(hex_colour: str, alpha: int = 255) -> QColor:
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
