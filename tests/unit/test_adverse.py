"""Adverse events graded after the World SIVA tool, the grade the recorded vitals suggest, and
ready to leave computed from the entries: over every shipped protocol on the fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry
from kapsession.exports import timeline_json
from kapsession.monitoring import adverse
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.monitoring.ready import ready_to_leave
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Store

from .conftest import AUTHOR, TZ

PROTOCOLS = builtin_protocols()
IDS = sorted(PROTOCOLS)


def _start(store: Store, clock: FakeClock, protocol: str) -> LiveSession:
    service = SessionService(store, clock, TZ, AUTHOR, PROTOCOLS)
    p = PROTOCOLS[protocol]
    record = service.plan(SessionPlan("C-031", protocol, p.route, 100.0, p.planned_minutes, "x"))
    return service.give_dose(record.id)


def _vitals(live: LiveSession, clock: FakeClock, seconds: float, text: str) -> list[Any]:
    clock.advance(seconds)
    return live.add_vitals(text)


@pytest.mark.parametrize("protocol", IDS)
def test_a_short_desaturation_is_minor_and_a_long_one_sentinel(
    store: Store, clock: FakeClock, protocol: str
) -> None:
    live = _start(store, clock, protocol)
    live.add_vitals("120/80 70 98 14")
    _, *alerts = _vitals(live, clock, 60, "120/80 70 85 14")
    assert [a.data["field"] for a in alerts] == ["spo2"]  # every protocol alerts below 90
    offer = adverse.prefill(alerts[0], live.events())
    assert offer is not None and offer.linked_seq == alerts[0].seq
    assert offer.event == "Oxygen desaturation (85)"
    # One low reading, nothing after it yet: minor, and the reason says so.
    assert offer.suggestion.tier == "minor"
    assert "85 %" in offer.suggestion.reason and "no later reading" in offer.suggestion.reason
    # Back above 90 within 60 s: still minor.
    _vitals(live, clock, 40, "120/80 70 95 14")
    assert adverse.suggest(live.events()).tier == "minor"
    # Below 90 for over 60 s: sentinel.
    _vitals(live, clock, 300, "120/80 70 88 14")
    _vitals(live, clock, 61, "120/80 70 89 14")
    found = adverse.suggest(live.events())
    assert found.tier == "sentinel" and "61 s" in found.reason
    # Recorded as minor anyway: the clinician chooses; the entry links to the alert.
    event = live.record_adverse_event(
        offer.event, "minor", "oxygen", "resolved", linked_seq=offer.linked_seq
    )
    assert event.kind == "adverse_event"
    assert event.data == {
        "event": "Oxygen desaturation (85)",
        "tier": "minor",
        "intervention": "oxygen",
        "outcome": "resolved",
        "linked_seq": alerts[0].seq,
    }
    doc = timeline_json.timeline(store, live.record.id, clock.now())
    (exported,) = [e for e in doc["events"] if e["kind"] == "adverse_event"]
    assert exported["tier"] == "minor" and exported["linked_seq"] == alerts[0].seq
    assert adverse.recorded_for(doc["events"]) == {alerts[0].seq}


@pytest.mark.parametrize("protocol", IDS)
def test_below_75_at_any_time_is_sentinel(store: Store, clock: FakeClock, protocol: str) -> None:
    live = _start(store, clock, protocol)
    live.add_vitals("120/80 70 98")
    _vitals(live, clock, 30, "120/80 70 74")
    _vitals(live, clock, 10, "120/80 70 97")
    found = adverse.suggest(live.events())
    assert found.tier == "sentinel" and "74 %" in found.reason and "75 %" in found.reason


@pytest.mark.parametrize(
    ("spo2", "tier"), [(90, "minimal"), (89, "minor"), (75, "minor"), (74, "sentinel")]
)
def test_the_spo2_edges(store: Store, clock: FakeClock, spo2: int, tier: str) -> None:
    live = _start(store, clock, "sublingual")
    live.add_vitals("120/80 70 98")
    _vitals(live, clock, 30, f"120/80 70 {spo2}")
    _vitals(live, clock, 30, "120/80 70 97")  # exactly 60 s low is not "over 60 s"
    assert adverse.suggest(live.events()).tier == tier


def test_a_change_of_a_quarter_from_baseline_is_minor(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock, "sublingual")
    live.add_vitals("120/80 80 98")
    _vitals(live, clock, 600, "120/80 99 98")
    assert adverse.suggest(live.events()).tier == "minimal"
    _vitals(live, clock, 600, "120/80 100 98")
    found = adverse.suggest(live.events())
    assert found.tier == "minor" and "Heart rate 100" in found.reason and "25 %" in found.reason


@pytest.mark.parametrize("protocol", IDS)
def test_vomiting_and_an_emergence_reaction_offer_a_minimal_event(
    store: Store, clock: FakeClock, protocol: str
) -> None:
    live = _start(store, clock, protocol)
    live.add_vitals("120/80 70 98")
    clock.advance(120)
    vomit = live.quick_event("vomiting")
    offer = adverse.prefill(vomit, live.events())
    assert offer is not None and offer.event == "Vomiting"
    assert offer.suggestion.tier == "minimal" and "Vomiting" in offer.suggestion.reason
    emergence = live.quick_event("emergence_reaction")
    offer = adverse.prefill(emergence, live.events())
    assert offer is not None and offer.suggestion.tier == "minimal"
    assert adverse.prefill(live.quick_event("client_spoke"), live.events()) is None
    ceiling = {"kind": "alert", "seq": 99, "t": 200.0, "field": "ketamine_total_mg", "value": 350}
    assert adverse.prefill(ceiling, live.events()) is None, "a ceiling alert is no sedation event"
    # The intervention's floor: oxygen is a minor-risk intervention.
    assert adverse.suggest(live.events(), intervention="oxygen").tier == "minor"


def test_bad_adverse_events_are_refused_naming_the_field(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock, "sublingual")
    dose = live.events()[0]
    before = len(live.events())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"event": "", "tier": "minor"}, "event is missing"),
        ({"event": "x", "tier": "severe"}, "tier must be one of"),
        ({"event": "x", "tier": "minor", "intervention": "prayer"}, "intervention must be"),
        ({"event": "x", "tier": "minor", "linked_seq": 9999}, "not an earlier entry"),
        ({"event": "x", "tier": "minor", "linked_seq": True}, "linked_seq must be"),
        ({"event": "x" * 201, "tier": "minor"}, "at most 200"),
        ({"event": "a\nb", "tier": "minor"}, "line breaks"),
        ({"event": "x", "tier": "minor", "outcome": "y" * 501}, "outcome can be at most"),
    ]
    for fields, message in cases:
        with pytest.raises(InvalidEntry, match=message):
            live.record_adverse_event(**fields)
    note = live.add_note("a note")
    with pytest.raises(InvalidEntry, match="not a medication entry"):
        live.record_adverse_event("x", "minor", "medicine", linked_seq=note.seq)
    assert len(live.events()) == before + 1  # only the note
    ok = live.record_adverse_event("Nausea", "minimal", "medicine", linked_seq=dose.seq)
    assert ok.data["linked_seq"] == dose.seq


@settings(max_examples=60, deadline=None)
@given(
    event=st.text(max_size=250),
    tier=st.one_of(st.sampled_from(adverse.TIERS), st.text(max_size=10)),
    intervention=st.one_of(st.sampled_from(adverse.INTERVENTIONS), st.text(max_size=10)),
    outcome=st.one_of(st.none(), st.text(max_size=600)),
    linked=st.one_of(st.none(), st.integers(-5, 20), st.booleans()),
)
def test_the_adverse_event_form_stores_whole_entries_or_names_the_field(
    event: str, tier: str, intervention: str, outcome: str | None, linked: object
) -> None:
    try:
        data = adverse.validate_adverse_event(
            event, tier, intervention, outcome, linked, earlier=range(1, 10)
        )
    except InvalidEntry as exc:
        assert str(exc).startswith("Adverse event ")
        return
    assert data["tier"] in adverse.TIERS and data["intervention"] in adverse.INTERVENTIONS
    assert data["event"] and data["event"] == data["event"].strip()
    assert "linked_seq" not in data or data["linked_seq"] in range(1, 10)


# --- ready to leave ------------------------------------------------------------------------------


def _moaas(live: LiveSession, value: int) -> None:
    live.add_observation("moaas", value)


@pytest.mark.parametrize("protocol", IDS)
def test_ready_to_leave_is_when_the_criteria_held_for_the_period(
    store: Store, clock: FakeClock, protocol: str
) -> None:
    live = _start(store, clock, protocol)
    live.add_vitals("120/80 70 98 14")
    _moaas(live, 3)
    assert ready_to_leave(live.events()).ready_t is None
    clock.advance(40 * 60)
    live.add_vitals("125/80 72 97 14")
    _moaas(live, 5)  # held from T+40:00
    clock.advance(10 * 60)
    live.add_vitals("122/80 70 97 14")
    _moaas(live, 4)  # broken at T+50:00
    clock.advance(5 * 60)
    _moaas(live, 5)  # held again from T+55:00
    clock.advance(14 * 60)
    live.add_vitals("121/80 70 97 14")
    assert ready_to_leave(live.events()).ready_t is None  # 14 min only
    clock.advance(60)
    live.add_vitals("121/80 70 97 14")  # T+70:00, 15 min after T+55:00
    found = ready_to_leave(live.events())
    assert found.from_t == 55 * 60 and found.ready_t == 70 * 60
    assert found.sustained_s == 15 * 60 and "activity not charted" in found.reason
    # The exported document gives the same answer.
    doc = timeline_json.timeline(store, live.record.id, clock.now())
    again = ready_to_leave(doc["events"])
    assert (again.from_t, again.ready_t, again.source_seq) == (
        found.from_t,
        found.ready_t,
        found.source_seq,
    )


def test_a_low_spo2_or_blood_pressure_far_from_baseline_is_not_ready(
    store: Store, clock: FakeClock
) -> None:
    live = _start(store, clock, "sublingual")
    live.add_vitals("120/80 70 98 14")
    _moaas(live, 5)
    clock.advance(20 * 60)
    live.add_vitals("120/80 70 90 14")  # SpO2 90: 0 points: 8 of 10
    assert ready_to_leave(live.events()).ready_t is None
    clock.advance(20 * 60)
    live.add_vitals("150/80 70 98 14")  # systolic 25 % up: 9 of 10, still held
    clock.advance(15 * 60)
    live.add_vitals("150/80 70 92 14")  # and SpO2 92: 8
    clock.advance(15 * 60)
    live.add_vitals("150/80 70 98 14")
    assert ready_to_leave(live.events()).ready_t is None
    assert ready_to_leave(live.events(), sustained_s=5 * 60).ready_t is None


def test_the_protocol_sets_the_period(store: Store, clock: FakeClock) -> None:
    live = _start(store, clock, "sublingual")
    snapshot = live.events()[0].data["monitoring"]
    assert snapshot["discharge_sustained_s"] == 15 * 60
    live.add_vitals("120/80 70 98 14")
    _moaas(live, 5)
    clock.advance(5 * 60)
    live.add_vitals("120/80 70 98 14")
    assert ready_to_leave(live.events(), sustained_s=5 * 60).ready_t == 5 * 60
    assert ready_to_leave(live.events()).ready_t is None


def test_the_ready_line_shows_the_computed_time_beside_the_recorded_one(
    store: Store, clock: FakeClock
) -> None:
    from kapsession.monitoring.ready import ready_line

    live = _start(store, clock, "sublingual")
    assert ready_line(live.events()) == ""
    live.add_vitals("120/80 70 98 14")
    _moaas(live, 5)
    clock.advance(15 * 60)
    live.add_vitals("120/80 70 98 14")
    scores = dict.fromkeys(("activity", "respiration", "circulation", "consciousness"), 2)
    live.end(discharge={"scores": {**scores, "spo2": 2}, "ride_home": True, "ready_at_t": 900.0})
    assert ready_line(live.events()) == (
        "Ready to leave by the entries: T+15:00 (criteria held from T+00:00 for 15 min)"
        " · recorded: T+15:00"
    )


def test_without_a_respiratory_rate_respiration_is_counted_and_said(
    store: Store, clock: FakeClock
) -> None:
    live = _start(store, clock, "intramuscular")
    live.add_vitals("120/80 70 98")
    _moaas(live, 5)
    clock.advance(15 * 60)
    live.add_vitals("122/80 70 97")
    found = ready_to_leave(live.events())
    assert found.ready_t == 15 * 60
    assert "respiratory rate not measured, respiration counted as 2" in found.reason
    clock.advance(60)
    live.add_vitals("122/80 70 97 6")  # measured now, and low: 1 point, plus SpO2 97: 9
    clock.advance(60)
    live.add_vitals("122/80 70 91 6")  # and SpO2 91: 1 point: 8, no longer held
    assert ready_to_leave(live.events()).ready_t == 15 * 60  # the first moment stays


def test_the_review_marks_an_adverse_event_with_its_tier(store: Store, clock: FakeClock) -> None:
    from kapsession.integration.review import build_review

    live = _start(store, clock, "sublingual")
    clock.advance(60)
    vomit = live.quick_event("vomiting")
    live.record_adverse_event("Vomiting", "minimal", linked_seq=vomit.seq)
    review = build_review(store, live.record.id)
    (marker,) = [m for m in review.markers if m.kind == "adverse_event"]
    assert marker.lane == "observations" and marker.label == "Adverse event (minimal): Vomiting"


@pytest.mark.parametrize(
    ("value", "problem"), [("0", "must be"), ("121", "must be"), ('"x"', "must be")]
)
def test_a_bad_discharge_period_names_the_field(value: str, problem: str) -> None:
    from pathlib import Path

    from kapsession.monitoring.protocol import ProtocolError, parse_protocol

    text = Path(PROTOCOLS["sublingual"].path).read_text(encoding="utf-8")
    changed = text.replace(
        "missed_after_minutes = 15",
        f"missed_after_minutes = 15\ndischarge_sustained_minutes = {value}",
    )
    with pytest.raises(ProtocolError, match="discharge_sustained_minutes.*" + problem):
        parse_protocol(changed, "clinic.toml")
    ok = text.replace(
        "missed_after_minutes = 15", "missed_after_minutes = 15\ndischarge_sustained_minutes = 20"
    )
    assert parse_protocol(ok, "clinic.toml").discharge_sustained_s == 20 * 60
