"""A whole 75-minute sublingual session, second by second, on a fake clock; then its JSON export."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from kapsession.clock import FakeClock
from kapsession.exports import timeline_json
from kapsession.session.live import HEARTBEAT_S, SessionService, current_notes
from kapsession.session.phases import PHASE_NAMES
from kapsession.storage.store import Event, Store, iso, parse_iso

from .conftest import PlanFactory

SESSION_S = 75 * 60

# Seconds since dose -> what the therapist typed.
NOTES = {
    240: "settling in, breath slowing",
    600: "b: hands tingling",
    1080: "q: I am floating above the house",
    1500: "e: tearful, then laughing",
    2100: "qf: the ocean is inside me",
    2400: "i: a blue door, half open",
    2880: "nf: I don't have to carry my father's anger",
    3600: "returning; asks for water",
    4200: "qf: I want to remember how soft this felt",
}
EXPECTED_TAGS = {
    240: [],
    600: ["body"],
    1080: ["quote"],
    1500: ["emotion"],
    2100: ["quote", "integration"],
    2400: ["image"],
    2880: ["insight", "integration"],
    3600: [],
    4200: ["quote", "integration"],
}
# Sublingual lozenge (phases.py, after DESIGN.md): onset 15 min, peak 30, return 55, reflection 75.
PHASE_STARTS_S = {"settling": 1, "onset": 900, "peak": 1800, "return": 3300, "reflection": 4500}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_a_whole_75_minute_sublingual_session_runs_and_exports(
    clock: FakeClock, store: Store, service: SessionService, make_plan: PlanFactory
) -> None:
    planned = service.plan(make_plan())
    assert planned.state == "planned" and planned.anchor is None
    clock.advance(300)  # preparation: intention, grounding
    live = service.give_dose(planned.id)
    dose_at = clock.now()
    assert live.record.state == "running"
    assert live.elapsed() == 0

    shown: list[Event] = []
    live.entry_added.connect(shown.append)
    first_second_of: dict[str, int] = {}
    next_up_at: dict[int, list[tuple[str, float]]] = {}
    discontinuities: list[Event] = []

    for second in range(1, SESSION_S + 1):
        clock.advance(1)
        discontinuities += live.tick()
        first_second_of.setdefault(live.phase().name, second)
        if second in NOTES:
            live.add_note(NOTES[second])
        if second in (600, 3600, SESSION_S):
            next_up_at[second] = live.next_up()

    assert discontinuities == [], "a quiet session has no clock jumps or sleeps"
    assert live.elapsed() == SESSION_S
    assert list(first_second_of) == list(PHASE_NAMES)
    assert first_second_of == PHASE_STARTS_S
    assert next_up_at[600] == [("onset phase", 900.0), ("planned end", 4500.0)]
    assert next_up_at[3600] == [("reflection phase", 4500.0), ("planned end", 4500.0)]
    assert next_up_at[SESSION_S] == []

    # The heartbeat kept up with the session (at most one interval behind).
    beat = store.last_heartbeat(live.record.id)
    assert beat is not None and SESSION_S - HEARTBEAT_S <= beat <= SESSION_S

    # Every note was announced once, after it was stored, with its tags parsed from the prefix.
    assert [e.t for e in shown] == [float(s) for s in NOTES]
    for event, second in zip(shown, NOTES, strict=True):
        assert store.event(event.seq) == event
        assert event.data["tags"] == EXPECTED_TAGS[second]
        assert event.data["text"] == NOTES[second].split(": ", 1)[-1]

    ended = live.end("planned end reached")
    assert ended.state == "ended"
    assert ended.ended_t == SESSION_S
    assert ended.ended_at == iso(dose_at + timedelta(seconds=SESSION_S))
    assert store.last_heartbeat(live.record.id) is None, "the heartbeat goes with the session"
    assert [
        n.data["text"] for n, amendment in current_notes(live.events()) if amendment is None
    ] == [e.data["text"] for e in shown]

    # The JSON export, exactly as DESIGN.md documents it, and valid strict JSON.
    doc = json.loads(timeline_json.dumps(timeline_json.timeline(store, ended.id, clock.now())))
    assert doc["format"] == "kapsession.timeline/1"
    assert "notice" not in doc, "only rehearsals carry the training-data notice"
    session = doc["session"]
    assert {
        "id",
        "client",
        "protocol",
        "rehearsal",
        "dose_at",
        "ended_at",
        "planned_minutes",
    } <= set(session)
    assert session["id"] == ended.id
    assert session["client"] == "C-017"
    assert session["protocol"] == "Sublingual 75"
    assert session["rehearsal"] is False
    assert session["dose_at"] == "2026-03-02T09:05:00.000Z"
    assert session["ended_at"] == "2026-03-02T10:20:00.000Z"
    assert session["planned_minutes"] == 75

    events = doc["events"]
    assert [e["kind"] for e in events] == ["dose", *["note"] * len(NOTES), "session_ended"]
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    assert len({e["seq"] for e in events}) == len(events)
    for e in events:
        assert {"seq", "kind", "at", "t"} <= set(e)
        assert ISO_Z.match(e["at"]), e["at"]
        # No clock trouble in this session, so wall time and dose time agree exactly.
        assert parse_iso(e["at"]) - dose_at == timedelta(seconds=e["t"])
    assert events[0]["mg"] == 200.0 and events[0]["route"] == "sublingual"
    notes = [e for e in events if e["kind"] == "note"]
    assert [n["tags"] for n in notes] == list(EXPECTED_TAGS.values())
    assert events[-1]["reason"] == "planned end reached"
    assert "amends" not in events[-1]


def test_export_orders_events_by_time_since_dose_not_by_entry_order(
    clock: FakeClock, store: Store, service: SessionService, make_plan: PlanFactory
) -> None:
    live = service.give_dose(service.plan(make_plan()).id)
    clock.advance(600)
    late = live.add_note("entered at ten minutes")
    # Vitals taken at five minutes but typed in afterwards carry their own time since dose.
    back_dated = store.append(
        live.record.id,
        "vitals",
        clock.now(),
        "UTC",
        300.0,
        {"systolic": 128, "diastolic": 82, "heart_rate": 76},
    )
    same_t = live.add_note("also at ten minutes")

    events = timeline_json.timeline(store, live.record.id, clock.now())["events"]

    assert [e["seq"] for e in events] == [1, back_dated.seq, late.seq, same_t.seq]
    assert events[1]["systolic"] == 128
    assert [e["t"] for e in events] == [0.0, 300.0, 600.0, 600.0]


def test_rehearsal_export_is_marked_as_training_data(clock: FakeClock, store: Store) -> None:
    service = SessionService(store, clock, "UTC", "trainee")
    live = service.give_dose(service.plan_rehearsal(time_scale=60, clock_origin=clock.now()).id)
    live.add_note("practising")

    doc = timeline_json.timeline(store, live.record.id, clock.now())

    assert doc["session"]["rehearsal"] is True
    assert doc["session"]["client"] == "DEMO-REHEARSAL"
    assert "REHEARSAL" in doc["notice"]
