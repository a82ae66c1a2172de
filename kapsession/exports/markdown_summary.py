"""The Markdown session summary, from the JSON timeline document.

Every piece of text a person typed (notes, intentions, worksheet answers, remarks, reasons,
track titles) goes through `text` or `cell`, which escape it so any CommonMark/GFM renderer
shows it literally: no heading, list, emphasis, code, link, table break or HTML can come out of
a note, and the characters themselves all survive (HTML's own markup characters become
entities, white space at either end of a line character references)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kapsession.exports import medication_record as mr
from kapsession.exports import summary as s
from kapsession.session.entry_text import (
    describe,
    num,
    observation_value,
    scale_name,
    t_mark,
    text_of,
)

# Inline constructs anywhere on a line: emphasis, code, links, HTML, GFM tables/strike, math.
_INLINE = re.compile(r"[\\`*_\[\]|~$]")
# What starts a block at the beginning of a line (after the leading spaces made inert).
_LINE_START = re.compile(r"^([#+\-=>:]|\d{1,9}[.)])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _space(ch: str) -> str:
    """Leading and trailing white space as character references, so no renderer strips it or
    reads it as indentation (an indented line would become a code block). Control characters
    are never decoded from references, so those stay as they are."""
    code = ord(ch)
    return ch if (code < 32 and ch != "\t") or 0x7F <= code < 0xA0 else f"&#x{code:X};"


def _line(raw: str) -> str:
    # NUL is not allowed in CommonMark; every renderer shows U+FFFD, so write that outright.
    raw = raw.replace("\0", "\ufffd")
    body = raw.strip()
    if not body:
        return "".join(_space(c) for c in raw)
    start = raw.index(body[0])
    lead, tail = raw[:start], raw[start + len(body) :]
    out = _INLINE.sub(lambda m: "\\" + m.group(0), body)
    out = "".join(_ENTITIES.get(c, c) for c in out)
    match = _LINE_START.match(body)
    if match:
        first = match.group(1)
        if first[-1] in ".)":  # "1." and "1)" start ordered lists: escape the mark after the digits
            cut = len(first) - 1
            out = out[:cut] + "\\" + out[cut:]
        elif first != ">":  # ">" is already an entity
            out = "\\" + out
    return "".join(_space(c) for c in lead) + out + "".join(_space(c) for c in tail)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def text(value: object, prefix: str = "") -> str:
    """Free text as Markdown paragraphs: line breaks kept (hard breaks), blank lines separate
    paragraphs. `prefix` (e.g. "> ") starts every line, for blockquotes."""
    raw = value if isinstance(value, str) else ""
    if not raw.strip():
        return prefix + "*(empty)*"
    paragraphs: list[list[str]] = [[]]
    for line in _lines(raw):
        if line == "":
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            paragraphs[-1].append(_line(line))
    blocks = [("\\\n" + prefix).join(p) for p in paragraphs if p]
    return ("\n" + prefix.rstrip() + "\n").join(prefix + b for b in blocks)


def cell(value: object) -> str:
    """Text for one table cell: inline-escaped, line breaks as <br> (a cell is one line)."""
    raw = value if isinstance(value, str) else num(value)
    return "<br>".join(_line(line) for line in _lines(raw)) if raw else ""


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return [*out, ""]


def _yes(value: object) -> str:
    return "yes" if value is True else "no" if value is False else "-"


_SCREENING = (
    ("medical_oversight", "Medical oversight arranged"),
    ("contraindications_confirmed", "Contraindications confirmed"),
    ("consent_signed", "Informed consent signed"),
    ("ride_home", "Ride home arranged"),
    ("fasting", "Fasting as advised"),
)
_SETTING = (
    ("room_ready", "Room ready"),
    ("eyeshades", "Eyeshades"),
    ("headphones", "Headphones"),
)
_PREP_TEXT = (
    ("intention", "Intention"),
    ("hopes", "Hopes for the session"),
    ("patterns", "Patterns to shift"),
    ("concerns", "Concerns and questions"),
)


def _preparation(sm: s.Summary) -> list[str]:
    out = ["## Preparation", ""]
    prep = sm.preparation
    if prep is None:
        out += ["No preparation was recorded.", ""]
        if sm.intention:
            out += ["**Intention (from the plan)**", "", text(sm.intention), ""]
        return out
    versions = len(sm.preparation_history) + 1
    out += [
        f"Version {versions} of {versions}, saved {s.local_time(prep.get('at'), prep.get('tz'), True)}"
        + (f" by {cell(prep.get('author'))}" if prep.get("author") else "")
        + ".",
        "",
    ]
    for key, label in _PREP_TEXT:
        out += [f"**{label}**", "", text(prep.get(key)), ""]
    screening, setting = s.mapping(prep.get("screening")), s.mapping(prep.get("setting"))
    rows = [[label, _yes(screening.get(key))] for key, label in _SCREENING]
    rows.append(["Prescriber", cell(screening.get("prescriber")) or "-"])
    rows += [[label, _yes(setting.get(key))] for key, label in _SETTING]
    rows.append(["Music preferences", cell(setting.get("music_preferences")) or "-"])
    rows.append(["Grounding exercise done", _yes(prep.get("grounding_done"))])
    out += _table(["Checklist", ""], rows)
    return out


def _vitals(sm: s.Summary) -> list[str]:
    out = ["## Vitals", ""]
    if not sm.vitals:
        return [*out, "No vitals were recorded.", ""]
    alerted = {
        seq: [text_of(a.get("field")) for a in alerts]
        for seq, alerts in s.alerts_by_vitals(sm).items()
    }
    rows = []
    for v in sm.vitals:
        bp = (
            f"{num(v.get('systolic'))}/{num(v.get('diastolic'))}"
            if v.get("systolic") is not None
            else ""
        )
        flags = alerted.get(int(v["seq"]), [])
        rows.append(
            [
                s.when(v),
                bp,
                num(v.get("heart_rate")),
                num(v.get("spo2")),
                num(v.get("resp_rate")),
                num(v.get("temperature")),
                cell(v.get("check")),
                cell(v.get("trend_text")),
                "**ALERT** " + ", ".join(flags) if flags else "",
            ]
        )
    out += _table(
        ["Time", "BP mmHg", "HR /min", "SpO2 %", "RR /min", "Temp °C", "Check", "Trend", ""], rows
    )
    if sm.thresholds:
        out += ["Thresholds of the protocol (recorded at the dose):", ""]
        for t in sm.thresholds:
            span = " to ".join(x for x in (num(t.low), num(t.high)) if x)
            out.append(f"- {cell(t.field)}: {span or '-'} ({cell(t.source)})")
        out.append("")
    return out


def _alerts(sm: s.Summary) -> list[str]:
    out = ["## Alerts", ""]
    if not sm.alerts:
        return [*out, "No alerts.", ""]
    for a in sm.alerts:
        ack = sm.acks.get(int(a["seq"]))
        line = f"- {s.when(a)}: {cell(a.get('message'))}"
        if ack is not None:
            line += f" - acknowledged {t_mark(ack.get('t'))}"
            if ack.get("author"):
                line += f" by {cell(ack.get('author'))}"
            if ack.get("text"):
                line += f": {cell(ack.get('text'))}"
        else:
            line += " - **not acknowledged**"
        out.append(line)
    return [*out, ""]


def _observations(sm: s.Summary) -> list[str]:
    out = ["## Observations", ""]
    if not sm.observations:
        return [*out, "No observations were recorded.", ""]
    rows = [
        [
            s.when(o),
            cell(scale_name(o.get("scale"))),
            cell(observation_value(o)),
            cell(o.get("text")),
            cell(o.get("check")),
        ]
        for o in sm.observations
    ]
    return out + _table(["Time", "Scale", "Rating", "Remark", "Check"], rows)


def _checks(sm: s.Summary) -> list[str]:
    out = ["## Checks", ""]
    if not sm.checks:
        return [*out, "No protocol checks.", ""]
    rows = [
        [s.when(c), cell(describe(str(c.get("kind")), c, style="print")), cell(c.get("reason"))]
        for c in sm.checks
    ]
    return out + _table(["Time", "Check", "Reason"], rows)


def _music(sm: s.Summary) -> list[str]:
    out = ["## Music", ""]
    if sm.session.get("arc"):
        out += [f"Arc: {cell(sm.session.get('arc'))}", ""]
    if not sm.music:
        return [*out, "No music was recorded.", ""]
    if sm.phases:
        out.append("Phases:")
        out.append("")
        out += [f"- {cell(p.label)}: {t_mark(p.start_t)} to {t_mark(p.end_t)}" for p in sm.phases]
        out.append("")
    rows = [[s.when(m), cell(describe(str(m.get("kind")), m, style="print"))] for m in sm.music]
    return out + _table(["Time", "Music"], rows)


def _notes(sm: s.Summary) -> list[str]:
    out = ["## Notes", ""]
    if not sm.notes:
        return [*out, "No notes were taken.", ""]
    for note in sm.notes:
        e = note.event
        tags = ", ".join(note.tags)
        head = f"### Note {e.get('seq')} - {s.when(e)}"
        if tags:
            head += f" - {cell(tags)}"
        out += [head, ""]
        if e.get("author"):
            out += [f"*by {cell(s.author(e))}*", ""]
        out += [text(note.text), ""]
        for a in note.amendments:
            out += [
                f"> **Amended** {s.amended(a, cell)}",
                ">",
                text(a.get("text"), prefix="> "),
                "",
            ]
    return out


def _worksheet(sm: s.Summary) -> list[str]:
    out = ["## Integration worksheet", ""]
    ws = sm.worksheet
    if ws is None:
        return [*out, "No worksheet has been saved yet.", ""]
    versions = len(sm.worksheet_history) + 1
    out += [
        f"Version {versions} of {versions}, saved {s.local_time(ws.get('at'), ws.get('tz'), True)}"
        + (f" by {cell(ws.get('author'))}" if ws.get("author") else "")
        + ".",
        "",
    ]
    if sm.music_line():
        out += [cell(sm.music_line()), ""]
    answers = sm.answers()
    shared = set(sm.shared_keys())
    for key, question in s.WORKSHEET_QUESTIONS:
        mark = " (shared with the client)" if key in shared else ""
        out += [f"**{question}**{mark}", "", text(answers.get(key, "")), ""]
    out += ["## Follow-up", ""]
    items = sm.follow_up()
    out += [f"- {cell(item)}" for item in items] if items else ["None."]
    return [*out, ""]


def _medication(sm: s.Summary) -> list[str]:
    return mr.markdown(sm.doc, cell)


def _others(sm: s.Summary) -> list[str]:
    if not sm.others:
        return []
    rows = []
    for e in sm.others:
        what = describe(str(e.get("kind")), e, style="print")
        if e.get("text"):
            what += f": {e['text']}"
        rows.append([s.when(e), cell(what), cell(e.get("reason"))])
    return ["## Session events", "", *_table(["Time", "Event", "Reason"], rows)]


def render(doc: Mapping[str, Any]) -> str:
    sm = s.summarize(doc)
    out: list[str] = []
    if sm.rehearsal:
        out += [f"**{s.REHEARSAL_NOTICE}**", ""]
    out += [f"# Session summary - client {cell(sm.client)}", ""]
    session = sm.session
    monitoring = sm.dose.get("monitoring") if sm.dose else None
    protocol = cell(session.get("protocol"))
    if isinstance(monitoring, Mapping) and monitoring.get("name"):
        protocol += f" ({cell(monitoring.get('name'))})"
    rows = [
        ["Client code", cell(sm.client)],
        ["Protocol", protocol],
        ["Route", cell(session.get("route"))],
        ["Dose", f"{num(session.get('dose_mg'))} mg"],
        ["Dose given", sm.dose_time()],
        ["Planned length", f"{num(session.get('planned_minutes'))} min"],
        ["Actual length", s.session_length(sm)],
        ["Music arc", cell(session.get("arc")) or "-"],
        ["State", cell(session.get("state"))],
        ["Exported", s.local_time(doc.get("exported_at"), session.get("dose_tz"), True)],
        ["Charted by", cell(", ".join(s.charted_by(doc))) or "-"],
    ]
    if sm.rehearsal:
        rows.insert(0, ["Rehearsal", "**yes - training data**"])
    out += _table(["Session", ""], rows)
    for section in (
        _preparation,
        _vitals,
        _medication,
        _alerts,
        _observations,
        _checks,
        _music,
        _notes,
        _worksheet,
        _others,
    ):
        out += section(sm)
    out += ["## Signatures", ""]
    lines = s.signature_lines(doc)
    out += [f"- {cell(line)}" for line in lines] if lines else ["Not signed."]
    out.append("")
    if sm.rehearsal:
        out += [f"**{s.REHEARSAL_NOTICE}**", ""]
    return "\n".join(out).rstrip("\n") + "\n"
