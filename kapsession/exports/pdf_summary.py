"""The PDF session summary for the integration appointment, from the JSON timeline document:
the session at a glance, a timeline chart (BP, heart rate and SpO2 over time since the dose, the
protocol's thresholds shaded, alerts marked, music phases and tracks as bands), the vitals
table, the notes with their amendments, and the integration worksheet."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, LongTable, Paragraph, Spacer, TableStyle

from kapsession import gc_pause
from kapsession.exports import medication_record as mr
from kapsession.exports import pdf_base as pb
from kapsession.exports import pdf_measures
from kapsession.exports import summary as s
from kapsession.monitoring.checks import CHECK_DUE
from kapsession.session.entry_text import (
    CHECK_KINDS,
    describe,
    num,
    observation_value,
    scale_name,
    t_mark,
    text_of,
)

SYS_COLOR = colors.HexColor("#b3261e")
DIA_COLOR = colors.HexColor("#e8827a")
HR_COLOR = colors.HexColor("#2e7d32")
SPO2_COLOR = colors.HexColor("#3a6ea5")
PHASE_COLORS = [
    colors.HexColor(c) for c in ("#dfe7f1", "#e6dff1", "#f1e3df", "#e0f1df", "#f1efdf", "#dff0f1")
]


def _series(vitals: Sequence[Mapping[str, Any]], field: str) -> list[tuple[float, float]]:
    out = []
    for v in vitals:
        t, value = v.get("t"), v.get(field)
        if (
            isinstance(t, int | float)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            out.append((float(t), float(value)))
    return out


def _tick_step(span_s: float) -> float:
    for minutes in (5, 10, 15, 30, 60, 120):
        if span_s / (minutes * 60) <= 10:
            return minutes * 60.0
    return 240 * 60.0


class _Panel:
    """One plot area: maps (t, value) to drawing coordinates."""

    def __init__(
        self, x0: float, y0: float, w: float, h: float, t_end: float, lo: float, hi: float
    ) -> None:
        self.x0, self.y0, self.w, self.h, self.t_end, self.lo, self.hi = x0, y0, w, h, t_end, lo, hi

    def x(self, t: float) -> float:
        t = 0.0 if t < 0.0 else self.t_end if t > self.t_end else t
        return self.x0 + self.w * t / self.t_end

    def y(self, value: float) -> float:
        value = self.lo if value < self.lo else self.hi if value > self.hi else value
        return self.y0 + self.h * (value - self.lo) / (self.hi - self.lo)


def _shade(d: Drawing, p: _Panel, low: float | None, high: float | None, color: Any) -> None:
    fill = colors.Color(color.red, color.green, color.blue, alpha=0.13)
    if high is not None and high < p.hi:
        d.add(Rect(p.x0, p.y(high), p.w, p.y0 + p.h - p.y(high), fillColor=fill, strokeColor=None))
    if low is not None and low > p.lo:
        d.add(Rect(p.x0, p.y0, p.w, p.y(low) - p.y0, fillColor=fill, strokeColor=None))


def _envelope(p: _Panel, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most the lowest and highest reading per half point of width, in time order: a line
    through thousands of readings looks the same, peaks and dips included, at a fraction of
    the drawing."""
    if len(points) <= 2 * p.w:
        return points
    per_t = 2 * p.w / p.t_end
    low: dict[int, tuple[float, float]] = {}
    high: dict[int, tuple[float, float]] = {}
    for point in points:
        column = int(point[0] * per_t)
        seen = low.get(column)
        if seen is None or point[1] < seen[1]:
            low[column] = point
        seen = high.get(column)
        if seen is None or point[1] > seen[1]:
            high[column] = point
    out: list[tuple[float, float]] = []
    for column, a in low.items():
        b = high[column]
        out += [a] if a == b else sorted((a, b))
    return out


def _line(d: Drawing, p: _Panel, points: list[tuple[float, float]], color: Any) -> None:
    if not points:
        return
    coords: list[float] = []
    for t, v in _envelope(p, points):
        coords += [p.x(t), p.y(v)]
    if len(points) > 1:
        d.add(PolyLine(coords, strokeColor=color, strokeWidth=1.2))
    if len(points) <= 120:  # dots only where they can still be told apart
        for t, v in points:
            d.add(Rect(p.x(t) - 1.3, p.y(v) - 1.3, 2.6, 2.6, fillColor=color, strokeColor=None))


def _axes(d: Drawing, p: _Panel, ticks: Sequence[float], label: str) -> None:
    d.add(Rect(p.x0, p.y0, p.w, p.h, fillColor=None, strokeColor=pb.RULE, strokeWidth=0.6))
    for value in ticks:
        y = p.y(value)
        d.add(Line(p.x0, y, p.x0 + p.w, y, strokeColor=pb.RULE, strokeWidth=0.3))
        d.add(
            String(
                p.x0 - 3,
                y - 2.5,
                f"{value:g}",
                fontName=pb.FONT,
                fontSize=6.5,
                textAnchor="end",
                fillColor=pb.MUTED,
            )
        )
    if label:
        d.add(
            String(
                p.x0 - 26,
                p.y0 + p.h + 3,
                label,
                fontName=pb.FONT_BOLD,
                fontSize=7,
                fillColor=pb.INK,
            )
        )


def chart(sm: s.Summary, width: float = pb.WIDTH) -> Drawing:
    """Vitals over time since the dose, with thresholds, alerts and music bands."""
    t_end = sm.chart_end()
    left, right = 28.0, 6.0
    w = width - left - right
    band_h, gap = 11.0, 16.0
    spo2_h, bp_h = 55.0, 120.0
    height = 14 + band_h * 2 + gap + spo2_h + gap + bp_h + 32
    d = Drawing(width, height)
    sys_pts, dia_pts = _series(sm.vitals, "systolic"), _series(sm.vitals, "diastolic")
    hr_pts, spo2_pts = _series(sm.vitals, "heart_rate"), _series(sm.vitals, "spo2")

    # Music bands at the bottom: phases, and tracks beneath them.
    y_axis = 14.0
    track_y, phase_y = y_axis + 0, y_axis + band_h
    p_any = _Panel(left, 0, w, 1, t_end, 0, 1)
    for i, band in enumerate(sm.phases):
        x0, x1 = p_any.x(band.start_t), p_any.x(band.end_t)
        d.add(
            Rect(
                x0,
                phase_y,
                max(x1 - x0, 0.5),
                band_h - 1,
                fillColor=PHASE_COLORS[i % len(PHASE_COLORS)],
                strokeColor=None,
            )
        )
        if x1 - x0 > 24:
            d.add(
                String(
                    x0 + 2,
                    phase_y + 3,
                    pb.plain(band.label[:40]),
                    fontName=pb.FONT,
                    fontSize=6.5,
                    fillColor=pb.INK,
                )
            )
    for i, band in enumerate(sm.tracks):
        x0, x1 = p_any.x(band.start_t), p_any.x(band.end_t)
        shade = colors.HexColor("#c9d3de") if i % 2 else colors.HexColor("#dde4ec")
        d.add(Rect(x0, track_y, max(x1 - x0, 0.5), band_h - 1, fillColor=shade, strokeColor=None))
        if x1 - x0 > 30:
            d.add(
                String(
                    x0 + 2,
                    track_y + 3,
                    pb.plain(band.label[:40]),
                    fontName=pb.FONT,
                    fontSize=6,
                    fillColor=pb.MUTED,
                )
            )
    d.add(
        String(
            left - 3,
            phase_y + 3,
            "Music",
            fontName=pb.FONT,
            fontSize=6.5,
            textAnchor="end",
            fillColor=pb.MUTED,
        )
    )
    d.add(
        String(
            left - 3,
            track_y + 3,
            "Tracks",
            fontName=pb.FONT,
            fontSize=6.5,
            textAnchor="end",
            fillColor=pb.MUTED,
        )
    )

    # SpO2 panel.
    spo2_lo = min([85.0, *[v for _, v in spo2_pts]]) // 5 * 5
    spo2 = _Panel(left, y_axis + 2 * band_h + gap, w, spo2_h, t_end, spo2_lo, 100.0)
    # BP and heart rate panel.
    values = [v for _, v in sys_pts + dia_pts + hr_pts]
    bp_hi = max([200.0, *values]) // 20 * 20 + 20
    bp_lo = min([40.0, *values]) // 20 * 20
    bp = _Panel(left, spo2.y0 + spo2_h + gap, w, bp_h, t_end, bp_lo, bp_hi)

    for th in sm.thresholds:
        if th.field == "systolic":
            _shade(d, bp, th.low, th.high, SYS_COLOR)
        elif th.field == "heart_rate":
            _shade(d, bp, th.low, th.high, HR_COLOR)
        elif th.field == "spo2":
            _shade(d, spo2, th.low, th.high, SPO2_COLOR)
    _axes(d, bp, [v for v in range(int(bp_lo), int(bp_hi) + 1, 20)], "")
    _axes(d, spo2, [v for v in range(int(spo2_lo), 101, 5)], "SpO2 %")

    # Time axis: minutes since the dose.
    step = _tick_step(t_end)
    tick = 0.0
    while tick <= t_end + 0.5:
        x = bp.x(tick)
        for panel in (bp, spo2):
            d.add(Line(x, panel.y0, x, panel.y0 + panel.h, strokeColor=pb.RULE, strokeWidth=0.3))
        d.add(
            String(
                x,
                3,
                f"{int(tick // 60)}",
                fontName=pb.FONT,
                fontSize=6.5,
                textAnchor="middle",
                fillColor=pb.MUTED,
            )
        )
        tick += step
    d.add(
        String(
            left + w,
            3 + 8,
            "minutes since dose",
            fontName=pb.FONT,
            fontSize=6,
            textAnchor="end",
            fillColor=pb.MUTED,
        )
    )

    _line(d, bp, sys_pts, SYS_COLOR)
    _line(d, bp, dia_pts, DIA_COLOR)
    _line(d, bp, hr_pts, HR_COLOR)
    _line(d, spo2, spo2_pts, SPO2_COLOR)

    # Alerts: a red triangle above the BP panel and a dashed line through both panels.
    for alert in sm.alerts:
        t = alert.get("t")
        if not isinstance(t, int | float):
            continue
        x = bp.x(float(t))
        top = bp.y0 + bp.h
        if len(sm.alerts) <= 40:  # beyond that the lines would hide the readings
            d.add(
                Line(
                    x,
                    spo2.y0,
                    x,
                    top,
                    strokeColor=pb.ALERT,
                    strokeWidth=0.7,
                    strokeDashArray=[2, 2],
                )
            )
        d.add(
            Polygon(
                [x - 3.5, top + 7, x + 3.5, top + 7, x, top + 1],
                fillColor=pb.ALERT,
                strokeColor=None,
            )
        )

    # Legend, in its own row above the alert marks (and the panel's title).
    lx, ly = left + 110, bp.y0 + bp.h + 13
    d.add(
        String(
            left - 26,
            ly,
            "BP mmHg / HR per min",
            fontName=pb.FONT_BOLD,
            fontSize=7,
            fillColor=pb.INK,
        )
    )
    for label, color in (
        ("systolic", SYS_COLOR),
        ("diastolic", DIA_COLOR),
        ("heart rate", HR_COLOR),
        ("SpO2", SPO2_COLOR),
    ):
        d.add(Rect(lx, ly + 0.5, 8, 3, fillColor=color, strokeColor=None))
        d.add(String(lx + 11, ly, label, fontName=pb.FONT, fontSize=6.5, fillColor=pb.INK))
        # Each key as wide as its words, so the row ends inside the right margin.
        lx += 11 + stringWidth(label, pb.FONT, 6.5) + 16
    d.add(Polygon([lx, ly + 6, lx + 7, ly + 6, lx + 3.5, ly], fillColor=pb.ALERT, strokeColor=None))
    d.add(
        String(
            lx + 10,
            ly,
            "alert · shaded: beyond thresholds",
            fontName=pb.FONT,
            fontSize=6.5,
            fillColor=pb.INK,
        )
    )
    return d


def _table(rows: list[list[Any]], widths: list[float], header: bool = True) -> LongTable:
    table = LongTable(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), pb.FONT, 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, pb.RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style += [
            ("FONT", (0, 0), (-1, 0), pb.FONT_BOLD, 8),
            ("TEXTCOLOR", (0, 0), (-1, 0), pb.MUTED),
        ]
    table.setStyle(TableStyle(style))
    return table


def _header(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    session = sm.session
    monitoring = sm.dose.get("monitoring") if sm.dose else None
    protocol = text_of(session.get("protocol"))
    if isinstance(monitoring, Mapping) and monitoring.get("name"):
        protocol += f" ({text_of(monitoring.get('name'))})"
    cell = st["cell"]
    facts = [
        ("Client code", sm.client),
        ("Protocol", protocol),
        ("Route / dose", f"{text_of(session.get('route'))}, {num(session.get('dose_mg'))} mg"),
        ("Dose given", sm.dose_time()),
        (
            "Planned / actual",
            f"{num(session.get('planned_minutes'))} min / {s.session_length(sm)}",
        ),
        ("Music arc", text_of(session.get("arc")) or "-"),
        ("Charted by", ", ".join(s.charted_by(sm.doc)) or "-"),
    ]
    rows = [[Paragraph(pb.para(a), st["small"]), Paragraph(pb.para(b), cell)] for a, b in facts]
    out: list[Flowable] = []
    if sm.rehearsal:
        out.append(Paragraph(pb.para(s.REHEARSAL_NOTICE), st["banner"]))
    out += [
        Paragraph(pb.para(f"Session summary - client {sm.client}"), st["title"]),
        _table(rows, [32 * mm, pb.WIDTH - 32 * mm], header=False),
    ]
    if sm.intention:
        out += [Spacer(1, 6), Paragraph("<b>Intention</b>", st["body"])]
        out += pb.paragraphs(sm.intention, st["body"])
    return out


# A printed table shows every row up to this many; beyond it, a thinned selection (the
# chart still draws every reading, and the JSON and FHIR exports hold everything).
TABLE_LIMIT = 240
_ABBREVIATIONS = {"systolic": "sys", "diastolic": "dia", "heart_rate": "HR", "spo2": "SpO2",
                  "resp_rate": "RR", "temperature": "temp"}  # fmt: skip


def _alert_owners(sm: s.Summary) -> dict[int, list[str]]:
    """vitals seq -> the (abbreviated) fields its alerts were about."""
    return {
        seq: [_ABBREVIATIONS.get(f, f) for f in (text_of(a.get("field")) for a in alerts)]
        for seq, alerts in s.alerts_by_vitals(sm).items()
    }


def _bucket(sm: s.Summary) -> float:
    """Seconds per kept row when a table is thinned: about TABLE_LIMIT / 2 regular rows."""
    return max(60.0, math.ceil(sm.chart_end() / (TABLE_LIMIT / 2) / 60) * 60)


def _thin(
    entries: Sequence[Mapping[str, Any]],
    keep: Callable[[Mapping[str, Any]], bool],
    bucket: float,
    key: Callable[[Mapping[str, Any]], object] = lambda e: None,
) -> list[Mapping[str, Any]]:
    """Every entry `keep` wants, and the first of each `key` in every `bucket` seconds."""
    seen: set[tuple[int, object]] = set()
    out = []
    for e in entries:
        slot = (int(_sort_t(e) // bucket) if isinstance(e.get("t"), int | float) else -1, key(e))
        if keep(e) or slot not in seen:
            out.append(e)
        seen.add(slot)
    return out


def _vitals(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("Vitals", st["h2"])]
    if not sm.vitals:
        return [*out, Paragraph("No vitals were recorded.", st["body"])]
    owners = _alert_owners(sm)
    shown: Sequence[Mapping[str, Any]] = sm.vitals
    if len(sm.vitals) > TABLE_LIMIT:
        bucket = _bucket(sm)
        shown = _thin(sm.vitals, lambda v: int(v["seq"]) in owners or bool(v.get("check")), bucket)
        out.append(
            Paragraph(
                f"{len(sm.vitals):,} readings. This table shows {len(shown):,}: the first in "
                f"every {bucket / 60:g} minutes, and every one that answered a check or raised "
                "an alert. The chart shows them all; the JSON and FHIR exports hold every one.",
                st["small"],
            )
        )
    rows: list[list[Any]] = [["Time", "BP", "HR", "SpO2", "RR", "Temp", "Trend", "Alert"]]
    for v in shown:
        bp = (
            f"{num(v.get('systolic'))}/{num(v.get('diastolic'))}"
            if v.get("systolic") is not None
            else ""
        )
        rows.append(
            [
                s.when(v),
                bp,
                num(v.get("heart_rate")),
                num(v.get("spo2")),
                num(v.get("resp_rate")),
                num(v.get("temperature")),
                pb.plain(text_of(v.get("trend_text"))),
                ", ".join(owners.get(int(v["seq"]), [])),
            ]
        )
    widths = [27, 15, 9, 10, 9, 10, 80, 14]
    table = _table(rows, [w * mm for w in widths])
    style: list[tuple[Any, ...]] = [("FONT", (6, 1), (6, -1), pb.FONT, 6.8)]
    style += [("TEXTCOLOR", (7, i), (7, i), pb.ALERT) for i, r in enumerate(rows) if i and r[7]]
    table.setStyle(TableStyle(style))
    out.append(table)
    if sm.alerts:
        out.append(Paragraph("Alerts", st["h3"]))
        rows = [["Time", "Alert", "Acknowledged"]]
        for a in sm.alerts:
            ack = sm.acks.get(int(a["seq"]))
            answer = "not acknowledged"
            if ack:
                answer = t_mark(ack.get("t")) + (
                    f": {text_of(ack.get('text'))}" if ack.get("text") else ""
                )
            rows.append(
                [
                    s.when(a),
                    _cell(text_of(a.get("message")), st["cell"], 62),
                    _cell(answer, st["cell"], 24),
                ]
            )
        out.append(_table(rows, [28 * mm, 100 * mm, pb.WIDTH - 128 * mm]))
    return out


# Checks a thinned table keeps every one of: all but the ones simply due.
_EXCEPTIONS = frozenset(CHECK_KINDS) - {CHECK_DUE}


def _cell(text: str, style: Any, width_chars: int) -> Any:
    """A table cell: plain text when it fits on one line (much cheaper to lay out), else a
    wrapping paragraph."""
    if len(text) <= width_chars and "\n" not in text and pb.plain_fits(text):
        return pb.plain(text)
    return Paragraph(pb.para(text[: pb.CHUNK_CHARS]), style)


def _observations(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    if not sm.observations and not sm.checks and not sm.others:
        return []
    out: list[Flowable] = [Paragraph("Observations, checks and events", st["h2"])]
    entries = sorted(
        [*sm.observations, *sm.checks, *sm.others], key=lambda e: (_sort_t(e), int(e["seq"]))
    )
    total = len(entries)
    events = {int(e["seq"]) for e in sm.others}
    if total > TABLE_LIMIT:
        bucket = _bucket(sm)
        entries = [
            e
            for e in _thin(
                entries,
                lambda e: (
                    e.get("kind") in _EXCEPTIONS or int(e["seq"]) in events or bool(e.get("text"))
                ),
                bucket,
                key=lambda e: (e.get("kind"), e.get("scale")),
            )
            if e.get("kind") != CHECK_DUE
        ]
        out.append(
            Paragraph(
                f"{total:,} entries. This table shows {len(entries):,}: every late, missed, "
                "skipped or snoozed check, every event and remark, and the first rating of "
                f"each scale in every {bucket / 60:g} minutes. The JSON export holds them all.",
                st["small"],
            )
        )
    rows: list[list[Any]] = [["Time", "What", "Rating / remark"]]
    cell = st["cell"]
    for e in entries:
        kind = e.get("kind")
        if kind == "observation":
            what = scale_name(e.get("scale"))
            detail = " - ".join(x for x in (observation_value(e), text_of(e.get("text"))) if x)
        elif kind in CHECK_KINDS:
            what, detail = "Check", describe(str(e.get("kind")), e, style="print")
            if e.get("reason"):
                detail += f" - {text_of(e.get('reason'))}"
        else:
            what, detail = "Event", describe(str(e.get("kind")), e, style="print")
            if e.get("text"):
                detail += f": {text_of(e.get('text'))}"
            if e.get("reason"):
                detail += f" - {text_of(e.get('reason'))}"
        rows.append([s.when(e), _cell(what, cell, 22), _cell(detail, cell, 70)])
    out.append(_table(rows, [28 * mm, 30 * mm, pb.WIDTH - 58 * mm]))
    return out


def _sort_t(e: Mapping[str, Any]) -> float:
    t = e.get("t")
    return float(t) if isinstance(t, int | float) else float("inf")


def _notes(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("Notes", st["h2"])]
    if not sm.notes:
        return [*out, Paragraph("No notes were taken.", st["body"])]
    for note in sm.notes:
        e = note.event
        head = s.when(e)
        if note.tags:
            head += " · " + ", ".join(note.tags)
        # The heading and the text in one block: never split apart.
        out += pb.block(note.text, st["note"], head=head)
        for a in note.amendments:
            line = f"Amended {s.amended(a, text_of)}"
            out.append(Paragraph("<i>" + pb.para(line) + "</i>", st["small"]))
            out += pb.paragraphs(text_of(a.get("text")), st["amend"])
    # Runs of plain notes laid out as one flowable each (a page's worth drawn at once).
    return pb.runs(out)


def _worksheet(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("Integration worksheet", st["h2"])]
    ws = sm.worksheet
    if ws is None:
        return [*out, Paragraph("No worksheet has been saved yet.", st["body"])]
    versions = len(sm.worksheet_history) + 1
    out.append(
        Paragraph(
            pb.para(
                f"Version {versions} of {versions}, saved "
                f"{s.local_time(ws.get('at'), ws.get('tz'), True)}"
            ),
            st["small"],
        )
    )
    if sm.music_line():
        out.append(Paragraph(pb.para(sm.music_line()), st["body"]))
    answers, shared = sm.answers(), set(sm.shared_keys())
    for key, question in s.WORKSHEET_QUESTIONS:
        label = question + (" (shared with the client)" if key in shared else "")
        out.append(Paragraph(pb.para(label), st["h3"]))
        out += pb.paragraphs(answers.get(key, "").strip() or "-", st["body"])
    follow = sm.follow_up()
    out.append(Paragraph("Follow-up", st["h3"]))
    if follow:
        out += [Paragraph("• " + pb.para(item), st["body"]) for item in follow]
    else:
        out.append(Paragraph("None.", st["body"]))
    return out


def _preparation(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    prep = sm.preparation
    if prep is None:
        return []
    out: list[Flowable] = [Paragraph("Preparation", st["h2"])]
    for key, label in (
        ("hopes", "Hopes for the session"),
        ("patterns", "Patterns to shift"),
        ("concerns", "Concerns and questions"),
    ):
        text = text_of(prep.get(key)).strip()
        if text:
            out.append(Paragraph(pb.para(label), st["h3"]))
            out += pb.paragraphs(text, st["body"])
    screening, setting = s.mapping(prep.get("screening")), s.mapping(prep.get("setting"))
    checks = [
        ("medical oversight", screening.get("medical_oversight")),
        ("contraindications confirmed", screening.get("contraindications_confirmed")),
        ("consent signed", screening.get("consent_signed")),
        ("ride home", screening.get("ride_home")),
        ("fasting", screening.get("fasting")),
        ("room ready", setting.get("room_ready")),
        ("eyeshades", setting.get("eyeshades")),
        ("headphones", setting.get("headphones")),
        ("grounding done", prep.get("grounding_done")),
    ]
    line = " · ".join(f"{name}: {'yes' if v is True else 'no'}" for name, v in checks)
    out.append(Paragraph(pb.para("Checklist - " + line), st["small"]))
    return out


def _medication(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    """The medication log (issue 15): every administration with the ketamine total after it,
    and the start gate recorded with the dose."""
    table = mr.rows(sm.doc)
    if not table:
        return []
    # The full text width, as the vitals table (174 mm); a cell longer than its column
    # wraps inside it (about 4.6 pt a character at 8 pt) instead of running past the margin.
    widths = [w * mm for w in (20, 38, 18, 14, 20, 36, 28)]
    cells = [
        [_cell(c, st["small"], int(w / 4.6)) for c, w in zip(r, widths, strict=True)] for r in table
    ]
    out: list[Flowable] = [Paragraph("Medication log", st["h2"])]
    out.append(_table([mr.HEAD, *cells], widths))
    out += [Paragraph(pb.para(line), st["small"]) for line in mr.gate_lines(sm.doc)]
    return out


def _signatures(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    """The signature block: printed name, credentials, role, date and time, meaning."""
    out: list[Flowable] = [Paragraph("Signatures", st["h2"])]
    lines = s.signature_lines(sm.doc)
    if not lines:
        return [*out, Paragraph("Not signed.", st["body"])]
    return out + [Paragraph(pb.para(line), st["body"]) for line in lines]


def render(doc: Mapping[str, Any]) -> bytes:
    with gc_pause.paused():
        return _render(doc)


def _render(doc: Mapping[str, Any]) -> bytes:
    sm = s.summarize(doc)
    st = pb.styles()
    story: list[Flowable] = []
    story += _header(sm, st)
    story += [Paragraph("Timeline", st["h2"]), chart(sm)]
    story += _vitals(sm, st)
    story += _medication(sm, st)
    story += _notes(sm, st)
    story += _worksheet(sm, st)
    story += pdf_measures.section(doc, st)  # the client's rating scales (issue 18)
    story += _preparation(sm, st)
    story += _observations(sm, st)
    story += _signatures(sm, st)
    footer = f"kapsession · session {sm.session.get('id')} · client {sm.client}"
    if sm.rehearsal:
        footer += " · REHEARSAL"
    return pb.build(
        story,
        title=f"Session summary - client {sm.client}",
        rehearsal=sm.rehearsal,
        footer=footer,
        rehearsal_text=s.REHEARSAL_NOTICE,
    )
