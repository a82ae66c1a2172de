"""The review model read back from a real session on a real SQLite file: the vitals series, the
protocol's threshold bands, music bands, markers with their amendments, note search across
sessions (amended text included) and a client's course."""

from __future__ import annotations

from typing import Any

import pytest

from kapsession.clock import FakeClock
from kapsession.integration.review import build_review, course, search_notes, snippet
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import LiveSession, SessionPlan, SessionService
from kapsession.storage.store import Store

from .conftest import AUTHOR, TZ

PROTOCOLS = builtin_protocols()


def _service(store: Store, clock: FakeClock) -> SessionService:
    return SessionService(store, clock, TZ, AUTHOR, PROTOCOLS)


def _start(service: SessionService, client: str = "C-031", mg: float = 100.0) -> LiveSession:
    record = service.plan(SessionPlan(client, "sublingual", "sublingual", mg, 75, "to rest"))
    return service.give_dose(record.id)


def _music(live: LiveSession, kind: str, **data: Any) -> None:
    """What the arc player records (its documented shapes), through the real store."""
    live.store.append(
        live.record.id, kind, live.clock.now(), live.tz, round(live.elapsed(), 3), data
    )


def _rich(store: Store, clock: FakeClock) -> tuple[LiveSession, dict[str, int]]:
    """A session with every kind of entry the review shows; returns the seqs to look for."""
    live = _start(_service(store, clock))
    seqs: dict[str, int] = {}
    live.evaluate_checks()
    _music(live, "phase", name="settling", begins_t=0.0)
    _music(live, "track_started", title="Low Tide", path="/a.flac", phase="settling", position=0.0)
    live.add_vitals("120/80 70 98")
    live.add_observation("moaas", 5)
    clock.advance(8 * 60)
    note = live.add_note("q: the floor is holdin me")
    seqs["note"] = note.seq
    clock.advance(60)
    seqs["amendment"] = live.amend_note(note.seq, "the floor is holding me", ("quote",), "typo").seq
    _music(live, "track_ended", title="Low Tide", path="/a.flac", position=540.0)
    _music(live, "track_started", title="Glass", path="/b.flac", phase="settling", position=0.0)
    clock.advance(6 * 60)  # T+15
    live.evaluate_checks()
    _music(live, "phase", name="onset", begins_t=900.0)
    _vitals, alert = live.add_vitals("185/95 110 93 14")
    seqs["alert"] = alert.seq
    live.acknowledge_alert(alert.seq, "repeat in 5 min")
    live.add_observation("moaas", 3)
    live.add_observation("dissociation", 3)
    clock.suspend(120)
    live.tick()  # the laptop slept two minutes
    clock.advance(20 * 60)  # T+37: the 30-minute check is late
    live.evaluate_checks()
    seqs["skipped"] = live.skip_check(
        next(e.data["check"] for e in live.events() if e.kind == "check_late"), "client asleep"
    ).seq
    _music(live, "playback_fault", path="/b.flac", detail="early end")
    live.add_vitals("130/85 80 96")
    live.add_note("n: it was never mine to carry")
    clock.advance(40 * 60)
    live.end("ended early for the screenshot")
    return live, seqs


def test_the_review_holds_the_vitals_series_and_the_protocols_thresholds(
    file_store: Store, clock: FakeClock
) -> None:
    live, _ = _rich(file_store, clock)
    review = build_review(file_store, live.record.id)
    series = review.vitals
    assert len(series) == 3
    assert series.t == (0.0, 900.0, 2220.0)
    assert series.systolic == (120, 185, 130)
    assert series.diastolic == (80, 95, 85)
    assert series.heart_rate == (70, 110, 80)
    assert series.spo2 == (98, 93, 96)
    assert series.resp_rate == (None, 14, None)
    fields = {(b.field, b.low, b.high) for b in review.thresholds}
    assert ("systolic", 85, 180) in fields and ("diastolic", None, 120) in fields
    assert all(b.source for b in review.thresholds)
    assert review.end_t == pytest.approx(live.record.ended_t)


def test_music_bands_by_phase_and_by_track(file_store: Store, clock: FakeClock) -> None:
    live, _ = _rich(file_store, clock)
    review = build_review(file_store, live.record.id)
    assert [(b.label, b.start_t, b.end_t) for b in review.phases] == [
        ("settling", 0.0, 900.0),
        ("onset", 900.0, review.end_t),
    ]
    # The second track was cut short by a playback fault at T+37.
    assert [(b.label, b.start_t, b.end_t) for b in review.tracks] == [
        ("Low Tide", 0.0, 540.0),
        ("Glass", 540.0, 2220.0),
    ]


def test_markers_keep_their_seq_and_a_note_shows_its_amendment(
    file_store: Store, clock: FakeClock
) -> None:
    live, seqs = _rich(file_store, clock)
    review = build_review(file_store, live.record.id)
    lanes = {m.lane for m in review.markers}
    assert lanes == {"notes", "observations", "checks", "alerts", "faults", "music", "session"}
    note = next(m for m in review.markers if m.seq == seqs["note"])
    assert note.lane == "notes" and note.amended and note.label == "the floor is holding me"
    assert note.t == 480.0
    detail = review.detail(seqs["note"])
    assert detail is not None
    assert detail.event.data["text"] == "the floor is holdin me"  # the original stays
    assert detail.current_text == "the floor is holding me"
    assert [a.reason for a in detail.amendments] == ["typo"]
    # Selecting the amendment selects the note it corrects.
    assert review.marker_index(seqs["amendment"]) == review.marker_index(seqs["note"])
    alert = review.detail(seqs["alert"])
    assert alert is not None and [a.data["text"] for a in alert.acknowledgements] == [
        "repeat in 5 min"
    ]
    assert next(m.label for m in review.alerts()).startswith("Systolic")
    statuses = [m.status for m in review.markers if m.lane == "checks"]
    assert {"due", "late", "skipped"} <= set(statuses)
    faults = {m.kind for m in review.markers if m.lane == "faults"}
    assert faults == {"suspend", "playback_fault"}
    assert [(b.kind, b.end_t - b.start_t) for b in review.fault_bands] == [("suspend", 120.0)]
    assert [m.t for m in review.markers] == sorted(m.t for m in review.markers)


def test_search_finds_current_and_original_text_across_sessions(
    file_store: Store, clock: FakeClock
) -> None:
    first, seqs = _rich(file_store, clock)
    second = _start(_service(file_store, clock), client="C-040")
    clock.advance(300)
    other = second.add_note("The FLOOR felt like sand; ünïcode stays")
    second.end("test")

    hits = search_notes(file_store, "floor")
    assert [(h.session_id, h.seq) for h in hits] == [
        (second.record.id, other.seq),  # newest session first
        (first.record.id, seqs["note"]),
    ]
    assert hits[1].in_current and hits[1].t == 480.0
    assert hits[1].snippet == "the floor is holding me"
    # Only the original had the typo: found, and marked as an earlier version.
    (typo,) = search_notes(file_store, "HOLDIN ME")
    assert typo.seq == seqs["note"] and not typo.in_current
    assert search_notes(file_store, "ÜNÏCODE")[0].seq == other.seq
    assert [h.client_code for h in search_notes(file_store, "floor", client="C-031")] == ["C-031"]
    assert search_notes(file_store, "   ") == []
    assert search_notes(file_store, "nowhere") == []


def test_snippet_cuts_long_text_around_the_match() -> None:
    text = "word " * 100 + "needle" + " more" * 100
    cut = snippet(text, "NEEDLE", width=20)
    assert cut.startswith("…") and cut.endswith("…") and "needle" in cut
    assert len(cut) < 60


def test_course_lists_a_clients_sessions_with_their_figures(
    file_store: Store, clock: FakeClock
) -> None:
    first, _ = _rich(file_store, clock)
    file_store.append(
        first.record.id,
        "worksheet",
        clock.now(),
        TZ,
        None,
        {"answers": {"next_step": "walk each morning"}, "follow_up": [], "shared": []},
    )
    file_store.append(
        first.record.id,
        "worksheet",
        clock.now(),
        TZ,
        None,
        {"answers": {"next_step": "walk after breakfast"}, "follow_up": [], "shared": []},
    )
    clock.advance(7 * 86400)
    second = _start(_service(file_store, clock), mg=150.0)
    second.add_vitals("125/82 72 97")
    second.add_observation("dissociation", 1)
    second.end("test")
    _service(file_store, clock).plan(
        SessionPlan("C-031", "sublingual", "sublingual", 150.0, 75, "")
    )

    rows = course(file_store, "C-031")
    assert [r.number for r in rows] == [1, 2, 3]
    one, two, planned = rows
    assert (one.date, one.dose_mg, one.route, one.protocol) == (
        "2026-03-02",
        100.0,
        "sublingual",
        "sublingual",
    )
    assert (one.peak_systolic, one.peak_diastolic, one.peak_heart_rate) == (185, 95, 110)
    assert one.lowest_spo2 == 93
    assert one.deepest_moaas == 3 and one.max_dissociation == 3
    assert one.alerts == 1 and one.notes == 2
    assert one.next_step == "walk after breakfast"  # the current worksheet version
    assert (two.date, two.dose_mg, two.peak_systolic, two.deepest_moaas) == (
        "2026-03-09",
        150.0,
        125,
        None,
    )
    assert two.max_dissociation == 1 and two.next_step is None
    assert planned.state == "planned" and planned.peak_systolic is None
    assert course(file_store, "NOBODY") == []


def test_the_fast_reader_gives_exactly_what_the_store_gives(
    file_store: Store, clock: FakeClock
) -> None:
    from kapsession.integration.review import read_events

    live, _ = _rich(file_store, clock)
    assert read_events(file_store, live.record.id) == file_store.events(live.record.id)


def test_the_review_lists_every_entry_in_reading_order_as_the_store_has_it(
    file_store: Store, clock: FakeClock
) -> None:
    from kapsession.integration.review import entry_order

    live, seqs = _rich(file_store, clock)
    file_store.append(
        live.record.id, "worksheet", clock.now(), TZ, None, {"answers": {}, "follow_up": []}
    )
    review = build_review(file_store, live.record.id)
    expected = entry_order(file_store.events(live.record.id))
    assert expected[-1].kind == "worksheet"  # after the end: no time since the dose, read last
    # The columns come from the one light read, the whole entries from the store when asked.
    assert review.events.seqs == tuple(e.seq for e in expected)
    assert review.events.kinds == tuple(e.kind for e in expected)
    assert review.events.ts == tuple(e.t for e in expected)
    assert review.events[len(expected) - 1] == expected[-1]
    assert list(review.events) == expected
    assert review.event(seqs["note"]) == next(e for e in expected if e.seq == seqs["note"])
    assert review.event(10**9) is None
    # The markers as columns agree with the markers as objects.
    markers = review.markers
    assert list(markers.seqs) == [m.seq for m in markers]
    assert markers.index_of(seqs["alert"]) == review.marker_index(seqs["alert"])
    assert markers.first_after(markers.t[0]) == next(
        i for i, t in enumerate(markers.t) if t > markers.t[0]
    )
    assert markers.last_until(-1.0) is None and markers.first_after(markers.t[-1]) is None
    assert sum(len(at) for at in markers.classes.values()) == len(markers)


def test_a_long_sessions_entries_are_read_a_screenful_at_a_time(
    file_store: Store, clock: FakeClock
) -> None:
    from bench.review_data import big_session
    from kapsession.integration.review import entry_order
    from kapsession.integration.review_entries import READ_AHEAD, READ_BEHIND

    session_id = big_session(file_store, clock, entries=2000)
    statements: list[str] = []
    file_store.db.conn.set_trace_callback(statements.append)
    try:
        review = build_review(file_store, session_id)
        opened = len(statements)
        assert not any("seq IN" in s for s in statements)  # no whole entry read yet
        notes = [i for i, kind in enumerate(review.events.kinds) if kind == "note"]
        row = notes[len(notes) // 2]
        event = review.events[row]  # what the list asks for a row on screen
        assert event.kind == "note" and event.data["text"]
        assert len(statements) == opened + 1
        (read,) = [s for s in statements if "seq IN" in s]
        assert READ_AHEAD <= read.split("IN (")[1].count(",") + 1 <= READ_BEHIND + READ_AHEAD
        for i in range(row - READ_BEHIND, row + READ_AHEAD):  # the rows around it: read already
            review.events[i]
        assert len(statements) == opened + 1
        label = review.markers[review.markers.index_of(event.seq) or 0].label
        assert label == " ".join(str(event.data["text"]).split())[:200]
    finally:
        file_store.db.conn.set_trace_callback(None)
    # Going through all of them reads the rest in one go, each entry as the store has it.
    assert list(review.events) == entry_order(file_store.events(session_id))
