"""A finished (or running) session read back as one timeline: the review model, note search
across sessions, and a client's course of sessions at a glance.

Qt-free and read-only: everything here is built from the append-only ``events`` table, so a
review always shows exactly what was recorded, amendments beside their originals.

- ``build_review(store, session_id)``: the vitals series, the protocol's threshold bands (from
  the snapshot frozen in the dose entry), music bands by phase and by track, and one marker per
  entry the therapist may want to look at (notes with their current text, observations, checks,
  alerts, faults...), each keeping its ``seq`` so a selection can show the entry and its
  amendments.
- ``search_notes(store, query, client=None)``: case-insensitive search in notes' current and
  original text, across sessions.
- ``course(store, client_code)``: the client's sessions in order with dose, route, protocol,
  peak vitals, deepest sedation, strongest dissociation, alerts, the worksheet's next step and
  the client's music ratings; ``music_by_arc(rows)``: those ratings' means per arc.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kapsession.integration.review_entries import Entries, Marker, MarkerClass, Markers
from kapsession.monitoring.observations import DISSOCIATION, MOAAS
from kapsession.music.rating import KEYS as RATING_KEYS
from kapsession.music.rating import MusicRating, arc_label, read_rating
from kapsession.session.entry_text import (
    CHECK_KINDS,
    CHECK_WORDS,
    FAULT_KINDS,
    QUICK_KINDS,
    SESSION_KINDS,
    describe,
    one_line,
)
from kapsession.storage.store import Event, SessionRecord, Store, parse_iso

# The series a review plots, in the order they are drawn.
SERIES_FIELDS = ("systolic", "diastolic", "heart_rate", "spo2", "resp_rate")

# Marker lanes, top to bottom on the timeline.
LANES = ("notes", "observations", "checks", "alerts", "faults", "music", "session")

SNIPPET_CHARS = 60


@dataclass(frozen=True)
class VitalsSeries:
    """One row per vitals entry, ordered by time; a value not measured is None."""

    t: tuple[float, ...] = ()
    seq: tuple[int, ...] = ()
    systolic: tuple[float | None, ...] = ()
    diastolic: tuple[float | None, ...] = ()
    heart_rate: tuple[float | None, ...] = ()
    spo2: tuple[float | None, ...] = ()
    resp_rate: tuple[float | None, ...] = ()

    def values(self, name: str) -> tuple[float | None, ...]:
        if name not in SERIES_FIELDS:
            raise KeyError(name)
        values: tuple[float | None, ...] = getattr(self, name)
        return values

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class ThresholdBand:
    """Outside [low, high] is out of range (the edges are in range), with where it comes from."""

    field: str
    low: float | None
    high: float | None
    source: str
    applies_to: str = "all"


@dataclass(frozen=True)
class Band:
    """A stretch of time on the music lane (a phase or a track) or a fault that lasted."""

    kind: str  # "phase" | "track" | "gap" | "suspend"
    label: str
    start_t: float
    end_t: float
    seq: int


class _LazyData(Mapping[str, Any]):
    """An entry's data, decoded from its JSON on first use."""

    __slots__ = ("_data", "_raw")

    def __init__(self, raw: str) -> None:
        self._raw = raw
        self._data: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self._raw)
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return repr(self._decoded())


@dataclass(frozen=True)
class EntryDetail:
    """One entry as a selection shows it: the entry, its current text (for notes) and every
    amendment or acknowledgement that followed it, oldest first."""

    event: Event
    current_text: str | None
    amendments: tuple[Event, ...]
    acknowledgements: tuple[Event, ...]


@dataclass(frozen=True)
class Review:
    record: SessionRecord
    events: Entries  # every entry, in reading order (see entry_order)
    vitals: VitalsSeries
    thresholds: tuple[ThresholdBand, ...]
    phases: tuple[Band, ...]
    tracks: tuple[Band, ...]
    fault_bands: tuple[Band, ...]
    markers: Markers  # by (t, seq)
    start_t: float
    end_t: float
    # By the seq of an entry: the seqs of its amendments and acknowledgements, oldest first.
    _amendments: Mapping[int, tuple[int, ...]] = field(repr=False, default_factory=dict)
    _acks: Mapping[int, tuple[int, ...]] = field(repr=False, default_factory=dict)

    def event(self, seq: int) -> Event | None:
        return self.events.event(seq)

    def detail(self, seq: int) -> EntryDetail | None:
        event = self.events.event(seq)
        if event is None:
            return None
        target = event.amends if event.kind == "amendment" and event.amends else seq
        original = self.events.event(target) or event
        amendments = self._entries(self._amendments.get(target, ()))
        current = None
        if original.kind == "note":
            current = str((amendments[-1] if amendments else original).data.get("text", ""))
        return EntryDetail(original, current, amendments, self._entries(self._acks.get(target, ())))

    def marker_index(self, seq: int) -> int | None:
        """The marker an entry belongs to (an amendment belongs to the note it amends)."""
        event = self.events.event(seq)
        if event is not None and event.kind == "amendment" and event.amends is not None:
            seq = event.amends
        return self.markers.index_of(seq)

    def alerts(self) -> tuple[Marker, ...]:
        classes = self.markers.classes
        at = sorted(i for c in classes if c[0] == "alerts" for i in classes[c])
        return tuple(self.markers[i] for i in at)

    def _entries(self, seqs: Sequence[int]) -> tuple[Event, ...]:
        found = (self.events.event(s) for s in seqs)
        return tuple(e for e in found if e is not None)


# --- building the review -----------------------------------------------------------------


def entry_order(events: Iterable[Event]) -> list[Event]:
    """Reading order: entries before the dose first, then by time since dose, then entries
    made after the end (no time since dose, e.g. the worksheet); seq breaks ties."""
    listed = list(events)
    dose_seq = next((e.seq for e in listed if e.kind == "dose"), None)

    def key(e: Event) -> tuple[int, float, int]:
        if e.t is not None:
            return (1, e.t, e.seq)
        before = dose_seq is None or e.seq < dose_seq
        return (0 if before else 2, 0.0, e.seq)

    return sorted(listed, key=key)


class _Row(NamedTuple):
    """An entry other than a note as the review is built from it."""

    seq: int
    kind: str
    t: float | None
    amends: int | None
    data: Mapping[str, Any]


_COLUMNS = "seq, session_id, kind, at, tz, t, author, amends, reason, data, author_role"
# entry_order in SQL, with every entry's data but a note's (a note's text is read when shown).
_LIGHT_SQL = """
SELECT seq, kind, t, amends, CASE kind WHEN 'note' THEN NULL ELSE data END FROM events
WHERE session_id = :session
ORDER BY CASE
    WHEN t IS NOT NULL THEN 1
    WHEN seq < coalesce(
        (SELECT min(seq) FROM events WHERE session_id = :session AND kind = 'dose'), seq + 1
    ) THEN 0
    ELSE 2 END,
  t, seq
"""
# Past this many entries asked for at once, the whole session is read in one go.
READ_ALL_FROM = 500


def build_review(store: Store, session_id: int) -> Review:
    """The session read back. Only what the first screen needs is read up front: each entry's
    seq, kind and time, and the data of every entry but the notes; a whole entry is read from
    the store the first time it is asked for (review_entries.Entries), so the store must stay
    open while the review is shown."""
    record = store.session(session_id)
    rows = store.db.execute(_LIGHT_SQL, {"session": session_id}).fetchall()
    seqs, kinds, ts, _amends, _data = zip(*rows, strict=True) if rows else ((),) * 5
    entries = Entries(seqs, kinds, ts, loader=_reader(store, session_id))
    return _review(record, rows, entries, _LazyData)


def read_events(store: Store, session_id: int) -> list[Event]:
    """The session's entries in seq order, equal to what Store.events gives, read as plain
    tuples with each entry's data decoded when first used: a 10,000-entry session loads in a
    fraction of the time (the notes' JSON is only decoded for the notes looked at)."""
    cursor = store.db.execute(
        f"SELECT {_COLUMNS} FROM events WHERE session_id = ? ORDER BY seq", [session_id]
    )
    return [
        Event(seq, sid, kind, at, tz, t, author, amends, reason, _LazyData(data), role)
        for seq, sid, kind, at, tz, t, author, amends, reason, data, role in cursor.fetchall()
    ]


def _reader(store: Store, session_id: int) -> Callable[[Sequence[int]], list[Event]]:
    """Reads the session's entries asked for (by seq), for Entries."""

    def read(seqs: Sequence[int]) -> list[Event]:
        if len(seqs) >= READ_ALL_FROM:
            return read_events(store, session_id)
        marks = ", ".join("?" * len(seqs))
        cursor = store.db.execute(
            f"SELECT {_COLUMNS} FROM events WHERE session_id = ? AND seq IN ({marks})",
            [session_id, *seqs],
        )
        return [
            Event(seq, sid, kind, at, tz, t, author, amends, reason, _LazyData(data), role)
            for seq, sid, kind, at, tz, t, author, amends, reason, data, role in cursor.fetchall()
        ]

    return read


def review_from_events(record: SessionRecord, events: Sequence[Event]) -> Review:
    """The review of entries at hand (every one of them, in any order)."""
    ordered = entry_order(events)
    rows = [(e.seq, e.kind, e.t, e.amends, e.data) for e in ordered]
    entries = Entries(
        tuple(e.seq for e in ordered),
        tuple(e.kind for e in ordered),
        tuple(e.t for e in ordered),
        known=ordered,
    )
    return _review(record, rows, entries, lambda data: data)


def _review(
    record: SessionRecord,
    rows: Sequence[tuple[int, str, float | None, int | None, Any]],
    entries: Entries,
    decode: Callable[[Any], Mapping[str, Any]],
) -> Review:
    """The review from its entries in reading order: (seq, kind, t, amends, data) with a note's
    data not needed (None) and everyone else's as `decode` makes it a mapping."""
    amendments: dict[int, list[int]] = {}
    for seq, _kind, _t, amends, _data in sorted(r for r in rows if r[1] == "amendment"):
        if amends is not None:  # seq order: oldest first
            amendments.setdefault(amends, []).append(seq)

    # One pass: the markers as columns, sorted into classes, and every entry but the notes.
    others: list[_Row] = []
    marker_seqs: list[int] = []
    marker_t: list[float] = []
    notes: list[int] = []
    amended_notes: list[int] = []
    classes: dict[MarkerClass, list[int]] = {}
    for seq, kind, t, amends, data in rows:
        if kind == "note":
            if t is not None:
                (amended_notes if seq in amendments else notes).append(len(marker_seqs))
                marker_seqs.append(seq)
                marker_t.append(float(t))
            continue
        others.append(_Row(seq, kind, t, amends, decode(data)))
        lane = _LANE_OF.get(kind) if t is not None else None
        if lane is not None:
            status = CHECK_WORDS[kind] if lane == "checks" else ""
            classes.setdefault((lane, kind, status, False), []).append(len(marker_seqs))
            marker_seqs.append(seq)
            marker_t.append(float(t or 0.0))
    classes[("notes", "note", "", False)] = notes
    classes[("notes", "note", "", True)] = amended_notes
    # In the order each class first appears (the order they are drawn in, later ones on top).
    classes = dict(sorted(((c, at) for c, at in classes.items() if at), key=lambda c: c[1][0]))

    acks: dict[int, list[int]] = {}
    for row in sorted(r for r in others if r.kind == "alert_ack"):
        alert = row.data.get("alert")
        if isinstance(alert, int) and not isinstance(alert, bool):
            acks.setdefault(alert, []).append(row.seq)

    times = [t for t in entries.ts if t is not None]
    start_t = min(0.0, min(times, default=0.0))
    end_t = max(times, default=0.0)
    if record.ended_t is not None:
        end_t = max(end_t, record.ended_t)
    end_t = max(end_t, 60.0)
    timed = [r for r in others if r.t is not None]

    def label_of(seq: int) -> str:
        event = entries.event(seq)
        if event is None:
            return ""
        if event.kind != "note":
            return describe(event.kind, event.data, style="marker")
        chain = amendments.get(seq)
        current = entries.event(chain[-1]) if chain else event
        return one_line(str(current.data.get("text", ""))) if current is not None else ""

    return Review(
        record=record,
        events=entries,
        vitals=_series(timed),
        thresholds=_thresholds(others),
        phases=_phase_bands(timed, end_t),
        tracks=_track_bands(timed, end_t),
        fault_bands=_fault_bands(timed),
        markers=Markers(marker_seqs, marker_t, classes, label_of),
        start_t=float(start_t),
        end_t=float(end_t),
        _amendments={k: tuple(v) for k, v in amendments.items()},
        _acks={k: tuple(v) for k, v in acks.items()},
    )


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _series(timed: Sequence[_Row]) -> VitalsSeries:
    rows = [e for e in timed if e.kind == "vitals"]
    return VitalsSeries(
        t=tuple(float(e.t or 0.0) for e in rows),
        seq=tuple(e.seq for e in rows),
        **{name: tuple(_num(e.data.get(name)) for e in rows) for name in SERIES_FIELDS},
    )


def _thresholds(events: Sequence[_Row]) -> tuple[ThresholdBand, ...]:
    dose = next((e for e in events if e.kind == "dose"), None)
    snapshot = dose.data.get("monitoring") if dose is not None else None
    if not isinstance(snapshot, Mapping):
        return ()
    bands: list[ThresholdBand] = []
    for item in snapshot.get("thresholds", ()):
        if not isinstance(item, Mapping) or item.get("field") not in (
            *SERIES_FIELDS,
            "temperature",
        ):
            continue
        bands.append(
            ThresholdBand(
                field=str(item["field"]),
                low=_num(item.get("low")),
                high=_num(item.get("high")),
                source=str(item.get("source", "")),
                applies_to=str(item.get("applies_to", "all")),
            )
        )
    return tuple(bands)


def _phase_bands(timed: Sequence[_Row], end_t: float) -> tuple[Band, ...]:
    phases = [e for e in timed if e.kind == "phase"]
    bands: list[Band] = []
    for i, e in enumerate(phases):
        # The phase holds from when the arc entered it until the next phase (or the end).
        start = float(e.t or 0.0)
        stop = float(phases[i + 1].t or 0.0) if i + 1 < len(phases) else end_t
        bands.append(Band("phase", str(e.data.get("name", "")), start, max(start, stop), e.seq))
    return tuple(bands)


def _track_bands(timed: Sequence[_Row], end_t: float) -> tuple[Band, ...]:
    bands: list[Band] = []
    playing: dict[str, _Row] = {}  # by path: two decks can overlap in a crossfade
    for e in timed:
        if e.kind not in ("track_started", "track_ended", "playback_fault"):
            continue
        path = str(e.data.get("path", ""))
        if e.kind == "track_started":
            if path in playing:  # restarted without an end: close the earlier play
                bands.append(_track_band(playing.pop(path), float(e.t or 0.0)))
            playing[path] = e
        elif e.kind in ("track_ended", "playback_fault") and path in playing:
            bands.append(_track_band(playing.pop(path), float(e.t or 0.0)))
    bands += [_track_band(e, end_t) for e in playing.values()]
    return tuple(sorted(bands, key=lambda b: (b.start_t, b.seq)))


def _track_band(start: _Row, stop: float) -> Band:
    begin = float(start.t or 0.0)
    title = str(start.data.get("title") or start.data.get("path") or "track")
    return Band("track", title, begin, max(begin, stop), start.seq)


def _fault_bands(timed: Sequence[_Row]) -> tuple[Band, ...]:
    bands: list[Band] = []
    for e in timed:
        if e.kind == "gap":
            start = _num(e.data.get("from_t"))
            stop = _num(e.data.get("to_t"))
            if start is not None and stop is not None:
                bands.append(Band("gap", "kapsession not running", start, stop, e.seq))
        elif e.kind == "suspend":
            slept = _num(e.data.get("seconds")) or 0.0
            t = float(e.t or 0.0)
            bands.append(Band("suspend", "laptop asleep", max(0.0, t - slept), t, e.seq))
    return tuple(bands)


_LANE_OF: dict[str, str] = {
    "observation": "observations",
    **dict.fromkeys(QUICK_KINDS, "observations"),
    "adverse_event": "observations",  # beside the vomiting or the alert it follows (issue 15)
    **dict.fromkeys(CHECK_KINDS, "checks"),
    "alert": "alerts",
    **dict.fromkeys(FAULT_KINDS, "faults"),
    "phase": "music",
    "track_started": "music",
    **dict.fromkeys(SESSION_KINDS, "session"),
}


# --- note search ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteHit:
    session_id: int
    client_code: str
    seq: int  # the note (an amended note is found under its own seq)
    t: float | None
    snippet: str
    in_current: bool  # False: only an earlier version of the note matched


def search_notes(store: Store, query: str, client: str | None = None) -> list[NoteHit]:
    """Notes whose current or any earlier text contains ``query`` (case-insensitive, any
    script), newest session first, then in the order the notes were taken."""
    needle = query.strip().casefold()
    if not needle:
        return []
    sql = (
        "SELECT e.seq, e.session_id, e.kind, e.t, e.amends, e.data, c.code "
        "FROM events e JOIN sessions s ON s.id = e.session_id "
        "JOIN clients c ON c.id = s.client_id "
        "WHERE e.kind IN ('note', 'amendment')"
    )
    params: list[Any] = []
    if client is not None:
        sql += " AND c.code = ?"
        params.append(client)
    notes: dict[int, dict[str, Any]] = {}
    versions: dict[int, list[str]] = {}
    for row in store.db.query(sql + " ORDER BY e.seq", params):
        text = str(json.loads(row["data"]).get("text", ""))
        if row["kind"] == "note":
            notes[row["seq"]] = row
            versions[row["seq"]] = [text]
        elif row["amends"] in versions:
            versions[row["amends"]].append(text)
    hits: list[NoteHit] = []
    for seq, row in notes.items():
        texts = versions[seq]
        current = texts[-1]
        if needle in current.casefold():
            hits.append(_hit(row, current, needle, True))
        else:
            earlier = next((x for x in reversed(texts[:-1]) if needle in x.casefold()), None)
            if earlier is not None:
                hits.append(_hit(row, earlier, needle, False))
    hits.sort(key=lambda h: (-h.session_id, h.t if h.t is not None else -math.inf, h.seq))
    return hits


def _hit(row: Mapping[str, Any], text: str, needle: str, in_current: bool) -> NoteHit:
    return NoteHit(
        session_id=int(row["session_id"]),
        client_code=str(row["code"]),
        seq=int(row["seq"]),
        t=row["t"],
        snippet=snippet(text, needle),
        in_current=in_current,
    )


def snippet(text: str, needle: str, width: int = SNIPPET_CHARS) -> str:
    """The text around the first match, on one line, with … where it was cut."""
    flat = " ".join(text.split())
    at = flat.casefold().find(needle.casefold())
    if at < 0:
        return one_line(flat, 2 * width)
    start = max(0, at - width // 2)
    stop = min(len(flat), at + len(needle) + width)
    return ("…" if start else "") + flat[start:stop] + ("…" if stop < len(flat) else "")


# --- a client's course ---------------------------------------------------------------------


@dataclass(frozen=True)
class CourseRow:
    session_id: int
    number: int  # 1-based place in the client's course
    date: str  # local date of the dose (or of planning, before the dose)
    state: str
    rehearsal: bool
    dose_mg: float
    route: str
    protocol: str
    peak_systolic: float | None
    peak_diastolic: float | None
    peak_heart_rate: float | None
    lowest_spo2: float | None
    deepest_moaas: int | None  # MOAA/S: lower is deeper sedation
    max_dissociation: int | None
    alerts: int
    notes: int
    next_step: str | None  # the current worksheet's next step, if one was written
    signed_by: tuple[str, ...] = ()  # who signed it, in order (kapsession.exports.signing)
    # The client's music ratings in the current worksheet (issue 17), when asked.
    music: MusicRating | None = None


def course(store: Store, client_code: str) -> list[CourseRow]:
    sessions = [s for s in store.sessions() if s.client_code == client_code]
    sessions.sort(key=lambda s: (s.dose_at or s.created_at, s.id))
    return [_course_row(i + 1, s, store.events(s.id)) for i, s in enumerate(sessions)]


def _course_row(number: int, record: SessionRecord, events: Sequence[Event]) -> CourseRow:
    vitals = [e.data for e in events if e.kind == "vitals"]
    observations = [e.data for e in events if e.kind == "observation"]

    def peak(name: str, pick: Any = max) -> float | None:
        values = [v for v in (_num(d.get(name)) for d in vitals) if v is not None]
        return pick(values) if values else None

    def scale(scale_id: str, pick: Any) -> int | None:
        values = [
            int(d["value"])
            for d in observations
            if d.get("scale") == scale_id and isinstance(d.get("value"), int)
        ]
        return int(pick(values)) if values else None

    worksheets = [e for e in events if e.kind == "worksheet"]
    next_step = None
    music = read_rating(worksheets[-1].data.get("music_rating")) if worksheets else None
    if worksheets:
        answers = worksheets[-1].data.get("answers")
        if isinstance(answers, Mapping):
            text = str(answers.get("next_step") or "").strip()
            next_step = text or None
    return CourseRow(
        session_id=record.id,
        number=number,
        date=_local_date(record),
        state=record.state,
        rehearsal=record.rehearsal,
        dose_mg=record.dose_mg,
        route=record.route,
        protocol=record.protocol,
        peak_systolic=peak("systolic"),
        peak_diastolic=peak("diastolic"),
        peak_heart_rate=peak("heart_rate"),
        lowest_spo2=peak("spo2", min),
        deepest_moaas=scale(MOAAS.id, min),
        max_dissociation=scale(DISSOCIATION.id, max),
        alerts=sum(1 for e in events if e.kind == "alert"),
        notes=sum(1 for e in events if e.kind == "note"),
        next_step=next_step,
        signed_by=tuple(str(e.data.get("name", "")) for e in events if e.kind == "signature"),
        music=music,
    )


@dataclass(frozen=True)
class ArcMusic:
    """How one arc was found across the client's sessions: the mean of each rating."""

    arc: str  # the arc's name (else its id; "no arc")
    sessions: tuple[int, ...]  # the course numbers of the rated sessions, in order
    means: Mapping[str, float]  # liking, resonance, openness -> mean, one decimal


def music_by_arc(rows: Sequence[CourseRow]) -> list[ArcMusic]:
    """Each arc's rated sessions and mean ratings, in the order the arcs were first rated.
    Sessions are grouped by the arc's id (its name when the id is missing)."""
    groups: dict[str, list[CourseRow]] = {}
    for row in rows:
        if row.music is not None:
            key = row.music.arc_id or row.music.arc_name
            groups.setdefault(key, []).append(row)
    out = []
    for mine in groups.values():
        ratings = [r.music for r in mine if r.music is not None]
        means = {k: round(sum(m.value(k) for m in ratings) / len(ratings), 1) for k in RATING_KEYS}
        out.append(ArcMusic(arc_label(ratings[-1]), tuple(r.number for r in mine), means))
    return out


def _local_date(record: SessionRecord) -> str:
    stamp = parse_iso(record.dose_at or record.created_at)
    try:
        zone = ZoneInfo(record.dose_tz) if record.dose_tz else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return stamp.astimezone(zone).date().isoformat()
