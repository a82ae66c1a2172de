"""A client's rating-scale measures (schema m009): PHQ-9, GAD-7, the EBI and the clinic's own,
answered in client mode, entered from paper, or by the clinician. Records of the client, not of
one session's timeline (a PHQ-9 is often answered between sessions).

- `add_measure`: checks the answers against the instrument (a missing item, a value out of
  range, a date in the future, an unknown instrument or client: refused with the field named)
  and stores the measure with its total, severity and flags; an incomplete run is stored as
  incomplete, with no total.
- `open_prompts` / `acknowledge`: a flagged answer (PHQ-9 item 9 above 0) waits for a clinician
  to acknowledge it, recorded with who did.
- `course`: each instrument's totals over the series, with response (a drop of at least half
  from the first score) and remission (under the instrument's `remission_below`) marked."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kapsession.clock import Clock, local_zone_name
from kapsession.errors import InvalidEntry
from kapsession.integration.instrument import (
    RESPONSE_DROP,
    Instrument,
    MeasureError,
    available_instruments,
    builtin_instruments,
    instrument,
)
from kapsession.storage.records import iso
from kapsession.storage.schema import MEASURE_SOURCES
from kapsession.storage.store import Store

FLAG_TEXT = {
    "self_harm": "thoughts of self-harm (item 9) answered above 0: acknowledge and follow the "
    "clinic's safety plan",
}


@dataclass(frozen=True)
class Measure:
    id: int
    client_code: str
    instrument: str
    taken_on: str  # YYYY-MM-DD, the clinic's local date
    taken_at: str | None  # UTC ISO-8601 when the moment is known (client mode)
    answers: tuple[int | None, ...]
    complete: bool
    total: float | None
    severity: str
    flags: tuple[str, ...]
    source: str
    session_id: int | None
    author: str
    author_role: str | None
    recorded_at: str
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None


@dataclass(frozen=True)
class Prompt:
    """A flagged answer waiting for a clinician's acknowledgement."""

    measure: Measure
    flag: str

    def text(self) -> str:
        m = self.measure
        what = FLAG_TEXT.get(self.flag, self.flag.replace("_", " "))
        shipped = builtin_instruments().get(m.instrument)  # "PHQ-9", as the client saw it
        name = shipped.name if shipped is not None else m.instrument.upper()
        return f"{m.client_code} · {name} of {m.taken_on}: {what}"


def parse_items(text: str) -> list[int | None]:
    """ "1,0,2,..." as answers (an empty place is a missing item, refused later by name)."""
    out: list[int | None] = []
    for number, part in enumerate(text.split(","), start=1):
        part = part.strip()
        if not part:
            out.append(None)
            continue
        try:
            out.append(int(part))
        except ValueError:
            raise MeasureError(f"item {number}", f"{part[:20]!r} is not a whole number") from None
    return out


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise MeasureError("date", f"{text[:20]!r} is not a date (YYYY-MM-DD)") from None


def add_measure(
    store: Store,
    data_dir: Path | None,
    client_code: str,
    instrument_id: str,
    answers: Sequence[int | None],
    clock: Clock,
    *,
    taken_on: date | None = None,
    source: str = "paper",
    complete: bool = True,
    session_id: int | None = None,
    timed: bool = False,
    at: datetime | None = None,
    author: tuple[str, str | None] | None = None,
    extra_flags: Sequence[str] = (),
) -> Measure:
    """Check and store one administration; returns it after its COMMIT returned. `complete`
    False keeps an interrupted client-mode run as it is (no total, never scored as complete);
    `timed`: the moment is known (client mode), not only the day; `at`: that moment when it
    was not now (a run recovered after the app was stopped: when it was answered, and its day
    the day it was answered); `author`: who entered it when not the charting clinician (the
    clinician who started a recovered run); `extra_flags`: flags raised when it was answered
    (kept even if the instrument would not raise them now). Inside a caller's transaction it
    is part of it."""
    scale = instrument(data_dir, instrument_id)
    client = store.client_by_code(client_code.strip())
    if client is None:
        raise MeasureError("client", f"no client with the code {client_code.strip()!r}")
    if source not in MEASURE_SOURCES:
        raise MeasureError("source", f"must be one of {', '.join(MEASURE_SOURCES)}")
    now = clock.now()
    today = now.astimezone().date()
    day = taken_on or (at.astimezone().date() if at is not None else today)
    if day > today:
        raise MeasureError("date", f"{day.isoformat()} is in the future")
    scale.check_answers(answers, complete=complete)
    padded = list(answers) + [None] * (len(scale.items) - len(answers))
    if complete:
        score = scale.score(padded)
        total: float | None = score.total
        severity, flags = score.severity, score.flags
    else:
        total, severity, flags = None, "", scale.flags(padded)
    flags = tuple(dict.fromkeys([*flags, *extra_flags]))
    who, role = author or (store.charting if store.charting else (store.actor, None))
    ident = insert_measure(
        store,
        client.id,
        scale.id,
        day,
        (at or now) if (timed or at is not None) else None,
        padded,
        total,
        severity,
        flags,
        source,
        session_id,
        (who, role),
        now,
    )
    return _measure_by_id(store, ident)


def insert_measure(
    store: Store,
    client_id: int,
    instrument_id: str,
    day: date,
    taken_at: datetime | None,
    answers: Sequence[int | None],
    total: float | None,
    severity: str,
    flags: Sequence[str],
    source: str,
    session_id: int | None,
    author: tuple[str, str | None],
    recorded_at: datetime,
) -> int:
    """The row itself, checked by the caller (the database still refuses a total on an
    incomplete measure, and keeps it append-only and audited)."""
    with store.db.atomic():
        cur = store.conn.execute(
            "INSERT INTO measures (client_id, instrument, taken_on, taken_at, tz, answers, "
            "complete, total, severity, flags, source, session_id, author, author_role, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                client_id,
                instrument_id,
                day.isoformat(),
                iso(taken_at) if taken_at is not None else None,
                local_zone_name(),
                json.dumps(list(answers)),
                int(total is not None),
                total,
                severity,
                ",".join(flags),
                source,
                session_id,
                author[0],
                author[1],
                iso(recorded_at),
            ],
        )
        return int(cur.lastrowid or 0)


def measure_by_id(store: Store, ident: int) -> Measure:
    return _measure_by_id(store, ident)


_SELECT = """
    SELECT m.id, c.code, m.instrument, m.taken_on, m.taken_at, m.answers, m.complete, m.total,
           m.severity, m.flags, m.source, m.session_id, m.author, m.author_role, m.recorded_at,
           a.author, a.at
    FROM measures m JOIN clients c ON c.id = m.client_id
    LEFT JOIN measure_acks a ON a.measure_id = m.id
"""


def _row(row: Sequence[Any]) -> Measure:
    answers = tuple(None if v is None else int(v) for v in json.loads(row[5]))
    return Measure(
        id=int(row[0]),
        client_code=str(row[1]),
        instrument=str(row[2]),
        taken_on=str(row[3]),
        taken_at=row[4],
        answers=answers,
        complete=bool(row[6]),
        total=None if row[7] is None else float(row[7]),
        severity=str(row[8]),
        flags=tuple(f for f in str(row[9]).split(",") if f),
        source=str(row[10]),
        session_id=row[11],
        author=str(row[12]),
        author_role=row[13],
        recorded_at=str(row[14]),
        acknowledged_by=row[15],
        acknowledged_at=row[16],
    )


def _measure_by_id(store: Store, ident: int) -> Measure:
    row = store.conn.execute(_SELECT + " WHERE m.id = ?", [ident]).fetchone()
    if row is None:
        raise InvalidEntry(f"measure: there is no measure {ident}")
    return _row(row)


def has_measures_table(store: Store) -> bool:
    found = store.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'measures'"
    ).fetchone()
    return found is not None


def measures_of(store: Store, client_code: str) -> list[Measure]:
    """The client's measures, oldest first (by day, then as entered)."""
    rows = store.conn.execute(
        _SELECT + " WHERE c.code = ? ORDER BY m.taken_on, m.id", [client_code.strip()]
    ).fetchall()
    return [_row(r) for r in rows]


def open_prompts(store: Store) -> list[Prompt]:
    """Every flagged answer no clinician has acknowledged yet, oldest first."""
    try:
        rows = store.conn.execute(
            _SELECT + " WHERE m.flags != '' AND a.id IS NULL ORDER BY m.taken_on, m.id"
        ).fetchall()
    except sqlite3.OperationalError:  # a read-only database from before m009
        return []
    return [Prompt(m, f) for m in map(_row, rows) for f in m.flags]


def acknowledge(store: Store, measure_id: int, clock: Clock) -> Measure:
    """The charting clinician acknowledges the measure's flag; refused without one (the
    database refuses an author who is not an active clinician, too)."""
    if not store.charting:
        raise InvalidEntry("clinician: a flagged answer is acknowledged by a named clinician")
    measure = _measure_by_id(store, measure_id)
    if not measure.flags:
        raise InvalidEntry(f"measure: measure {measure_id} raised no flag")
    if measure.acknowledged_by:
        return measure
    name, role = store.charting
    with store.db.atomic():
        store.conn.execute(
            "INSERT INTO measure_acks (measure_id, flag, author, author_role, at) "
            "VALUES (?, ?, ?, ?, ?)",
            [measure_id, ",".join(measure.flags), name, role, iso(clock.now())],
        )
    return _measure_by_id(store, measure_id)


# --- the course of each instrument -------------------------------------------------------------


@dataclass(frozen=True)
class CoursePoint:
    measure: Measure
    day: date
    total: float
    response: bool  # at least RESPONSE_DROP below the first score
    remission: bool  # under the instrument's remission_below


@dataclass(frozen=True)
class InstrumentCourse:
    instrument: Instrument
    points: tuple[CoursePoint, ...]  # complete measures only, oldest first
    incomplete: int  # runs kept as incomplete (shown as a count, never charted as a score)


def point_flags(scale: Instrument, total: float, first: float | None) -> tuple[bool, bool]:
    """(response, remission) of one total against the series' first score."""
    response = first is not None and first > 0 and total <= first * (1 - RESPONSE_DROP)
    remission = scale.remission_below is not None and total < scale.remission_below
    return response, remission


def course(store: Store, data_dir: Path | None, client_code: str) -> list[InstrumentCourse]:
    """Per instrument the client has answered (in the instruments' order), the complete
    totals with response and remission marked."""
    known, _ = available_instruments(data_dir)
    measures = measures_of(store, client_code) if has_measures_table(store) else []
    out: list[InstrumentCourse] = []
    for ident, scale in known.items():
        mine = [m for m in measures if m.instrument == ident]
        if not mine:
            continue
        points: list[CoursePoint] = []
        first: float | None = None
        for m in mine:
            if not m.complete or m.total is None:
                continue
            first = m.total if first is None else first
            response, remission = point_flags(scale, m.total, first)
            points.append(
                CoursePoint(m, date.fromisoformat(m.taken_on), m.total, response, remission)
            )
        out.append(InstrumentCourse(scale, tuple(points), sum(not m.complete for m in mine)))
    return out


def measure_flags(measure: Measure, point: CoursePoint | None) -> list[str]:
    """What `measures list` reports in `flags`: the raised flags (acknowledged or not),
    incomplete, response and remission."""
    out = list(measure.flags)
    if measure.flags and not measure.acknowledged_by:
        out.append("unacknowledged")
    if not measure.complete:
        out.append("incomplete")
    if point is not None and point.response:
        out.append("response")
    if point is not None and point.remission:
        out.append("remission")
    return out


def measure_json(m: Measure, point: CoursePoint | None) -> dict[str, Any]:
    """One measure as the JSON documents give it (`measures list`, the course document)."""
    return {
        "id": m.id,
        "instrument": m.instrument,
        "date": m.taken_on,
        "at": m.taken_at,
        "total": json_total(m.total),
        "severity": m.severity or None,
        "flags": measure_flags(m, point),
        "complete": m.complete,
        "answers": list(m.answers),
        "source": m.source,
        "author": m.author,
        "acknowledged_by": m.acknowledged_by,
    }


def measures_json(store: Store, data_dir: Path | None, client_code: str) -> list[dict[str, Any]]:
    """`kapsession measures list --format json`: one object per measure, oldest first."""
    if store.client_by_code(client_code.strip()) is None:
        raise MeasureError("client", f"no client with the code {client_code.strip()!r}")
    points = {p.measure.id: p for c in course(store, data_dir, client_code) for p in c.points}
    return [measure_json(m, points.get(m.id)) for m in measures_of(store, client_code)]


def today(clock: Clock) -> date:
    return clock.now().astimezone().date()


def as_date(at: datetime) -> date:
    return at.astimezone().date()


# --- the course as one document (the course view, the PDF summary and the FHIR export) ---------


def data_folder(store: Store) -> Path | None:
    """The data folder of the store's database (where the clinic's own instruments live)."""
    from kapsession.storage.chain_key import database_folder

    return database_folder(store.conn)


def instrument_dict(scale: Instrument) -> dict[str, Any]:
    return {
        "id": scale.id,
        "name": scale.name,
        "title": scale.title,
        "loinc": scale.loinc or None,
        "total_loinc": scale.total_loinc or None,
        "low": scale.low,
        "high": scale.high,
        "max_total": scale.max_total,
        "scoring": scale.scoring,
        "remission_below": scale.remission_below,
        "bands": [{"low": b.low, "high": b.high, "label": b.label} for b in scale.bands],
        "items": [
            {"number": i.number, "text": i.text, "loinc": i.loinc or None} for i in scale.items
        ],
        "options": [{"value": o.value, "text": o.text} for o in scale.options],
    }


def course_document(store: Store, data_dir: Path | None, client_code: str) -> dict[str, Any] | None:
    """The client's measures over the series, self-contained (instruments with their bands,
    every administration with its flags, the sessions' days as markers); None when the client
    has none. Read by the course chart, the PDF summary and the FHIR export alike."""
    if not has_measures_table(store):
        return None
    courses = course(store, data_dir, client_code)
    if not courses:
        return None
    points = {p.measure.id: p for c in courses for p in c.points}
    administrations = [
        measure_json(m, points.get(m.id))
        for c in courses
        for m in measures_of(store, client_code)
        if m.instrument == c.instrument.id
    ]
    sessions = [
        {"id": r.id, "number": n, "date": _local_day(r.dose_at), "rehearsal": r.rehearsal}
        for n, r in enumerate(
            (r for r in store.sessions() if r.client_code == client_code and r.dose_at), start=1
        )
    ]
    return {
        "client": client_code,
        "instruments": [instrument_dict(c.instrument) for c in courses],
        "administrations": administrations,
        "sessions": sessions,
        "response_drop": RESPONSE_DROP,
    }


def _local_day(at: str | None) -> str:
    from kapsession.storage.records import parse_iso

    return parse_iso(at).astimezone().date().isoformat() if at else ""


def chart_span(course_doc: Any) -> tuple[date, date]:
    """The first and last day a course chart shows: every administration and every session,
    a day either side."""
    from datetime import timedelta

    days = [date.fromisoformat(a["date"]) for a in course_doc.get("administrations") or []]
    days += [date.fromisoformat(s["date"]) for s in course_doc.get("sessions") or [] if s["date"]]
    if not days:
        today_ = date.today()
        return today_ - timedelta(days=1), today_ + timedelta(days=1)
    return min(days) - timedelta(days=1), max(days) + timedelta(days=1)


def json_total(total: float | None) -> float | int | None:
    """A total as the documents give it: a whole number as one (PHQ-9 22, not 22.0), a mean
    such as the EBI's with its decimal."""
    if total is not None and float(total).is_integer():
        return int(total)
    return total
