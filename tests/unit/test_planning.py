"""The home screen's decisions around the dose, without Qt: what a session in the list allows,
the arc a protocol brings, and the questions asked before the dose."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kapsession.integration.planning import (
    arc_for_protocol,
    can_give_dose,
    dose_question,
    latest_given,
    music_question,
    session_actions,
)
from kapsession.music.arc import available_arcs
from kapsession.music.cue import PLAYLISTS
from kapsession.music.preflight import summarize
from kapsession.music.probe import MediaProbe
from kapsession.storage.store import SessionRecord

PLANNED = SessionRecord(
    id=1,
    client_id=1,
    client_code="C-014",
    protocol="sublingual",
    route="sublingual",
    dose_mg=200.0,
    planned_minutes=75,
    intention="",
    rehearsal=False,
    time_scale=1.0,
    clock_origin=None,
    state="planned",
    created_at="2026-12-01T09:00:00+00:00",
    dose_at=None,
    dose_tz=None,
    anchor=None,
    ended_at=None,
    ended_t=None,
)
RUNNING = replace(PLANNED, id=2, state="running")
ENDED = replace(PLANNED, id=3, state="ended")


def test_only_a_planned_session_is_given_its_dose_from_the_list() -> None:
    assert can_give_dose(PLANNED)
    assert not can_give_dose(RUNNING) and not can_give_dose(ENDED) and not can_give_dose(None)


def test_the_newest_session_given_its_dose_is_the_one_review_and_course_fall_back_to() -> None:
    assert latest_given([ENDED, RUNNING, PLANNED]) == RUNNING
    assert latest_given([PLANNED]) is None
    assert latest_given([]) is None


@pytest.mark.parametrize(
    ("selected", "newest", "expected"),
    [
        # give_dose, prepare, worksheet, export, review, course
        (PLANNED, None, (True, True, False, True, False, True)),
        (RUNNING, None, (False, False, True, True, True, True)),
        (ENDED, None, (False, False, True, True, True, True)),
        (None, ENDED, (False, False, False, False, True, True)),
        (None, None, (False, False, False, False, False, False)),
        (PLANNED, ENDED, (True, True, False, True, False, True)),  # the selection decides
    ],
)
def test_what_each_session_state_allows(
    selected: SessionRecord | None, newest: SessionRecord | None, expected: tuple[bool, ...]
) -> None:
    actions = session_actions(selected, newest)
    got = (
        actions.give_dose,
        actions.prepare,
        actions.worksheet,
        actions.export,
        actions.review,
        actions.course,
    )
    assert got == expected


def test_a_protocol_brings_the_arc_for_its_route_nearest_its_length() -> None:
    arcs, errors = available_arcs([PLAYLISTS])
    assert errors == []
    assert arc_for_protocol(arcs.values(), "sublingual", 75) == arcs["lozenge-75"]
    assert arc_for_protocol(arcs.values(), "intramuscular", 120) == arcs["im-45"]
    assert arc_for_protocol(arcs.values(), "intravenous", 60) is None


def test_the_dose_question_names_what_the_preparation_left_open_and_how_to_complete_it() -> None:
    plain = dose_question("C-014", 200.0, "sublingual", [], planned=True)
    assert plain == (
        "Start the dose clock for C-014: 200 mg sublingual, given now?\n\n"
        "Press this at the moment the medicine is given."
    )
    open_items = ["consent not signed", "no prescriber named"]
    from_list = dose_question("C-014", 62.5, "intramuscular", open_items, planned=True)
    assert "62.5 mg intramuscular" in from_list
    assert (
        "Unmet before the dose: consent not signed; no prescriber named. "
        "Choose Not now, then Prepare… (Alt+P), to complete it.\n\n" in from_list
    )
    from_form = dose_question("C-014", 62.5, "intramuscular", open_items, planned=False)
    assert "To prepare first, choose Not now, plan the session, then Prepare… (Alt+P)." in from_form


def test_music_that_would_not_play_asks_before_the_dose_and_good_music_does_not() -> None:
    ok = MediaProbe(Path("/a.ogg"), "ok", 600.0, "")
    missing = MediaProbe(Path("/not-there.ogg"), "missing", None, "no such file")
    assert music_question(None) is None
    assert music_question(summarize([ok], 10)) is None
    question = music_question(summarize([ok, missing], 10))
    assert question is not None
    assert question.startswith("1 of 2 tracks would not play: not-there.ogg")
    assert question.endswith(
        "Give the dose anyway? The session, its clock and its checks do not depend on the music."
    )
