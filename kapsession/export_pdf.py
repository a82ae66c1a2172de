"""The PDF session summary for the integration appointment, from the JSON timeline document:
the session at a glance, a timeline chart (BP, heart rate and SpO2 over time since the dose, the
protocol's thresholds shaded, alerts marked, music phases and tracks as bands), the vitals
table, the notes with their amendments, and the integration worksheet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, LongTable, Paragraph, Spacer, TableStyle

from . import pdf_base as pb
from . import summary as s

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
        return self.x0 + self.w * min(max(t, 0.0), self.t_end) / self.t_end

    def y(self, value: float) -> float:
        value = min(max(value, self.lo), self.hi)
        return self.y0 + self.h * (value - self.lo) / (self.hi - self.lo)


def _shade(d: Drawing, p: _Panel, low: float | None, high: float | None, color: Any) -> None:
    fill = colors.Color(color.red, color.green, color.blue, alpha=0.13)
    if high is not None and high < p.hi:
        d.add(Rect(p.x0, p.y(high), p.w, p.y0 + p.h - p.y(high), fillColor=fill, strokeColor=None))
    if low is not None and low > p.lo:
        d.add(Rect(p.x0, p.y0, p.w, p.y(low) - p.y0, fillColor=fill, strokeColor=None))


def _line(d: Drawing, p: _Panel, points: list[tuple[float, float]], color: Any) -> None:
    if not points:
        return
    coords: list[float] = []
    for t, v in points:
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
    d.add(String(p.x0, p.y0 + p.h + 3, label, fontName=pb.FONT_BOLD, fontSize=7, fillColor=pb.INK))


def chart(sm: s.Summary, width: float = pb.WIDTH) -> Drawing:
    """Vitals over time since the dose, with thresholds, alerts and music bands."""
    t_end = sm.chart_end()
    left, right = 28.0, 6.0
    w = width - left - right
    band_h, gap = 11.0, 16.0
    spo2_h, bp_h = 55.0, 120.0
    height = 14 + band_h * 2 + gap + spo2_h + gap + bp_h + 22
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
                    band.label[:40],
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
                    band.label[:40],
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
    _axes(d, bp, [v for v in range(int(bp_lo), int(bp_hi) + 1, 20)], "BP mmHg / HR per min")
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
        d.add(
            Line(x, spo2.y0, x, top, strokeColor=pb.ALERT, strokeWidth=0.7, strokeDashArray=[2, 2])
        )
        d.add(
            Polygon(
                [x - 3.5, top + 7, x + 3.5, top + 7, x, top + 1],
                fillColor=pb.ALERT,
                strokeColor=None,
            )
        )

    # Legend.
    lx = left + 110
    for label, color in (
        ("systolic", SYS_COLOR),
        ("diastolic", DIA_COLOR),
        ("heart rate", HR_COLOR),
        ("SpO2", SPO2_COLOR),
    ):
        d.add(Rect(lx, bp.y0 + bp.h + 3.5, 8, 3, fillColor=color, strokeColor=None))
        d.add(
            String(
                lx + 11, bp.y0 + bp.h + 3, label, fontName=pb.FONT, fontSize=6.5, fillColor=pb.INK
            )
        )
        lx += 62
    d.add(
        Polygon(
            [lx, bp.y0 + bp.h + 9, lx + 7, bp.y0 + bp.h + 9, lx + 3.5, bp.y0 + bp.h + 3],
            fillColor=pb.ALERT,
            strokeColor=None,
        )
    )
    d.add(
        String(
            lx + 10,
            bp.y0 + bp.h + 3,
            "alert · shaded: beyond thresholds",
            fontName=pb.FONT,
            fontSize=6.5,
            fillColor=pb.INK,
        )
    )
    return d


def _when(e: Mapping[str, Any]) -> str:
    return f"{s.fmt_t(e.get('t'))} ({s.local_time(e.get('at'), e.get('tz'))})"


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
    protocol = s.text_of(session.get("protocol"))
    if isinstance(monitoring, Mapping) and monitoring.get("name"):
        protocol += f" ({s.text_of(monitoring.get('name'))})"
    cell = st["cell"]
    facts = [
        ("Client code", sm.client),
        ("Protocol", protocol),
        ("Route / dose", f"{s.text_of(session.get('route'))}, {s.num(session.get('dose_mg'))} mg"),
        ("Dose given", sm.dose_time()),
        (
            "Planned / actual",
            f"{s.num(session.get('planned_minutes'))} min / {s.session_length(sm)}",
        ),
        ("Music arc", s.text_of(session.get("arc")) or "-"),
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


def _vitals(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [Paragraph("Vitals", st["h2"])]
    if not sm.vitals:
        return [*out, Paragraph("No vitals were recorded.", st["body"])]
    alerted: dict[int, list[str]] = {}
    seqs = sorted(int(v["seq"]) for v in sm.vitals)
    for a in sm.alerts:
        owner = max((q for q in seqs if q < int(a["seq"])), default=None)
        if owner is not None:
            alerted.setdefault(owner, []).append(s.text_of(a.get("field")).replace("_", " "))
    rows: list[list[Any]] = [["Time", "BP", "HR", "SpO2", "RR", "Temp", "Trend", "Alert"]]
    for v in sm.vitals:
        bp = (
            f"{s.num(v.get('systolic'))}/{s.num(v.get('diastolic'))}"
            if v.get("systolic") is not None
            else ""
        )
        rows.append(
            [
                _when(v),
                bp,
                s.num(v.get("heart_rate")),
                s.num(v.get("spo2")),
                s.num(v.get("resp_rate")),
                s.num(v.get("temperature")),
                Paragraph(pb.para(s.text_of(v.get("trend_text"))), st["cell"]),
                ", ".join(alerted.get(int(v["seq"]), [])),
            ]
        )
    widths = [28, 16, 10, 11, 10, 11, 66, 22]
    table = _table(rows, [w * mm for w in widths])
    marks = [("TEXTCOLOR", (7, i), (7, i), pb.ALERT) for i, r in enumerate(rows) if i and r[7]]
    if marks:
        table.setStyle(TableStyle(marks))
    out.append(table)
    for a in sm.alerts:
        ack = sm.acks.get(int(a["seq"]))
        line = f"{_when(a)}: {s.text_of(a.get('message'))}"
        line += (
            f" - acknowledged {s.fmt_t(ack.get('t'))}"
            + (f": {s.text_of(ack.get('text'))}" if ack.get("text") else "")
            if ack
            else " - not acknowledged"
        )
        out.append(Paragraph(pb.para(line), st["small"]))
    return out


def _observations(sm: s.Summary, st: dict[str, Any]) -> list[Flowable]:
    if not sm.observations and not sm.checks:
        return []
    out: list[Flowable] = [Paragraph("Observations and checks", st["h2"])]
    rows: list[list[Any]] = [["Time", "What", "Rating / remark"]]
    cell = st["cell"]
    items: list[tuple[float, int, str, str]] = []
    for o in sm.observations:
        rating = s.observation_value(o)
        remark = s.text_of(o.get("text"))
        items.append(
            (
                _sort_t(o),
                int(o["seq"]),
                s.scale_name(o.get("scale")),
                " - ".join(x for x in (rating, remark) if x),
            )
        )
    for c in sm.checks:
        items.append(
            (
                _sort_t(c),
                int(c["seq"]),
                "Check",
                s.check_line(c) + (f" - {s.text_of(c.get('reason'))}" if c.get("reason") else ""),
            )
        )
    for e in sm.others:
        what = s.other_line(e)
        if e.get("text"):
            what += f": {s.text_of(e.get('text'))}"
        if e.get("reason"):
            what += f" - {s.text_of(e.get('reason'))}"
        items.append((_sort_t(e), int(e["seq"]), "Event", what))
    items.sort(key=lambda i: (i[0], i[1]))
    by_seq = {int(e["seq"]): e for e in sm.events}
    for _, seq, what, detail in items:
        rows.append(
            [
                _when(by_seq[seq]),
                Paragraph(pb.para(what), cell),
                Paragraph(pb.para(detail[: pb.CHUNK_CHARS]), cell),
            ]
        )
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
        head = _when(e)
        if note.tags:
            head += " · " + ", ".join(note.tags)
        body = pb.paragraphs(note.text, st["body"])
        out.append(KeepTogether([Paragraph(pb.para(head), st["h3"]), body[0]]))
        out += body[1:]
        for a in note.amendments:
            line = f"Amended {_when(a)}"
            if a.get("author"):
                line += f" by {s.text_of(a.get('author'))}"
            line += f" - reason: {s.text_of(a.get('reason'))}"
            out.append(Paragraph("<i>" + pb.para(line) + "</i>", st["small"]))
            out += pb.paragraphs(s.text_of(a.get("text")), st["amend"])
    return out


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
        text = s.text_of(prep.get(key)).strip()
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


def render(doc: Mapping[str, Any]) -> bytes:
    sm = s.summarize(doc)
    st = pb.styles()
    story: list[Flowable] = []
    story += _header(sm, st)
    story += [Paragraph("Timeline", st["h2"]), chart(sm)]
    story += _vitals(sm, st)
    story += _notes(sm, st)
    story += _worksheet(sm, st)
    story += _preparation(sm, st)
    story += _observations(sm, st)
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
