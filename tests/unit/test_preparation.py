"""Preparation: versions on the record, the plan's intention kept in step, readiness, validation."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kapsession.clock import FakeClock
from kapsession.errors import InvalidEntry, StateError
from kapsession.exports.timeline_json import timeline
from kapsession.integration.preparation import (
    GROUNDING,
    Preparation,
    Screening,
    Setting,
    current_preparation,
    preparation_history,
    readiness,
    save_preparation,
    session_readiness,
    shown_intention,
)
from kapsession.session.live import SessionService
from kapsession.storage.store import Store, connect

from .conftest import AUTHOR, TZ, PlanFactory

FULL = Preparation(
    intention="To meet the grief without closing up.",
    hopes="Some softness towards myself.",
    patterns="Holding my breath when I'm scared.",
    concerns="Will I feel sick?\nWhat if I cry?",
    screening=Screening(
        medical_oversight=True,
        prescriber="Dr. Example (synthetic)",
        contraindications_confirmed=True,
        consent_signed=True,
        ride_home=True,
        fasting=True,
    ),
    setting=Setting(
        room_ready=True, eyeshades=True, headphones=True, music_preferences="No vocals; piano ok"
    ),
    grounding_done=True,
)


def save(store: Store, session_id: int, prep: Preparation, clock: FakeClock, **kw: object):
    return save_preparation(store, session_id, prep, clock.now(), TZ, AUTHOR, **kw)  # type: ignore[arg-type]


def test_a_saved_preparation_is_on_the_file_and_the_plan_follows_its_intention(
    file_service: SessionService, file_store: Store, clock: FakeClock, make_plan: PlanFactory
):
    record = file_service.plan(make_plan(intention="first words"))

    event = save(file_store, record.id, FULL, clock)

    assert event.kind == "preparation" and event.t is None and event.amends is None
    assert event.author == AUTHOR and event.tz == TZ
    # Another connection sees exactly the documented entry.
    path = file_store.db.execute("PRAGMA database_list").fetchone()[2]
    other = Store(connect(path))
    try:
        prep, stored = current_preparation(other, record.id) or (None, None)
    finally:
        other.close()
    assert prep == FULL and stored is not None and stored.seq == event.seq
    assert file_store.session(record.id).intention == FULL.intention
    assert shown_intention(file_store, file_store.session(record.id)) == FULL.intention
    assert set(event.data) == {
        "intention",
        "hopes",
        "patterns",
        "concerns",
        "screening",
        "setting",
        "grounding_done",
    }
    assert set(event.data["screening"]) == {
        "medical_oversight",
        "prescriber",
        "contraindications_confirmed",
        "consent_signed",
        "ride_home",
        "fasting",
    }
    assert set(event.data["setting"]) == {
        "room_ready",
        "eyeshades",
        "headphones",
        "music_preferences",
    }


def test_each_save_is_a_new_version_amending_the_one_before(
    service: SessionService, store: Store, clock: FakeClock, make_plan: PlanFactory
):
    record = service.plan(make_plan())
    first = save(store, record.id, Preparation(intention="one"), clock)
    clock.advance(60)
    second = save(store, record.id, Preparation(intention="two", hopes="rest"), clock)
    clock.advance(60)
    third = save(store, record.id, replace(FULL, intention="three"), clock)

    history = preparation_history(store, record.id)
    assert [p.intention for p, _ in history] == ["one", "two", "three"]
    assert [e.amends for _, e in history] == [None, first.seq, second.seq]
    assert [e.at for _, e in history] == [first.at, second.at, third.at]
    assert current_preparation(store, record.id) == (history[-1][0], third)
    assert store.session(record.id).intention == "three"


def test_after_the_dose_the_plan_stays_as_given_and_the_live_screen_shows_the_new_intention(
    service: SessionService, store: Store, clock: FakeClock, make_plan: PlanFactory
):
    record = service.plan(make_plan(intention="planned words"))
    save(store, record.id, Preparation(intention="prepared words"), clock)
    live = service.give_dose(record.id)
    clock.advance(90)

    event = save(store, record.id, Preparation(intention="said at the dose"), clock, t=90.0)

    assert event.t == 90.0
    after = store.session(record.id)
    assert after.intention == "prepared words", "the plan is part of the record once dosed"
    assert shown_intention(store, after) == "said at the dose"
    # The JSON export carries the entry with its data flattened.
    doc = timeline(store, record.id, clock.now())
    preps = [e for e in doc["events"] if e["kind"] == "preparation"]
    assert [p["intention"] for p in preps] == ["prepared words", "said at the dose"]
    assert preps[1]["amends"] == preps[0]["seq"] and preps[1]["t"] == 90.0
    live.end(reason="test over")
    with pytest.raises(StateError, match="ended"):
        save(store, record.id, FULL, clock)


def test_without_a_preparation_the_plans_intention_is_shown(
    service: SessionService, store: Store, make_plan: PlanFactory, clock: FakeClock
):
    record = service.plan(make_plan(intention="from the plan"))
    assert shown_intention(store, record) == "from the plan"
    service.give_dose(record.id)
    save(store, record.id, Preparation(hopes="only hopes"), clock, t=5.0)
    assert shown_intention(store, store.session(record.id)) == "from the plan"


def test_readiness_lists_what_screening_leaves_open(
    service: SessionService, store: Store, make_plan: PlanFactory, clock: FakeClock
):
    record = service.plan(make_plan())
    assert session_readiness(store, record.id) == [
        "no preparation recorded (screening and consent unconfirmed)"
    ]
    partial = Preparation(screening=Screening(medical_oversight=True, consent_signed=True))
    save(store, record.id, partial, clock)
    assert session_readiness(store, record.id) == [
        "no prescriber named",
        "contraindications not confirmed",
        "no ride home arranged",
        "fasting not confirmed",
    ]
    assert readiness(FULL) == []
    assert readiness(Preparation())[0] == "medical oversight not confirmed"


@pytest.mark.parametrize(
    ("prep", "message"),
    [
        (Preparation(intention="x" * 10_001), "Intention can be at most 10,000 characters."),
        (Preparation(hopes="a\x00b"), "Hopes contains control characters."),
        (Preparation(patterns="\x1b[31m"), "Patterns to shift contains control characters."),
        (Preparation(concerns="\ud800"), "Concerns and questions contains broken characters"),
        (
            Preparation(screening=Screening(prescriber="Dr.\nX")),
            "Prescriber must be one line without control characters.",
        ),
        (
            Preparation(screening=Screening(prescriber="P" * 121)),
            "Prescriber can be at most 120 characters.",
        ),
        (
            Preparation(setting=Setting(music_preferences="m" * 2001)),
            "Music preferences can be at most 2,000 characters.",
        ),
        (
            Preparation(screening=Screening(ride_home="yes")),  # type: ignore[arg-type]
            "Ride home arranged must be ticked or not",
        ),
        (Preparation(intention=None), "Intention must be text."),  # type: ignore[arg-type]
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    service: SessionService,
    store: Store,
    make_plan: PlanFactory,
    clock: FakeClock,
    prep: Preparation,
    message: str,
):
    record = service.plan(make_plan(intention="kept"))
    with pytest.raises(InvalidEntry) as err:
        save(store, record.id, prep, clock)
    assert str(err.value).startswith(message)
    assert preparation_history(store, record.id) == []
    assert store.session(record.id).intention == "kept"


def test_a_session_that_does_not_exist_is_refused(store: Store, clock: FakeClock):
    with pytest.raises(StateError, match="no session 99"):
        save(store, 99, FULL, clock)


def test_a_failed_intention_update_leaves_no_preparation_behind(
    service: SessionService,
    store: Store,
    make_plan: PlanFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
):
    record = service.plan(make_plan(intention="kept"))

    def full(*_a: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "set_planned_intention", full)
    with pytest.raises(sqlite3.OperationalError):
        save(store, record.id, FULL, clock)
    monkeypatch.undo()
    assert preparation_history(store, record.id) == []
    assert store.session(record.id).intention == "kept"


def test_the_grounding_exercises_are_short_scripts_to_read_aloud():
    assert {g.key for g in GROUNDING} >= {"senses", "breath"}
    for exercise in GROUNDING:
        assert exercise.title and exercise.when
        assert 3 <= len(exercise.steps) <= 8
        assert all(20 <= len(step) <= 240 for step in exercise.steps)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(intention=st.text(max_size=80), hopes=st.text(max_size=80), prescriber=st.text(max_size=40))
@example(intention="🧘‍♀️ 平静 <b>&amp;</b> ' \" \\", hopes="\t\n", prescriber="Dr. Ünïcødé")
@example(intention="\r", hopes="", prescriber="")
def test_any_text_is_saved_intact_or_refused_cleanly(
    service: SessionService,
    store: Store,
    make_plan: PlanFactory,
    clock: FakeClock,
    intention: str,
    hopes: str,
    prescriber: str,
):
    record = service.plan(make_plan(intention=""))
    prep = Preparation(intention=intention, hopes=hopes, screening=Screening(prescriber=prescriber))
    try:
        save(store, record.id, prep, clock)
    except InvalidEntry as exc:
        assert str(exc).endswith(".") and len(str(exc)) < 120
        assert preparation_history(store, record.id) == []
        return
    (saved, _event) = current_preparation(store, record.id) or (None, None)
    assert saved is not None
    assert saved.intention == intention.strip()
    assert saved.hopes == hopes.strip()
    assert saved.screening.prescriber == prescriber.strip()
    assert store.session(record.id).intention == intention.strip()
