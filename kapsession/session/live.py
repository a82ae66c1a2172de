"""Session lifecycle: plan -> dose given (running) -> ended, and the live session's timeline."""

from __future__ import annotations

import logging
import math
import sqlite3
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kapsession.clock import Clock, DoseAnchor
from kapsession.errors import InvalidEntry, StateError
from kapsession.monitoring.checks import CheckState, Monitoring
from kapsession.monitoring.discharge import assess, can_end_complete
from kapsession.monitoring.dose_rules import DoseRules, require_reason
from kapsession.monitoring.protocol import Protocol
from kapsession.monitoring.vitals import Vitals
from kapsession.music.music_entries import MUSIC_KINDS
from kapsession.session.dose_clock import ContinuityWatch, DoseClock
from kapsession.session.live_medication import LiveMedication
from kapsession.session.live_monitoring import LiveMonitoring
from kapsession.session.live_status import BadgeState
from kapsession.session.notes import Note, make_note, parse_note
from kapsession.session.phases import PhaseInfo, phase_at
from kapsession.session.timeline import SessionTimeline
from kapsession.signals import Signal
from kapsession.storage.schema import ROUTES
from kapsession.storage.store import Event, SessionRecord, Store, iso

log = logging.getLogger("kapsession.session.live")

# How often the live session proves it is alive, so a restart can tell how long it was gone.
HEARTBEAT_S = 15.0

REHEARSAL_CLIENT = "DEMO-REHEARSAL"


@dataclass(frozen=True)
class SessionPlan:
    client_code: str
    protocol: str
    route: str
    dose_mg: float
    planned_minutes: int
    intention: str = ""
    display_name: str | None = None
    # The music arc file (a path), or None for a session without music.
    arc: str | None = None


def _clean_label(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidEntry(f"{field} is required.")
    if len(text) > limit:
        raise InvalidEntry(f"{field} can be at most {limit} characters.")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise InvalidEntry(f"{field} contains control characters.")
    return text


def validate_plan(plan: SessionPlan) -> SessionPlan:
    """Return a cleaned plan or raise InvalidEntry naming the field."""
    code = _clean_label(plan.client_code, "Client code", 40)
    protocol = _clean_label(plan.protocol, "Protocol", 100)
    if plan.route not in ROUTES:
        raise InvalidEntry(f"Route must be one of: {', '.join(ROUTES)}.")
    dose = plan.dose_mg
    if isinstance(dose, bool) or not isinstance(dose, int | float):
        raise InvalidEntry("Dose must be a number of milligrams.")
    if isinstance(dose, float) and not math.isfinite(dose):
        raise InvalidEntry("Dose must be a number of milligrams.")
    if not 0 < dose <= 1000:
        raise InvalidEntry("Dose must be more than 0 and at most 1000 mg.")
    minutes = plan.planned_minutes
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 45 <= minutes <= 120:
        raise InvalidEntry("Planned length must be a whole number of minutes from 45 to 120.")
    name = plan.display_name.strip() if plan.display_name else None
    if name:
        name = _clean_label(name, "Display name", 80)
    if len(plan.intention) > 10_000:
        raise InvalidEntry("Intention can be at most 10,000 characters.")
    arc = plan.arc.strip() if plan.arc else None
    if arc:
        arc = _clean_label(arc, "Music arc", 4096)
    return SessionPlan(
        code,
        protocol,
        plan.route,
        float(dose),
        minutes,
        plan.intention.strip(),
        name or None,
        arc or None,
    )


class SessionService:
    """Creates, starts and resumes sessions. Collaborators come in; nothing is global."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        tz: str,
        author: str,
        protocols: Mapping[str, Protocol] | None = None,
    ) -> None:
        self.store, self.clock, self.tz, self.author = store, clock, tz, author
        # Monitoring protocols by id; a session whose protocol is not among them has no timed checks.
        self.protocols: Mapping[str, Protocol] = protocols or {}

    def plan(
        self,
        plan: SessionPlan,
        rehearsal: bool = False,
        time_scale: float = 1.0,
        clock_origin: datetime | None = None,
    ) -> SessionRecord:
        plan = validate_plan(plan)
        now = self.clock.now()
        with self.store.db.atomic():
            client = self.store.client_by_code(plan.client_code)
            if client is None:
                client = self.store.add_client(plan.client_code, plan.display_name, rehearsal, now)
            elif client.rehearsal != rehearsal:
                raise InvalidEntry(
                    "That client code belongs to a rehearsal client."
                    if client.rehearsal
                    else "That client code belongs to a real client; rehearsals use the demo client."
                )
            return self.store.plan_session(
                {
                    "client_id": client.id,
                    "protocol": plan.protocol,
                    "route": plan.route,
                    "dose_mg": plan.dose_mg,
                    "planned_minutes": plan.planned_minutes,
                    "intention": plan.intention,
                    "arc": plan.arc,
                    "rehearsal": int(rehearsal),
                    "time_scale": time_scale,
                    "clock_origin": iso(clock_origin) if clock_origin else None,
                    "created_at": iso(now),
                }
            )

    def plan_rehearsal(
        self, time_scale: float, clock_origin: datetime, arc: str | None = None
    ) -> SessionRecord:
        return self.plan(
            SessionPlan(
                client_code=REHEARSAL_CLIENT,
                display_name="Demo client (rehearsal)",
                # The lozenge protocol when it is available, so rehearsals practise real checks.
                protocol="sublingual" if "sublingual" in self.protocols else "Rehearsal",
                route="sublingual",
                dose_mg=200.0,
                planned_minutes=75,
                intention="Practise the live screen: notes, the dose clock, ending a session.",
                arc=arc,
            ),
            rehearsal=True,
            time_scale=time_scale,
            clock_origin=clock_origin,
        )

    def give_dose(self, session_id: int, gate: tuple[list[str], str] | None = None) -> LiveSession:
        """The moment the medicine is given: the session is running from here. ``gate``: the
        start gate's unmet items and the reason for going ahead, recorded with the dose
        (``start_gate: {"unmet": [...], "reason": ...}``; a reason is needed when any is unmet)."""
        record = self.store.session(session_id)
        if record.state != "planned":
            raise StateError("Only a planned session can be started.")
        dose: dict[str, Any] = {
            "mg": record.dose_mg,
            "route": record.route,
            "protocol": record.protocol,
            "total_mg": record.dose_mg,  # the ketamine total after it (issue 15)
        }
        protocol = self.protocols.get(record.protocol)
        if protocol is not None:
            dose["monitoring"] = Monitoring.start(protocol, record.planned_minutes).snapshot()
        if gate is not None:
            unmet = [str(item) for item in gate[0]]
            dose["start_gate"] = {"unmet": unmet, "reason": require_reason(unmet, gate[1])}
        anchor = DoseAnchor(self.clock.now(), self.clock.monotonic(), self.clock.boot_id())
        self.store.start_session(session_id, anchor, self.tz, dose, self.author)
        return self._live(self.store.session(session_id), DoseClock(self.clock, anchor))

    def resume(self) -> LiveSession | None:
        """Reopen the running session after a close, crash or kill, at the right elapsed time,
        and put the time the app was gone on the timeline."""
        record = self.store.running_session()
        if record is None or record.anchor is None:
            return None
        dose_clock, reanchored = DoseClock.resume(self.clock, record.anchor)
        live = self._live(self.store.session(record.id), dose_clock)
        try:
            if reanchored:
                self.store.reanchor(record.id, dose_clock.anchor)
            live.record_gap()
        except (sqlite3.Error, OSError) as exc:
            # A full or read-only disk must not keep the therapist out of the running session:
            # the clock runs from the stored anchor; what could not be written is logged (no
            # clinical text) and the live screen reports every later failed save.
            log.error("could not record the restart on the timeline: %s", type(exc).__name__)
        return live

    def _live(self, record: SessionRecord, dose_clock: DoseClock) -> LiveSession:
        return LiveSession(self.store, self.clock, record, dose_clock, self.tz, self.author)


class LiveSession:
    """A running session: the dose clock, the timeline and the notes; its monitoring (checks,
    vitals, observations, alerts) is a LiveMonitoring over the same timeline."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        record: SessionRecord,
        dose_clock: DoseClock,
        tz: str,
        author: str,
    ) -> None:
        self.store, self.clock = store, clock
        self.dose_clock, self.tz, self.author = dose_clock, tz, author
        self.timeline = SessionTimeline(store, clock, record, dose_clock, tz, author)
        self.entry_added: Signal[Event] = self.timeline.entry_added
        self.ended: Signal[SessionRecord] = Signal()
        self._watch = ContinuityWatch(clock, dose_clock)
        self._last_heartbeat = -math.inf
        self.monitor = LiveMonitoring(self.timeline)
        # The medication log, the ketamine total and its ceiling (issue 15).
        rules = self.monitor.monitoring.protocol.dose_rules if self.monitor.monitoring else None
        self.medication = LiveMedication(self.timeline, rules or DoseRules(), author)

    @property
    def record(self) -> SessionRecord:
        return self.timeline.record

    @record.setter
    def record(self, record: SessionRecord) -> None:
        self.timeline.record = record

    @property
    def monitoring(self) -> Monitoring | None:
        """The protocol's checks frozen at the dose (None: a session without timed checks)."""
        return self.monitor.monitoring

    # --- time ----------------------------------------------------------------------------
    def elapsed(self) -> float:
        return self.dose_clock.elapsed()

    def phase(self) -> PhaseInfo:
        return phase_at(self.record.route, self.elapsed())

    @property
    def planned_seconds(self) -> float:
        return self.record.planned_minutes * 60.0

    def next_up(self) -> list[tuple[str, float]]:
        """What comes next, soonest first: (label, seconds since dose)."""
        phase = self.phase()
        items: list[tuple[str, float]] = []
        if phase.next_name is not None and phase.next_at is not None:
            items.append((f"{phase.next_name} phase", phase.next_at))
        items.append(("planned end", self.planned_seconds))
        now = self.elapsed()
        return sorted((item for item in items if item[1] > now), key=lambda item: item[1])

    def tick(self) -> list[Event]:
        """Called about once a second: records discontinuities and keeps the heartbeat."""
        if self.record.state == "ended":
            # A timer firing once more after the end must neither write a stale heartbeat
            # nor try to put a clock event on a closed timeline.
            return []
        added = [
            self.timeline.append(d.kind, {"seconds": d.seconds}, t=d.t) for d in self._watch.check()
        ]
        t = self.elapsed()
        if t - self._last_heartbeat >= HEARTBEAT_S or t < self._last_heartbeat:
            self.store.heartbeat(self.record.id, t, self.clock.now())
            self._last_heartbeat = t
        return added

    def record_gap(self) -> Event:
        """The app was not running from the last sign of life until now."""
        events = self.timeline.events
        last_t = max((e.t for e in events if e.t is not None), default=0.0)
        beat = self.store.last_heartbeat(self.record.id)
        if beat is not None:
            last_t = max(last_t, beat)
        # Exports and handouts can be written by the command line while the app is away: they
        # say nothing about how the app stopped.
        life = [e for e in events if e.kind not in ("export", "handout")]
        closed = bool(life) and life[-1].kind == "app_closed"
        now = self.elapsed()
        return self.timeline.append(
            "gap",
            {
                "from_t": round(last_t, 3),
                "to_t": round(now, 3),
                "seconds": round(max(0.0, now - last_t), 3),
                "cause": "app_closed" if closed else "app_stopped_unexpectedly",
            },
        )

    # --- entries -------------------------------------------------------------------------
    def add_note(self, raw: str, tags: tuple[str, ...] | list[str] = ()) -> Event:
        note = parse_note(raw, tags)
        return self.timeline.append("note", {"text": note.text, "tags": list(note.tags)})

    def amend_note(
        self, seq: int, text: str, tags: tuple[str, ...] | list[str], reason: str
    ) -> Event:
        """A correction is a new entry; the original stays on the record."""
        original = self.store.event(seq)
        if original is None or original.session_id != self.record.id:
            raise InvalidEntry("That entry is not part of this session.")
        if original.kind not in ("note", "amendment"):
            raise InvalidEntry("Only notes can be amended here.")
        if not reason.strip():
            raise InvalidEntry("An amendment needs a reason.")
        target = original.amends if original.kind == "amendment" and original.amends else seq
        note: Note = make_note(text, tags)
        return self.timeline.append(
            "amendment",
            {"text": note.text, "tags": list(note.tags)},
            amends=target,
            reason=reason.strip(),
        )

    def events(self) -> list[Event]:
        """The whole timeline as stored (entries others added included): for export and review;
        the session's own decisions use the timeline it keeps."""
        return self.store.events(self.record.id)

    def record_music(self, kind: str, data: Mapping[str, Any]) -> Event:
        """A music entry (track started or ended, skip, volume, silence, pause, phase, fault),
        as the arc player reports it."""
        if kind not in MUSIC_KINDS:
            raise InvalidEntry(f"{kind!r} is not a music entry.")
        return self.timeline.append(kind, dict(data))

    # --- monitoring (LiveMonitoring's, here for the screens and the command line) ------------
    def evaluate_checks(self) -> list[Event]:
        return self.monitor.evaluate_checks()

    def next_check_wakeup(self) -> float | None:
        return self.monitor.next_check_wakeup()

    def vitals_history(self) -> list[Vitals]:
        return self.monitor.vitals_history()

    def baseline(self) -> Vitals | None:
        return self.monitor.baseline()

    def add_vitals(self, entry: str | Vitals, check: str | None = None) -> list[Event]:
        return self.monitor.add_vitals(entry, check)

    def open_alerts(self) -> list[Event]:
        return self.monitor.open_alerts()

    def acknowledge_alert(self, seq: int, note: str = "") -> Event:
        return self.monitor.acknowledge_alert(seq, note)

    def add_observation(
        self, scale: str, value: int | str, text: str = "", check: str | None = None
    ) -> Event:
        return self.monitor.add_observation(scale, value, text, check)

    def add_observation_text(self, text: str) -> Event:
        return self.monitor.add_observation_text(text)

    def quick_event(self, kind: str, /, **fields: object) -> Event:
        if kind == "booster_dose":  # counts in the ketamine total; may pass the ceiling
            return self.medication.booster(**fields)[0]
        return self.monitor.quick_event(kind, **fields)

    def record_adverse_event(
        self,
        event: str,
        tier: str,
        intervention: str = "none",
        outcome: str = "",
        linked_seq: int | None = None,
    ) -> Event:
        return self.monitor.record_adverse_event(event, tier, intervention, outcome, linked_seq)

    def add_medication(self, line: str) -> list[Event]:
        """An administration typed on one line (Alt+D): the entry and any ceiling alert."""
        return self.medication.add(line)

    def skip_check(self, key: str, reason: str) -> Event:
        return self.monitor.skip_check(key, reason)

    def snooze_check(self, key: str, minutes: int, reason: str) -> Event:
        return self.monitor.snooze_check(key, minutes, reason)

    def waiting_check(self) -> CheckState | None:
        return self.monitor.waiting_check()

    def check_badge(self) -> BadgeState:
        return self.monitor.check_badge()

    def alert_banner(self) -> str:
        return self.monitor.alert_banner()

    # --- the end -------------------------------------------------------------------------
    def close(self) -> None:
        """The app is closing with the session still running (it resumes on next launch)."""
        self.timeline.append("app_closed", {})

    def end(
        self,
        reason: str = "",
        discharge: Mapping[str, Any] | None = None,
        closing: Sequence[tuple[str, Mapping[str, Any]]] = (),
    ) -> SessionRecord:
        """End the session. It ends as complete only with a passing discharge check (modified
        Aldrete >= 9, ride home confirmed, ready time recorded); ending anyway needs a reason.
        ``closing``: music entries that close with the session (the last ``track_ended``),
        written in the same transaction."""
        if self.record.state == "ended":
            raise StateError("This session has already ended.")
        reason = reason.strip()
        t = round(self.elapsed(), 3)
        assessment = None
        if discharge is not None:
            assessment = assess(
                discharge.get("scores", {}),
                bool(discharge.get("ride_home")),
                discharge.get("ready_at_t"),
                now_t=t,
            )
        complete, blockers = can_end_complete(assessment)
        if not complete and not reason:
            raise InvalidEntry(
                "Ending without a passing discharge check needs a reason. " + " ".join(blockers)
            )
        # The discharge check and the end are one transaction: a failed end leaves no stray
        # discharge entry on a session that is still running.
        for kind, _ in closing:
            if kind not in MUSIC_KINDS:
                raise InvalidEntry(f"{kind!r} is not a music entry.")
        discharge_event = None
        closing_events: list[Event] = []
        with self.store.db.atomic():
            for kind, data in closing:
                closing_events.append(
                    self.store.append(
                        self.record.id, kind, self.clock.now(), self.tz, t, data, self.author
                    )
                )
            if assessment is not None:
                discharge_event = self.store.append(
                    self.record.id,
                    "discharge",
                    self.clock.now(),
                    self.tz,
                    t,
                    assessment.as_dict(),
                    author=self.author,
                )
            self.store.end_session(
                self.record.id, self.clock.now(), self.tz, t, reason, self.author, complete=complete
            )
        self.timeline.committed(
            [*closing_events, *([discharge_event] if discharge_event is not None else [])]
        )
        self.record = self.store.session(self.record.id)
        self.ended.emit(self.record)
        return self.record


def current_notes(events: list[Event]) -> list[tuple[Event, Event | None]]:
    """Each note with its latest amendment (if any), in the order the notes were taken."""
    latest: dict[int, Event] = {}
    for event in events:
        if event.kind == "amendment" and event.amends is not None:
            latest[event.amends] = event
    return [(e, latest.get(e.seq)) for e in events if e.kind == "note"]
