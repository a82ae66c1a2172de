"""The review screen's decisions on a synthetic session: where its keys land (the next and
previous marker, zoom, reveal and whole-session ranges, the first search hit, the reading
nearest a click) and what its side panel says (review_navigation.py, review_detail.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kapsession.integration.review import NoteHit, Review, review_from_events
from kapsession.integration.review_detail import DetailPart, detail_parts, lane_counts
from kapsession.integration.review_navigation import (
    MIN_HALF_SPAN,
    XRange,
    around,
    first_hit,
    minutes_of,
    nearest_reading,
    pan_limits,
    results_heading,
    revealed,
    step_marker,
    whole_session,
    zoomed,
)
from kapsession.storage.store import Event, SessionRecord

AT = "2026-12-01T10:00:00+00:00"


def _event(
    seq: int,
    kind: str,
    t: float | None,
    amends: int | None = None,
    reason: str | None = None,
    **data: Any,
) -> Event:
    return Event(
        seq=seq, session_id=1, kind=kind, at=AT, tz="UTC", t=t, amends=amends, reason=reason,
        data=data,
    )  # fmt: skip


def _review(events: list[Event]) -> Review:
    record = SessionRecord(
        id=1, client_id=1, client_code="C-1", protocol="sublingual-60", route="sublingual",
        dose_mg=100, planned_minutes=60, intention="", rehearsal=False, time_scale=1.0,
        clock_origin=None, state="ended", created_at=AT, dose_at=AT, dose_tz="UTC",
        anchor=None, ended_at=AT, ended_t=3600.0,
    )  # fmt: skip
    return review_from_events(record, events)


@pytest.fixture
def review() -> Review:
    return _review(
        [
            _event(1, "note", 60.0, text="first", tags=[]),
            _event(2, "vitals", 200.0, systolic=120, diastolic=80, heart_rate=70, spo2=98),
            _event(3, "note", 300.0, text="second", tags=[]),
            _event(4, "note", 900.0, text="third", tags=[]),
        ]
    )


def _notes(review: Review) -> list[int]:
    return [i for i, m in enumerate(review.markers) if m.kind == "note"]


def test_next_and_previous_move_one_marker_and_stop_at_the_ends(review: Review) -> None:
    last = len(review.markers) - 1
    assert step_marker(review, None, None, 1) == 0
    assert step_marker(review, None, None, -1) == last
    assert step_marker(review, 0, 1, 1) == 1
    assert step_marker(review, 0, 1, -1) == 0
    assert step_marker(review, last, None, 1) == last


def test_from_a_reading_without_a_marker_the_keys_go_to_the_markers_either_side(
    review: Review,
) -> None:
    first, second, _third = _notes(review)
    assert review.marker_index(2) is None  # vitals are drawn as lines, not markers
    assert step_marker(review, None, 2, 1) == second
    assert step_marker(review, None, 2, -1) == first


def test_a_session_without_markers_has_nowhere_to_step() -> None:
    empty = _review([_event(1, "vitals", 60.0, systolic=120, diastolic=80)])
    assert empty.markers == ()
    assert step_marker(empty, None, None, 1) is None


def test_zoom_keeps_the_centre_and_never_narrows_below_a_minute() -> None:
    view = XRange(0.0, 60.0)
    assert zoomed(view, 0.5) == XRange(15.0, 45.0)
    assert zoomed(view, 2.0, centre=10.0) == XRange(-50.0, 70.0)
    narrow = zoomed(XRange(10.0, 10.2), 0.5)
    assert narrow.hi - narrow.lo == 2 * MIN_HALF_SPAN and narrow.centre == pytest.approx(10.1)


def test_a_selection_out_of_sight_is_brought_to_the_middle(review: Review) -> None:
    view = XRange(0.0, 10.0)
    assert revealed(view, 5.0) is None
    assert revealed(view, 15.0) == XRange(10.0, 20.0)
    assert minutes_of(review, 4) == 15.0 and minutes_of(review, None) is None
    assert around(15.0) == XRange(5.0, 25.0)


def test_the_whole_session_and_how_far_it_pans(review: Review) -> None:
    whole = whole_session(review)
    assert whole.lo == review.start_t / 60 - 1 and whole.hi == review.end_t / 60 + 1
    limits = pan_limits(review)
    assert limits.lo == review.start_t / 60 - 5 and limits.hi == review.end_t / 60 + 5


def _hit(session_id: int, seq: int) -> NoteHit:
    return NoteHit(session_id, "C-1", seq, 60.0, "…", True)


def test_search_opens_the_first_hit_in_the_session_on_screen_else_the_newest() -> None:
    hits = [_hit(3, 10), _hit(2, 4), _hit(2, 8), _hit(1, 2)]
    assert first_hit(hits, 2) == 1
    assert first_hit(hits, 9) == 0
    assert first_hit(hits, None) == 0


def test_the_results_heading_counts_the_notes_or_says_none_was_found() -> None:
    assert results_heading(" river ", 0) == "No note contains “river”."
    assert results_heading("river", 1).startswith("1 note in all sessions")
    assert results_heading("river", 3).startswith("3 notes in all sessions")


def test_the_intro_counts_markers_per_lane_without_the_session_itself(review: Review) -> None:
    counts = lane_counts(review)
    assert counts["notes"] == 3 and "session" not in counts


def test_a_click_on_a_line_picks_the_nearest_reading() -> None:
    review = _review(
        [
            _event(1, "vitals", 60.0, systolic=120, diastolic=80),
            _event(2, "vitals", 180.0, systolic=130, diastolic=85),
        ]
    )
    assert nearest_reading(review, 0.0) == 1
    assert nearest_reading(review, 2.0) == 1  # as near to both: the earlier
    assert nearest_reading(review, 2.1) == 2
    assert nearest_reading(_review([_event(1, "note", 60.0, text="n", tags=[])]), 1.0) is None


def test_an_amended_note_says_its_current_tags_and_text_then_the_original_and_each_amendment() -> (
    None
):
    review = _review(
        [
            _event(1, "note", 60.0, text="as first written", tags=["body"]),
            _event(2, "amendment", 90.0, amends=1, reason="typo", text="as meant", tags=["quote"]),
        ]
    )
    said = detail_parts(review, 2)  # the amendment shows the note it amends
    assert said is not None
    event, parts = said
    assert event.seq == 1
    assert [(p.role, p.text) for p in parts] == [
        ("tags", "quote"),
        ("text", "as meant"),
        ("original", "as first written"),
        ("amendment", "as meant"),
    ]
    assert parts[-1].event is not None and parts[-1].event.reason == "typo"
    assert parts[-1].number == 1
    plain = detail_parts(_review([_event(1, "note", 60.0, text="n", tags=[])]), 1)
    assert plain is not None and plain[1] == (DetailPart("text", "n"),)


def test_an_alert_says_its_threshold_and_whether_anyone_acknowledged_it() -> None:
    alert = _event(1, "alert", 60.0, source="OpenMRS critical range", field="systolic")
    said = detail_parts(_review([alert]), 1)
    assert said is not None
    assert [p.role for p in said[1]] == ["line", "threshold", "unacknowledged"]
    ack = _event(2, "alert_ack", 120.0, alert=1, text="rechecked: 150/90")
    said = detail_parts(_review([alert, ack]), 1)
    assert said is not None
    roles = [(p.role, p.text) for p in said[1]]
    assert roles[-1] == ("acknowledged", "rechecked: 150/90")
    assert ("unacknowledged", "") not in roles
    assert detail_parts(_review([alert]), 99) is None
