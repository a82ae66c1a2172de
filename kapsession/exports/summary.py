"""What a session summary shows, read from the JSON timeline document (export_json.timeline).

Every export (Markdown, PDF, FHIR) and both client handouts read the session through this one
module, so they agree on which preparation and worksheet version is current, which amendment
belongs to which note, how music phases become bands and how times are written. It works on
the documented JSON shape only (never on the database), and tolerates entries whose data is
incomplete: an export must never fail because an old entry lacks a field."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kapsession.monitoring.vitals import VITAL_FIELDS
from kapsession.session.entry_text import (
    CHECK_KINDS,
    MUSIC_KINDS,
    minutes_text,
    music_rating_line,
    t_mark,
    text_of,
)
from kapsession.storage.store import parse_iso

REHEARSAL_NOTICE = "REHEARSAL - training data, not a clinical record"

# The integration worksheet's questions, in the order they are asked (the data keys of a
# `worksheet` entry's "answers").
WORKSHEET_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("experienced", "What did you experience or notice?"),
    ("different", "What felt different?"),
    ("insight", "What insight emerged?"),
    ("meaning", "What might it mean for your life?"),
    ("next_step", "What small next step will you take?"),
)

VITAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("systolic", "Sys"),
    ("diastolic", "Dia"),
    ("heart_rate", "HR"),
    ("spo2", "SpO2"),
    ("resp_rate", "RR"),
    ("temperature", "Temp"),
)

# Kinds shown in their own sections; everything else goes to "Session events".
_OWN_SECTION = {
    "note",
    "amendment",
    "vitals",
    "observation",
    "alert",
    "alert_ack",
    "preparation",
    "worksheet",
    "dose",
    "medication",  # issue 15: the medication log (exports/medication_record.py)
    *CHECK_KINDS,
    *MUSIC_KINDS,
}


def zone(name: object) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    return _zone(name)


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    # Every entry of a session names the same zone or two: looked up once, not per entry.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_time(at: object, tz: object, with_date: bool = False) -> str:
    """An entry's wall time in the zone it was recorded in ("10:17", or with the date)."""
    if not isinstance(at, str) or not at:
        return "-"
    try:
        moment = parse_iso(at)
    except ValueError:
        return at
    where = zone(tz)
    local = moment.astimezone(where) if where else moment
    if not with_date:  # what every table row says: strftime's "%H:%M", at a third of its cost
        return f"{local.hour:02d}:{local.minute:02d}"
    return local.strftime("%Y-%m-%d %H:%M") + f" {local.tzname() or 'UTC'}"


def when(e: Mapping[str, Any]) -> str:
    """When an entry was made, as every summary table says it: "T+05:00 (10:17)"."""
    return f"{t_mark(e.get('t'))} ({local_time(e.get('at'), e.get('tz'))})"


def author(e: Mapping[str, Any]) -> str:
    """Who made an entry, with their role when a clinician did: "A. Rivera (therapist)"."""
    name = e.get("author")
    if not name:
        return ""
    role = e.get("author_role")
    return f"{name} ({role})" if role else str(name)


def amended(a: Mapping[str, Any], clean: Callable[[object], str]) -> str:
    """An amendment's line after "Amended": when, by whom, why (``clean`` makes a value safe
    for the format); one made after the session was signed says so."""
    by = f" by {clean(author(a))}" if a.get("author") else ""
    late = " - amended after signing" if a.get("after_signing") else ""
    return f"{when(a)}{by} - reason: {clean(a.get('reason'))}{late}"


def charted_by(doc: Mapping[str, Any]) -> list[str]:
    """Everyone who made an entry, with their role, in the order they first did."""
    seen: dict[str, None] = {}
    events = doc.get("events")
    for e in events if isinstance(events, list) else []:
        if isinstance(e, Mapping) and e.get("author"):
            seen.setdefault(author(e), None)
    return list(seen)


def signature_lines(doc: Mapping[str, Any]) -> list[str]:
    """ "Signed by A. Rivera, LCSW (therapist) · 2026-12-06 14:03 CET · reviewed and approved"."""
    from kapsession.exports.signature_entries import signature_line

    session = doc.get("session")
    session = session if isinstance(session, Mapping) else {}
    sigs = session.get("signatures")
    return [
        signature_line(sig, local_time(sig.get("at"), session.get("dose_tz"), True))
        for sig in (sigs if isinstance(sigs, list) else [])
        if isinstance(sig, Mapping)
    ]


@dataclass(frozen=True)
class Note:
    event: Mapping[str, Any]
    amendments: tuple[Mapping[str, Any], ...]

    @property
    def text(self) -> str:
        return text_of(self.event.get("text"))

    @property
    def tags(self) -> list[str]:
        tags = self.event.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) else []

    @property
    def current_text(self) -> str:
        return text_of(self.amendments[-1].get("text")) if self.amendments else self.text


@dataclass(frozen=True)
class Band:
    """A stretch of the session: a music phase or a track."""

    label: str
    start_t: float
    end_t: float


@dataclass(frozen=True)
class Threshold:
    field: str
    low: float | None
    high: float | None
    source: str


@dataclass
class Summary:
    doc: Mapping[str, Any]
    session: Mapping[str, Any]
    events: list[Mapping[str, Any]]
    rehearsal: bool
    dose: Mapping[str, Any] | None
    end_t: float | None
    preparation: Mapping[str, Any] | None
    preparation_history: list[Mapping[str, Any]]
    worksheet: Mapping[str, Any] | None
    worksheet_history: list[Mapping[str, Any]]
    notes: list[Note]
    vitals: list[Mapping[str, Any]]
    alerts: list[Mapping[str, Any]]
    acks: dict[int, Mapping[str, Any]]
    observations: list[Mapping[str, Any]]
    checks: list[Mapping[str, Any]]
    music: list[Mapping[str, Any]]
    phases: list[Band]
    tracks: list[Band]
    others: list[Mapping[str, Any]]
    thresholds: list[Threshold] = field(default_factory=list)

    @property
    def client(self) -> str:
        return text_of(self.session.get("client")) or "-"

    @property
    def intention(self) -> str:
        """The client's own intention: from the current preparation, else from the plan."""
        if self.preparation is not None:
            text = text_of(self.preparation.get("intention")).strip()
            if text:
                return text
        return text_of(self.session.get("intention")).strip()

    def dose_time(self) -> str:
        return local_time(self.session.get("dose_at"), self.session.get("dose_tz"), True)

    def actual_seconds(self) -> float | None:
        return self.end_t

    def chart_end(self) -> float:
        """The right edge of a timeline chart: the end, or the last timed entry, or the plan."""
        planned = float(self.session.get("planned_minutes") or 60) * 60.0
        last = max(
            (float(e["t"]) for e in self.events if isinstance(e.get("t"), int | float)),
            default=0.0,
        )
        return max(self.end_t or 0.0, last, planned if self.end_t is None else 0.0, 60.0)

    def answers(self) -> dict[str, str]:
        if self.worksheet is None:
            return {}
        raw = self.worksheet.get("answers")
        if not isinstance(raw, Mapping):
            return {}
        return {str(k): text_of(v) for k, v in raw.items()}

    def follow_up(self) -> list[str]:
        if self.worksheet is None:
            return []
        raw = self.worksheet.get("follow_up")
        return [text_of(x) for x in raw if text_of(x).strip()] if isinstance(raw, list) else []

    def music_line(self) -> str:
        """'Music: liking 7, resonance 8, openness 6 (arc ...)' from the current worksheet; ""
        when the client's ratings were not asked (issue 17)."""
        return "" if self.worksheet is None else music_rating_line(self.worksheet)

    def shared_keys(self) -> list[str]:
        if self.worksheet is None:
            return []
        raw = self.worksheet.get("shared")
        return [k for k in raw if isinstance(k, str)] if isinstance(raw, list) else []


def _versions(events: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    """Every saved version of a whole-record kind, oldest first (the highest seq is current)."""
    return sorted((e for e in events if e.get("kind") == kind), key=lambda e: int(e["seq"]))


def _bands(events: Sequence[Mapping[str, Any]], end: float) -> tuple[list[Band], list[Band]]:
    phases: list[Band] = []
    tracks: list[Band] = []
    open_phase: tuple[str, float] | None = None
    open_track: tuple[str, float, str] | None = None
    for e in events:
        t = e.get("t")
        if not isinstance(t, int | float):
            continue
        kind = e.get("kind")
        if kind == "phase":
            if open_phase is not None:
                phases.append(Band(open_phase[0], open_phase[1], float(t)))
            open_phase = (text_of(e.get("name")) or "phase", float(t))
        elif kind == "track_started":
            if open_track is not None:
                tracks.append(Band(open_track[0], open_track[1], float(t)))
            open_track = (text_of(e.get("title")) or "track", float(t), text_of(e.get("path")))
        elif kind in ("track_ended", "skip") and open_track is not None:
            path = text_of(e.get("path"))
            if not path or path == open_track[2]:
                tracks.append(Band(open_track[0], open_track[1], float(t)))
                open_track = None
    if open_phase is not None:
        phases.append(Band(open_phase[0], open_phase[1], max(end, open_phase[1])))
    if open_track is not None:
        tracks.append(Band(open_track[0], open_track[1], max(end, open_track[1])))
    return phases, tracks


def _thresholds(dose: Mapping[str, Any] | None) -> list[Threshold]:
    monitoring = dose.get("monitoring") if dose else None
    raw = monitoring.get("thresholds") if isinstance(monitoring, Mapping) else None
    out: list[Threshold] = []
    for t in raw if isinstance(raw, list) else []:
        if not isinstance(t, Mapping) or t.get("applies_to", "all") != "all":
            continue
        low, high = t.get("low"), t.get("high")
        out.append(
            Threshold(
                text_of(t.get("field")),
                float(low) if isinstance(low, int | float) else None,
                float(high) if isinstance(high, int | float) else None,
                text_of(t.get("source")),
            )
        )
    return out


def summarize(doc: Mapping[str, Any]) -> Summary:
    session = doc.get("session") or {}
    events: list[Mapping[str, Any]] = list(doc.get("events") or [])
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for e in events:
        by_kind.setdefault(str(e.get("kind")), []).append(e)
    doses = by_kind.get("dose") or []
    dose = doses[0] if doses else None
    ended = by_kind.get("session_ended") or []
    end_t = ended[-1].get("t") if ended else None
    amendments: dict[int, list[Mapping[str, Any]]] = {}
    for a in sorted(by_kind.get("amendment", []), key=lambda e: int(e["seq"])):
        if isinstance(a.get("amends"), int):
            amendments.setdefault(int(a["amends"]), []).append(a)
    notes = [Note(n, tuple(amendments.get(int(n["seq"]), ()))) for n in by_kind.get("note", [])]
    preparation = _versions(events, "preparation")
    worksheet = _versions(events, "worksheet")
    end = float(end_t) if isinstance(end_t, int | float) else None
    summary = Summary(
        doc=doc,
        session=session,
        events=events,
        rehearsal=bool(session.get("rehearsal")),
        dose=dose,
        end_t=end,
        preparation=preparation[-1] if preparation else None,
        preparation_history=preparation[:-1],
        worksheet=worksheet[-1] if worksheet else None,
        worksheet_history=worksheet[:-1],
        notes=notes,
        vitals=by_kind.get("vitals", []),
        alerts=by_kind.get("alert", []),
        acks={
            int(a["alert"]): a
            for a in by_kind.get("alert_ack", [])
            if isinstance(a.get("alert"), int)
        },
        observations=by_kind.get("observation", []),
        checks=[e for e in events if e.get("kind") in CHECK_KINDS],
        music=[e for e in events if e.get("kind") in MUSIC_KINDS],
        phases=[],
        tracks=[],
        others=[e for e in events if e.get("kind") not in _OWN_SECTION],
        thresholds=_thresholds(dose),
    )
    summary.phases, summary.tracks = _bands(events, summary.chart_end())
    return summary


def alerts_by_vitals(sm: Summary) -> dict[int, list[Mapping[str, Any]]]:
    """vitals seq -> the alerts those vitals raised (stored right after them, in one
    transaction: the owner is the latest vitals entry before the alert)."""
    seqs = sorted(int(v["seq"]) for v in sm.vitals)
    owners: dict[int, list[Mapping[str, Any]]] = {}
    for alert in sm.alerts:
        if alert.get("field") not in VITAL_FIELDS:  # e.g. the ketamine ceiling (issue 15)
            continue
        i = bisect.bisect_left(seqs, int(alert["seq"]))
        if i:
            owners.setdefault(seqs[i - 1], []).append(alert)
    return owners


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def session_length(summary: Summary) -> str:
    return minutes_text(summary.end_t) if summary.end_t is not None else "not ended"


def dose_at(summary: Summary) -> datetime | None:
    at = summary.session.get("dose_at")
    return parse_iso(at) if isinstance(at, str) else None
