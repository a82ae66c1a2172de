"""The client's view of the music (issue 17): three 0-10 ratings checked whole in the core, kept
in the worksheet entry (the kind an ended session still takes), said one way everywhere, shown
per session and per arc in the course, and carried by every export."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry, StateError
from kapsession.exports import session_export, signing
from kapsession.integration.review import course, music_by_arc
from kapsession.integration.worksheet import (
    Worksheet,
    current_worksheet,
    save_music_rating,
    save_worksheet,
    worksheet_history,
)
from kapsession.music.rating import MusicRating, rating_line, validate_rating
from kapsession.session.entry_text import describe, music_rating_line
from kapsession.session.live import SessionService
from kapsession.storage import clinicians
from kapsession.storage.store import Store

from .conftest import AUTHOR, TZ, PlanFactory

REPO = Path(__file__).resolve().parents[2]
IM45 = str(REPO / "playlists" / "im-45.arc.toml")
LOZENGE = str(REPO / "playlists" / "lozenge-75.arc.toml")
IM45_NAME = "Intramuscular, 45 minutes (demo audio)"


def _ended(service: SessionService, clock: FakeClock, make_plan: PlanFactory, arc: str) -> int:
    live = service.give_dose(service.plan(make_plan(arc=arc)).id)
    clock.advance(600)
    live.end("test session")
    clock.advance(600)
    return live.record.id


def _rate(store: Store, sid: int, clock: FakeClock, **values: object):
    return save_music_rating(store, sid, values, clock.now(), TZ, AUTHOR)


# --- validation ---------------------------------------------------------------------------------


def test_whole_numbers_from_0_to_10_and_typed_digits_are_accepted():
    assert validate_rating({"liking": 0, "resonance": "10", "openness": 6.0}) == MusicRating(
        0, 10, 6
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"liking": 11, "resonance": 5, "openness": 5}, "Liking: 11 is outside 0 to 10."),
        ({"liking": 5, "resonance": -1, "openness": 5}, "Resonance: -1 is outside 0 to 10."),
        ({"liking": 5, "resonance": 5, "openness": 7.5}, "Openness: give a whole number"),
        ({"liking": 5, "resonance": "x", "openness": 5}, "Resonance: 'x' is not a whole number"),
        ({"liking": "", "resonance": 5, "openness": 5}, "Liking: give a whole number"),
        ({"liking": "²", "resonance": 5, "openness": 5}, "Liking: '²' is not a whole number"),
        ({"liking": True, "resonance": 5, "openness": 5}, "Liking: give a whole number"),
        ({"liking": 5, "resonance": 5}, "Openness: give a whole number"),
        ({"liking": 5, "resonance": 5, "openness": 5, "mood": 3}, "Unknown music rating: 'mood'"),
        (
            {"liking": 5, "resonance": 5, "openness": 5, "arc_name": "a\nb"},
            "Arc name must be one line",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_its_field_and_nothing_is_stored(
    service: SessionService,
    store: Store,
    clock: FakeClock,
    make_plan: PlanFactory,
    values: dict[str, object],
    message: str,
):
    sid = _ended(service, clock, make_plan, IM45)
    save_worksheet(store, sid, Worksheet(answers={"insight": "kept"}), clock.now(), TZ, AUTHOR)
    before = store.events(sid)
    with pytest.raises(InvalidEntry) as err:
        _rate(store, sid, clock, **values)
    assert str(err.value).startswith(message)
    assert store.events(sid) == before, "never stored half-valid"


# --- storage ------------------------------------------------------------------------------------


def test_ratings_go_into_a_new_worksheet_version_that_keeps_the_answers_and_names_the_arc(
    file_service: SessionService, file_store: Store, clock: FakeClock, make_plan: PlanFactory
):
    sid = _ended(file_service, clock, make_plan, IM45)
    first = save_worksheet(
        file_store, sid, Worksheet(answers={"insight": "the sea"}), clock.now(), TZ, AUTHOR
    )
    clock.advance(60)
    event = _rate(file_store, sid, clock, liking=7, resonance="8", openness=6)

    assert event.kind == "worksheet" and event.amends == first.seq and event.t is None
    assert event.data["music_rating"] == {
        "liking": 7,
        "resonance": 8,
        "openness": 6,
        "arc_id": "im-45",
        "arc_name": IM45_NAME,
    }
    ws = current_worksheet(file_store, sid)
    assert ws is not None and ws[0].answer("insight") == "the sea"
    assert ws[0].music == MusicRating(7, 8, 6, "im-45", IM45_NAME)
    # The worksheet saved again without touching the ratings keeps them.
    clock.advance(60)
    save_worksheet(file_store, sid, ws[0], clock.now(), TZ, AUTHOR)
    assert worksheet_history(file_store, sid)[-1][0].music == ws[0].music


def test_a_session_without_a_saved_worksheet_gets_one_holding_only_the_ratings(
    service: SessionService, store: Store, clock: FakeClock, make_plan: PlanFactory
):
    sid = _ended(service, clock, make_plan, "/nowhere/gone-arc.arc.toml")
    _rate(store, sid, clock, liking=3, resonance=4, openness=5)
    ws = current_worksheet(store, sid)
    assert ws is not None and not ws[0].has_answers()
    # The arc file is gone: the rating still names it, by the file's stem.
    assert ws[0].music == MusicRating(3, 4, 5, "gone-arc.arc", "")


def test_a_planned_session_and_a_signed_one_refuse_the_ratings_saying_why(
    file_store: Store, clock: FakeClock, make_plan: PlanFactory
):
    clinicians.charting_as(
        file_store, clinicians.add(file_store, "A. Rivera", "therapist", "", "1234", clock.now())
    )
    service = SessionService(file_store, clock, TZ, "A. Rivera")
    planned = service.plan(make_plan(arc=IM45))
    with pytest.raises(StateError, match="give the dose first"):
        _rate(file_store, planned.id, clock, liking=1, resonance=1, openness=1)
    sid = _ended(service, clock, make_plan, IM45)
    signing.sign(file_store, sid, "A. Rivera", "1234", clock, TZ)
    before = file_store.events(sid)
    with pytest.raises(StateError) as err:
        _rate(file_store, sid, clock, liking=1, resonance=1, openness=1)
    assert "signed" in str(err.value) and "music ratings" in str(err.value)
    assert file_store.events(sid) == before


# --- words --------------------------------------------------------------------------------------


def test_one_wording_for_the_ratings_wherever_an_entry_is_said():
    data = {
        "answers": {},
        "music_rating": {
            "liking": 7,
            "resonance": 8,
            "openness": 6,
            "arc_id": "im-45",
            "arc_name": "Gentle",
        },
    }
    line = "Music: liking 7, resonance 8, openness 6 (arc Gentle)"
    assert music_rating_line(data) == line
    assert describe("worksheet", data, style="review") == f"Integration worksheet saved · {line}"
    assert describe("worksheet", {"answers": {}}, style="review") == "Integration worksheet saved"
    assert rating_line(MusicRating(0, 10, 5)) == "Music: liking 0, resonance 10, openness 5"
    # A damaged stored rating is not said at all rather than said wrong.
    assert music_rating_line({"music_rating": {"liking": 70}}) == ""


# --- the course ---------------------------------------------------------------------------------


def test_the_course_shows_each_session_s_ratings_and_each_arc_s_means(
    service: SessionService, store: Store, clock: FakeClock, make_plan: PlanFactory
):
    sessions = [
        (IM45, (6, 8, 7)),
        (LOZENGE, (3, 2, 4)),
        (IM45, (9, 5, 8)),
        (IM45, None),  # not asked: not in the means
    ]
    for arc, values in sessions:
        sid = _ended(service, clock, make_plan, arc)
        if values is not None:
            liking, resonance, openness = values
            _rate(store, sid, clock, liking=liking, resonance=resonance, openness=openness)
        clock.advance(timedelta(days=14).total_seconds())

    rows = course(store, "C-017")
    assert [None if r.music is None else r.music.liking for r in rows] == [6, 3, 9, None]
    arcs = music_by_arc(rows)
    assert [(a.arc, a.sessions, dict(a.means)) for a in arcs] == [
        (IM45_NAME, (1, 3), {"liking": 7.5, "resonance": 6.5, "openness": 7.5}),
        (
            "Sublingual lozenge, 75 minutes (demo audio)",
            (2,),
            {"liking": 3.0, "resonance": 2.0, "openness": 4.0},
        ),
    ]


# --- exports ------------------------------------------------------------------------------------


@pytest.fixture
def rated_doc(
    file_service: SessionService, file_store: Store, clock: FakeClock, make_plan: PlanFactory
) -> dict[str, object]:
    sid = _ended(file_service, clock, make_plan, IM45)
    save_worksheet(
        file_store, sid, Worksheet(answers={"insight": "warmth"}), clock.now(), TZ, AUTHOR
    )
    clock.advance(60)
    _rate(file_store, sid, clock, liking=7, resonance=8, openness=6)
    return session_export.timeline(file_store, sid, clock.now())


LINE = f"Music: liking 7, resonance 8, openness 6 (arc {IM45_NAME})"


def test_the_json_timeline_carries_the_ratings_as_part_of_the_worksheet_entry(
    rated_doc: dict[str, object],
):
    assert rated_doc["format"] == "kapsession.timeline/1"
    events = rated_doc["events"]
    assert isinstance(events, list)
    ws = [e for e in events if e["kind"] == "worksheet"]
    # The first version, without ratings, has no such key; the fields it had are unchanged.
    assert "music_rating" not in ws[0]
    assert set(ws[0]) <= set(ws[1])
    assert ws[1]["music_rating"]["liking"] == 7 and ws[1]["answers"]["insight"] == "warmth"
    json.dumps(rated_doc)


def test_markdown_and_pdf_summaries_have_the_music_line(
    rated_doc: dict[str, object], tmp_path: Path
):
    md = session_export.render(rated_doc, "md").decode("utf-8")
    assert LINE in md
    pdf = session_export.render(rated_doc, "pdf")
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    try:
        text = subprocess.run(
            ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    except FileNotFoundError:
        pytest.skip("pdftotext is not installed")
    assert LINE in " ".join(text.split())


def test_the_fhir_bundle_has_a_validated_observation_with_the_three_components(
    rated_doc: dict[str, object],
):
    bundle = json.loads(session_export.render(rated_doc, "fhir", validate=True))
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    music = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and "music" in e["resource"]["code"].get("text", "")
    ]
    assert len(music) == 1
    obs = music[0]
    assert obs["category"][0]["coding"][0]["code"] == "survey"
    assert [(c["code"]["text"].split(":")[0], c["valueInteger"]) for c in obs["component"]] == [
        ("Liking", 7),
        ("Resonance", 8),
        ("Openness", 6),
    ]
    assert obs["note"] == [{"text": f"Music arc: {IM45_NAME}"}]


def test_no_ratings_no_music_line_and_no_observation(
    file_service: SessionService, file_store: Store, clock: FakeClock, make_plan: PlanFactory
):
    sid = _ended(file_service, clock, make_plan, IM45)
    save_worksheet(file_store, sid, Worksheet(answers={"insight": "x"}), clock.now(), TZ, AUTHOR)
    doc = session_export.timeline(file_store, sid, clock.now())
    assert "Music: liking" not in session_export.render(doc, "md").decode("utf-8")
    bundle = json.loads(session_export.render(doc, "fhir", validate=True))
    assert not [
        e for e in bundle["entry"] if "music" in str(e["resource"].get("code", {}).get("text"))
    ]
