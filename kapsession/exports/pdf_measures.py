"""The PDF summary's "Measures over the course" section (issue 18), drawn in the summary's own
chart style (kapsession/exports/pdf_summary.py): per instrument, its totals over the series on
one time axis of days, the severity bands shaded from light to dark, response (a ring) and
remission (a diamond) marked, the sessions as dashed lines; then one line per administration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, LongTable, Paragraph, TableStyle

from kapsession.exports import pdf_base as pb
from kapsession.integration.measures import chart_span

LINE = colors.HexColor("#3a6ea5")
RESPONSE = colors.HexColor("#2e7d32")
SESSION = colors.HexColor("#8a6d3b")
# Bands from the mildest to the most severe: one hue, deeper with severity.
_BAND = colors.HexColor("#b3261e")


def _band_fill(index: int, count: int) -> Any:
    alpha = 0.04 + 0.22 * index / max(count - 1, 1)
    return colors.Color(_BAND.red, _BAND.green, _BAND.blue, alpha=alpha)


def _text(d: Drawing, x: float, y: float, text: str, size: float = 6.5, **kw: Any) -> None:
    kw.setdefault("fillColor", pb.MUTED)
    d.add(String(x, y, pb.plain(text), fontName=kw.pop("font", pb.FONT), fontSize=size, **kw))


def instrument_chart(
    course: Mapping[str, Any], scale: Mapping[str, Any], width: float = pb.WIDTH
) -> Drawing:
    first, last = chart_span(course)
    span = max((last - first).days, 1)
    left, right, bottom, top = 30.0, 70.0, 16.0, 16.0
    w, h = width - left - right, 92.0
    d = Drawing(width, bottom + h + top)
    hi = float(scale["max_total"])

    def x(day: str) -> float:
        return left + w * (date.fromisoformat(day) - first).days / span

    def y(value: float) -> float:
        return bottom + h * max(0.0, min(value, hi)) / hi

    bands = scale.get("bands") or []
    for i, band in enumerate(bands):
        y0, y1 = y(float(band["low"])), y(min(float(band["high"]) + 1, hi))
        d.add(Rect(left, y0, w, y1 - y0, fillColor=_band_fill(i, len(bands)), strokeColor=None))
        _text(d, left + w + 3, (y0 + y1) / 2 - 2.5, f"{band['low']}-{band['high']} {band['label']}")
    d.add(Rect(left, bottom, w, h, fillColor=None, strokeColor=pb.RULE, strokeWidth=0.6))
    remission = scale.get("remission_below")
    if remission is not None:
        ry = y(float(remission))
        d.add(
            Line(
                left,
                ry,
                left + w,
                ry,
                strokeColor=RESPONSE,
                strokeWidth=0.6,
                strokeDashArray=[1, 2],
            )
        )
    for value in _ticks(hi):
        _text(d, left - 3, y(value) - 2.5, f"{value:g}", textAnchor="end")
    _text(
        d,
        left - 28,
        bottom + h + 4,
        f"{scale['name']} total",
        7,
        font=pb.FONT_BOLD,
        fillColor=pb.INK,
    )
    for session in course.get("sessions") or []:
        if not session.get("date"):
            continue
        sx = x(session["date"])
        d.add(
            Line(
                sx,
                bottom,
                sx,
                bottom + h,
                strokeColor=SESSION,
                strokeWidth=0.6,
                strokeDashArray=[2, 2],
            )
        )
        _text(
            d,
            sx,
            bottom + h + 2,
            f"S{session['number']}",
            6,
            textAnchor="middle",
            fillColor=SESSION,
        )
    points = [
        a
        for a in course.get("administrations") or []
        if a["instrument"] == scale["id"] and a.get("total") is not None
    ]
    coords: list[float] = []
    for a in points:
        coords += [x(a["date"]), y(float(a["total"]))]
    if len(points) > 1:
        d.add(PolyLine(coords, strokeColor=LINE, strokeWidth=1.2))
    for a in points:
        px, py = x(a["date"]), y(float(a["total"]))
        d.add(Rect(px - 1.5, py - 1.5, 3, 3, fillColor=LINE, strokeColor=None))
        if "response" in a["flags"]:
            d.add(Circle(px, py, 4, fillColor=None, strokeColor=RESPONSE, strokeWidth=0.9))
        if "remission" in a["flags"]:
            d.add(
                Polygon(
                    [px, py + 6.5, px + 3, py + 9.5, px, py + 12.5, px - 3, py + 9.5],
                    fillColor=RESPONSE,
                    strokeColor=None,
                )
            )
    _text(d, left, 3, first.isoformat())
    _text(d, left + w, 3, last.isoformat(), textAnchor="end")
    return d


def _ticks(hi: float) -> Sequence[float]:
    step = 5.0 if hi <= 30 else 20.0 if hi <= 100 else hi / 5
    out, v = [], 0.0
    while v <= hi + 0.01:
        out.append(v)
        v += step
    return out


def section(doc: Mapping[str, Any], st: dict[str, Any]) -> list[Flowable]:
    """The section, or nothing when the client has no measures."""
    course = doc.get("measures")
    if not isinstance(course, Mapping) or not course.get("administrations"):
        return []
    out: list[Flowable] = [Paragraph("Measures over the course", st["h2"])]
    out.append(
        Paragraph(
            pb.para(
                "Totals by day; shaded: severity bands; ring: response (50 % or more below the "
                "first score); diamond: remission; dashed lines: sessions (S1, S2, ...)."
            ),
            st["small"],
        )
    )
    for scale in course.get("instruments") or []:
        out.append(instrument_chart(course, scale))
    names = {s["id"]: s["name"] for s in course.get("instruments") or []}
    rows: list[list[Any]] = [["Date", "Scale", "Total", "Severity", "Flags", "Source"]]
    for a in course["administrations"]:
        total = "incomplete" if a.get("total") is None else f"{a['total']:g}"
        rows.append(
            [
                a["date"],
                pb.plain(names.get(a["instrument"], a["instrument"])),
                total,
                pb.plain(a.get("severity") or "–"),
                pb.plain(", ".join(f.replace("_", " ") for f in a["flags"]) or "–"),
                a["source"],
            ]
        )
    table = LongTable(
        rows, colWidths=[24 * mm, 20 * mm, 18 * mm, 32 * mm, 52 * mm, 20 * mm], repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), pb.FONT, 8),
                ("FONT", (0, 0), (-1, 0), pb.FONT_BOLD, 8),
                ("TEXTCOLOR", (0, 0), (-1, 0), pb.MUTED),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, pb.RULE),
            ]
        )
    )
    out.append(table)
    return out
