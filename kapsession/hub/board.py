"""The room board's model, Qt-free: what the hub holds in plain for each room (read with the
board's read-only login) and, from it, one tile per room as pure functions of the rows and the
time.

A room's current session is its running one, else the last one started today (the board's local
day). A tile shows the client code, T+mm:ss from the dose time (computed here from the clock the
caller passes: the board reads the wall clock only through kapsession.clock), the phase, the next
check with DUE or LATE (the protocol's plan recorded in plain with the dose, its late limit, and
the answers, skips and snoozes recorded since: kapsession.monitoring.checks decides, as on the
laptop), the open (unacknowledged) alerts, music on or off, and "offline since 14:02" when the
room's last sync round is older than OFFLINE_AFTER_S by the hub's own clock.

Nothing here is clinical: the hub's sealed columns are never read."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from kapsession.monitoring import checks, vitals
from kapsession.monitoring.dose_rules import DoseRules
from kapsession.monitoring.protocol import CheckSpec
from kapsession.monitoring.protocol import Protocol as MonitoringProtocol

if TYPE_CHECKING:
    import psycopg

# A room whose last sync round is older than this shows "offline since": the worker syncs every
# 5 s and backs off only while the hub is away, so three missed rounds and some slack.
OFFLINE_AFTER_S = 30.0
# The entry kinds a tile is made of (the others are never read).
TILE_KINDS: tuple[str, ...] = (
    "dose",
    "phase",
    checks.CHECK_DUE,
    checks.CHECK_LATE,
    checks.CHECK_MISSED,
    checks.CHECK_SKIPPED,
    checks.CHECK_SNOOZED,
    "vitals",
    "observation",
    "alert",
    "alert_ack",
    "track_started",
    "silence",
    "pause",
    "session_ended",
)

CheckMark = Literal["due", "late", "next"]


@dataclass(frozen=True)
class BoardEntry:
    """One timeline entry as the board sees it: its kind, time and plain board fields."""

    seq: int
    kind: str
    t: float | None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BoardSession:
    code: str
    state: str  # running | ended
    rehearsal: bool
    time_scale: float
    clock_origin: datetime | None
    dose_at: datetime
    ended_t: float | None
    entries: tuple[BoardEntry, ...] = ()


@dataclass(frozen=True)
class RoomState:
    room: str
    synced_at: datetime | None  # the room's last sync round, by the hub's clock
    session: BoardSession | None  # the best candidate: running, else the last started


@dataclass(frozen=True)
class Snapshot:
    """What one read of the hub gave, with the hub's clock then and the board's clock then (the
    two may differ: "offline" is measured on the hub's clock, moved on by the board's)."""

    rooms: tuple[RoomState, ...]
    hub_now: datetime
    read_at: datetime


@dataclass(frozen=True)
class Tile:
    room: str
    code: str | None  # None: no session today
    t_plus: str  # "T+12:34", "" without a session
    ended: bool
    phase: str
    check: str  # "BP & pulse" (or "" when no check is due or to come)
    check_mark: CheckMark | None
    check_when: str  # "T+15:00"
    alerts: tuple[str, ...]
    music: bool
    offline_since: str | None  # "14:02" (the board's local time)
    never_synced: bool  # the room has a login but its laptop has not synced yet
    rehearsal: bool
    last_seq: int  # the newest entry the tile was made from (for the lag benchmark)


def format_t(seconds: float) -> str:
    """T+mm:ss (minutes past 59 go on: T+75:00); never negative."""
    whole = max(0, math.floor(seconds))
    return f"T+{whole // 60:02d}:{whole % 60:02d}"


def elapsed(session: BoardSession, now: datetime) -> float:
    """Seconds since the dose at NOW (real time; a rehearsal's time runs time_scale faster from
    its clock origin, as kapsession.clock.ScaledClock), stopping at the session's end."""
    if session.rehearsal and session.clock_origin is not None and session.time_scale > 0:
        virtual = session.clock_origin + (now - session.clock_origin) * session.time_scale
    else:
        virtual = now
    t = (virtual - session.dose_at).total_seconds()
    if session.state == "ended" and session.ended_t is not None:
        t = min(t, session.ended_t)
    return max(0.0, t)


def current_session(
    candidate: BoardSession | None, now: datetime, zone: tzinfo | None
) -> BoardSession | None:
    """The running session, else one started today (in ZONE, the board's own), else None."""
    if candidate is None:
        return None
    if candidate.state == "running":
        return candidate
    today = now.astimezone(zone).date()
    return candidate if candidate.dose_at.astimezone(zone).date() == today else None


def _plan(entries: Sequence[BoardEntry]) -> tuple[tuple[CheckSpec, ...], MonitoringProtocol] | None:
    dose = next((e for e in entries if e.kind == "dose"), None)
    if dose is None or not isinstance(dose.data.get("plan"), list):
        return None
    specs = []
    for item in dose.data["plan"]:
        if (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], int | float)
            and isinstance(item[2], str)
        ):
            specs.append(CheckSpec(item[0], float(item[1]), item[2], False, ()))
    late = dose.data.get("late_after_s")
    missed = dose.data.get("missed_after_s")
    if not isinstance(late, int | float) or not isinstance(missed, int | float):
        return None
    protocol = MonitoringProtocol(
        id="board",
        name="board",
        route="",
        planned_minutes=0,
        late_after_s=float(late),
        missed_after_s=float(missed),
        checks=tuple(specs),
        thresholds=(),
        path="",
        dose_rules=DoseRules.from_data(None),
    )
    return tuple(specs), protocol


def next_check(entries: Sequence[BoardEntry], t: float) -> tuple[str, CheckMark, float] | None:
    """The check to show: the longest-waiting one that is due or late (a missed check still
    waiting shows as LATE), else the next to come; (label, mark, its due time)."""
    made = _plan(entries)
    if made is None:
        return None
    plan, protocol = made
    states = checks.check_states(plan, protocol, entries, t)
    waiting = [s for s in states if s.status in ("due", "late", "missed")]
    if waiting:
        first = min(waiting, key=lambda s: s.effective_due_t)
        mark: CheckMark = "due" if first.status == "due" else "late"
        return first.spec.label, mark, first.effective_due_t
    coming = [s for s in states if s.status in ("upcoming", "snoozed")]
    if coming:
        first = min(coming, key=lambda s: s.effective_due_t)
        return first.spec.label, "next", first.effective_due_t
    return None


def _alert_text(data: Mapping[str, Any]) -> str:
    field_name = str(data.get("field") or "")
    limit = vitals.LIMITS.get(field_name)
    # The vital's own label and unit ("SpO2 below 90 %"), as the live screen says it.
    name = limit.label if limit is not None else (field_name or "alert")
    unit = f" {limit.unit}" if limit is not None else ""
    low, high = data.get("low"), data.get("high")
    if isinstance(low, int | float) and not isinstance(low, bool) and high is None:
        return f"{name} below {low:g}{unit}"
    if isinstance(high, int | float) and not isinstance(high, bool) and low is None:
        return f"{name} above {high:g}{unit}"
    return f"{name} alert"


def open_alerts(entries: Iterable[BoardEntry]) -> tuple[str, ...]:
    """The alerts no alert_ack names (by the alert's entry number), oldest first."""
    listed = list(entries)
    acknowledged = {e.data.get("alert") for e in listed if e.kind == "alert_ack"}
    return tuple(
        _alert_text(e.data) for e in listed if e.kind == "alert" and e.seq not in acknowledged
    )


def music_on(entries: Iterable[BoardEntry], ended: bool) -> bool:
    """On once a track has started, unless the latest silence or pause is on (or it ended)."""
    started, silenced, paused = False, False, False
    for e in entries:
        if e.kind == "track_started":
            started = True
        elif e.kind == "silence":
            silenced = e.data.get("on") is True
        elif e.kind == "pause":
            paused = e.data.get("on") is True
    return started and not silenced and not paused and not ended


def phase(entries: Iterable[BoardEntry]) -> str:
    name = ""
    for e in entries:
        if e.kind == "phase" and isinstance(e.data.get("name"), str):
            name = e.data["name"]
    return name


def hub_time(snapshot: Snapshot, now: datetime) -> datetime:
    """The hub's clock at NOW (the board's): the hub's time at the read, moved on since."""
    return snapshot.hub_now + (now - snapshot.read_at)


def tile(room: RoomState, snapshot: Snapshot, now: datetime, zone: tzinfo | None = None) -> Tile:
    """One room's tile at NOW (the board's clock; ZONE the board's local zone)."""
    offline = None
    synced = room.synced_at
    if synced is not None and (hub_time(snapshot, now) - synced).total_seconds() > OFFLINE_AFTER_S:
        offline = synced.astimezone(zone).strftime("%H:%M")
    session = current_session(room.session, now, zone)
    if session is None:
        never = room.synced_at is None
        return Tile(
            room.room, None, "", False, "", "", None, "", (), False, offline, never, False, 0
        )
    entries = session.entries
    t = elapsed(session, now)
    ended = session.state == "ended"
    shown = next_check(entries, t) if not ended else None
    label, mark, due = shown if shown else ("", None, 0.0)
    return Tile(
        room=room.room,
        code=session.code,
        t_plus=format_t(t),
        ended=ended,
        phase="ended" if ended else phase(entries),
        check=label,
        check_mark=mark,
        check_when=format_t(due) if shown else "",
        alerts=() if ended else open_alerts(entries),
        music=music_on(entries, ended),
        offline_since=offline,
        never_synced=room.synced_at is None,
        rehearsal=session.rehearsal,
        last_seq=max((e.seq for e in entries), default=0),
    )


def tiles(snapshot: Snapshot, now: datetime, zone: tzinfo | None = None) -> list[Tile]:
    return [tile(room, snapshot, now, zone) for room in snapshot.rooms]


# --- reading the hub (the board's read-only login) -------------------------------------------


def _parse(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read(conn: psycopg.Connection[Any], read_at: datetime) -> Snapshot:
    """Every room with its sync time and its candidate session's tile entries, in one read-only
    transaction (a consistent view); READ_AT is the board's clock at the read."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT now()").fetchone()
        hub_now: datetime = row[0] if row else read_at
        rooms = conn.execute(
            "SELECT r.name, s.synced_at FROM rooms r LEFT JOIN room_sync s ON s.room = r.name "
            "ORDER BY r.name"
        ).fetchall()
        # Per room: its running session first, else the last started (ISO UTC text sorts).
        sessions = conn.execute(
            "SELECT DISTINCT ON (s.room) s.room, s.gid, c.code, s.state, s.rehearsal, "
            "s.time_scale, s.clock_origin, s.dose_at, s.ended_t FROM sessions s "
            "JOIN clients c ON c.gid = s.client_gid WHERE s.dose_at IS NOT NULL "
            "ORDER BY s.room, (s.state = 'running') DESC, s.dose_at DESC, s.local_id DESC"
        ).fetchall()
        gids = [str(r[1]) for r in sessions]
        by_session: dict[str, list[BoardEntry]] = {g: [] for g in gids}
        for gid, seq, kind, t, data in conn.execute(
            "SELECT session_gid, local_seq, kind, t, board FROM events "
            "WHERE session_gid = ANY(%s) AND kind = ANY(%s) ORDER BY session_gid, local_seq",
            [gids, list(TILE_KINDS)],
        ):
            by_session[str(gid)].append(
                BoardEntry(int(seq), str(kind), t, data if isinstance(data, dict) else {})
            )
        # The newest entry of each session of any kind (a note moves last_seq on too).
        newest = dict(
            conn.execute(
                "SELECT session_gid, max(local_seq) FROM events WHERE session_gid = ANY(%s) "
                "GROUP BY session_gid",
                [gids],
            ).fetchall()
        )
    candidates: dict[str, BoardSession] = {}
    for room, gid, code, state, rehearsal, scale, origin, dose_at, ended_t in sessions:
        entries = by_session[str(gid)]
        top = int(newest.get(gid) or 0)
        if top > (entries[-1].seq if entries else 0):
            entries.append(BoardEntry(top, "", None, {}))  # a marker: the newest entry's number
        at = _parse(dose_at)
        if at is None:
            continue
        candidates[str(room)] = BoardSession(
            code=str(code),
            state=str(state),
            rehearsal=bool(rehearsal),
            time_scale=float(scale),
            clock_origin=_parse(origin),
            dose_at=at,
            ended_t=ended_t,
            entries=tuple(entries),
        )
    return Snapshot(
        rooms=tuple(
            RoomState(str(name), synced_at, candidates.get(str(name))) for name, synced_at in rooms
        ),
        hub_now=hub_now,
        read_at=read_at,
    )
