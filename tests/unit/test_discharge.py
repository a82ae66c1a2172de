"""Discharge readiness: the modified Aldrete items and their edges (20 %, 49 %, 50 % from the
baseline; SpO2 92 and 90), the pass mark, and what stops a session from ending as complete."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapsession.errors import InvalidEntry
from kapsession.monitoring.discharge import (
    ITEM_IDS,
    ITEMS,
    PASS_MARK,
    DischargeAssessment,
    assess,
    can_end_complete,
    circulation_score,
    spo2_score,
    validate_discharge,
)

ALL_TWO = dict.fromkeys(ITEM_IDS, 2)

# --- the items ------------------------------------------------------------------------------


def test_five_items_scored_2_1_0() -> None:
    assert ITEM_IDS == ("activity", "respiration", "circulation", "consciousness", "spo2")
    for item in ITEMS:
        assert [score for score, _ in item.options] == [2, 1, 0]
    labels = {i.id: [label for _, label in i.options] for i in ITEMS}
    assert labels["activity"] == ["Moves all four limbs", "Moves two limbs", "Moves no limbs"]
    assert labels["consciousness"] == ["Fully awake", "Arousable on calling", "Not responding"]
    assert labels["respiration"][2] == "Apnoeic"


# --- circulation: systolic against the baseline ---------------------------------------------


@pytest.mark.parametrize(
    ("current", "baseline", "score"),
    [
        (120, 120, 2),
        (144, 120, 2),  # exactly +20 %: still within ±20 %
        (96, 120, 2),  # exactly −20 %
        (145, 120, 1),  # just over 20 %
        (95, 120, 1),
        (149, 100, 1),  # exactly +49 %
        (51, 100, 1),  # exactly −49 %
        (101, 200, 1),  # −49.5 %
        (149.99, 100, 1),
        (150, 100, 0),  # exactly +50 %
        (50, 100, 0),  # exactly −50 %
        (100, 200, 0),
        (250, 100, 0),
        (0, 100, 0),
        (120.0, 100.0, 2),  # floats from a form
        (120.000001, 100.0, 1),
    ],
)
def test_circulation_edges(current: float, baseline: float, score: int) -> None:
    assert circulation_score(current, baseline) == score


@pytest.mark.parametrize(
    ("current", "baseline", "message"),
    [
        (math.nan, 120, "current systolic must be a number"),
        (120, math.inf, "baseline systolic must be a number"),
        (True, 120, "current systolic must be a number"),
        ("120", 120, "current systolic must be a number"),
        (120, 0, "baseline systolic must be from 1 to 250"),
        (-1, 120, "current systolic must be from 0 to 250"),
        (251, 120, "current systolic must be from 0 to 250"),
        (10**400, 120, "current systolic must be from 0 to 250"),
        (120, -(10**400), "baseline systolic must be from 1 to 250"),
    ],
)
def test_circulation_refuses_bad_pressures(current: object, baseline: object, message: str) -> None:
    with pytest.raises(InvalidEntry, match="Circulation: " + message):
        circulation_score(current, baseline)  # type: ignore[arg-type]


# --- SpO2 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "score"),
    [
        (100, False, 2),
        (93, False, 2),
        (92, False, 1),  # not above 92 on room air
        (91, False, 1),
        (90, False, 0),  # not above 90
        (89, False, 0),
        (100, True, 1),  # needs oxygen to stay there
        (91, True, 1),
        (90, True, 0),
        (89, True, 0),
        (0, True, 0),
    ],
)
def test_spo2_edges(spo2: int, on_oxygen: bool, score: int) -> None:
    assert spo2_score(spo2, on_oxygen) == score


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "message"),
    [
        (101, False, "from 0 to 100 %"),
        (-1, False, "from 0 to 100 %"),
        (95.5, False, "whole number"),
        (True, False, "whole number"),
        (95, None, "whether oxygen is given"),
        (95, "no", "whether oxygen is given"),
    ],
)
def test_spo2_refuses_bad_input(spo2: object, on_oxygen: object, message: str) -> None:
    with pytest.raises(InvalidEntry, match="SpO2 for the discharge score.*" + message):
        spo2_score(spo2, on_oxygen)  # type: ignore[arg-type]


# --- the assessment -------------------------------------------------------------------------


def test_validate_discharge_gives_the_event_data() -> None:
    answers = {**ALL_TWO, "circulation": circulation_score(150, 120)}
    assert validate_discharge(answers, ride_home=True, ready_at_t=5400) == {
        "scores": {
            "activity": 2,
            "respiration": 2,
            "circulation": 1,
            "consciousness": 2,
            "spo2": 2,
        },
        "total": 9,
        "pass_mark": 9,
        "passed": True,
        "ride_home": True,
        "ready_at_t": 5400.0,
    }


@pytest.mark.parametrize(("total", "passed"), [(10, True), (9, True), (8, False), (0, False)])
def test_nine_or_more_passes(total: int, passed: bool) -> None:
    scores = dict.fromkeys(ITEM_IDS, 0)
    for item in ITEM_IDS:
        scores[item] = min(2, total - sum(scores.values()))
    a = assess(scores, True, 60.0)
    assert (a.score, a.passed) == (total, passed)


def test_the_pass_mark_is_configurable() -> None:
    answers = {**ALL_TWO, "activity": 1, "consciousness": 1}
    assert not assess(answers, True, 60.0).passed
    lenient = assess(answers, True, 60.0, pass_mark=8)
    assert lenient.passed and lenient.as_dict()["pass_mark"] == 8
    with pytest.raises(InvalidEntry, match="pass mark"):
        assess(answers, True, 60.0, pass_mark=11)


DISCHARGE_REFUSED = [
    ({k: v for k, v in ALL_TWO.items() if k != "respiration"}, True, 60, "Respiration is not"),
    ({**ALL_TWO, "spo2": None}, True, 60, "SpO2 is not answered"),
    ({**ALL_TWO, "activity": 3}, True, 60, "Activity must be 0, 1 or 2"),
    ({**ALL_TWO, "activity": -1}, True, 60, "Activity must be 0, 1 or 2"),
    ({**ALL_TWO, "consciousness": True}, True, 60, "Consciousness must be 0, 1 or 2"),
    ({**ALL_TWO, "circulation": 2.0}, True, 60, "Circulation must be 0, 1 or 2"),
    ({**ALL_TWO, "circulation": "2"}, True, 60, "Circulation must be 0, 1 or 2"),
    ({**ALL_TWO, "mood": 2}, True, 60, "Discharge score has no item 'mood'"),
    ([2, 2, 2, 2, 2], True, 60, "answers are missing"),
    (ALL_TWO, None, 60, "Ride home must be confirmed or not"),
    (ALL_TWO, "yes", 60, "Ride home must be confirmed or not"),
    (ALL_TWO, True, -1, "Ready time must be after the dose"),
    (ALL_TWO, True, 86_401, "within 24 hours"),
    (ALL_TWO, True, 10**400, "within 24 hours"),
    (ALL_TWO, True, math.nan, "Ready time must be a number of seconds"),
    (ALL_TWO, True, math.inf, "Ready time must be a number of seconds"),
    (ALL_TWO, True, True, "Ready time must be a number of seconds"),
    (ALL_TWO, True, "5400", "Ready time must be a number of seconds"),
]


@pytest.mark.parametrize(("answers", "ride_home", "ready_at_t", "message"), DISCHARGE_REFUSED)
def test_a_bad_discharge_check_is_refused_naming_the_item(
    answers: object, ride_home: object, ready_at_t: object, message: str
) -> None:
    with pytest.raises(InvalidEntry, match=message):
        validate_discharge(answers, ride_home, ready_at_t)  # type: ignore[arg-type]


def test_a_ready_time_in_the_future_is_refused_when_now_is_known() -> None:
    assert validate_discharge(ALL_TWO, True, 3600.0, now_t=3600.0)["ready_at_t"] == 3600.0
    with pytest.raises(InvalidEntry, match="cannot be in the future"):
        validate_discharge(ALL_TWO, True, 3600.5, now_t=3600.0)


def test_the_assessment_keeps_its_own_copy_and_round_trips_through_event_data() -> None:
    answers = dict(ALL_TWO)
    a = assess(answers, True, 4000)
    answers["activity"] = 0
    assert a.score == 10
    assert DischargeAssessment.from_dict(a.as_dict()) == a
    with pytest.raises(InvalidEntry):
        DischargeAssessment.from_dict({**a.as_dict(), "scores": {**ALL_TWO, "spo2": 7}})


# --- may the session end as complete? -------------------------------------------------------


def test_a_passed_check_with_ride_and_ready_time_allows_a_complete_end() -> None:
    assert can_end_complete(assess(ALL_TWO, True, 5400.0)) == (True, [])


def test_every_reason_that_blocks_a_complete_end_is_given() -> None:
    low = {**ALL_TWO, "activity": 1, "spo2": 1}
    ok, reasons = can_end_complete(assess(low, False, None))
    assert not ok
    assert reasons == [
        "Discharge score is 8 of 10; 9 is needed.",
        "The ride home is not confirmed.",
        "The time the client was ready to leave is not recorded.",
    ]
    assert can_end_complete(assess(ALL_TWO, False, 60.0)) == (
        False,
        ["The ride home is not confirmed."],
    )
    assert can_end_complete(assess(ALL_TWO, True, None)) == (
        False,
        ["The time the client was ready to leave is not recorded."],
    )
    assert can_end_complete(None) == (False, ["The discharge check has not been done."])


# --- properties -----------------------------------------------------------------------------

SCORE_VALUE = st.one_of(
    st.sampled_from([0, 1, 2]),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=3),
)


@given(
    st.one_of(
        st.fixed_dictionaries({i: SCORE_VALUE for i in ITEM_IDS}),
        st.dictionaries(
            st.one_of(st.sampled_from(ITEM_IDS), st.text(max_size=8)), SCORE_VALUE, max_size=7
        ),
        st.fixed_dictionaries({i: st.sampled_from([0, 1, 2]) for i in ITEM_IDS}),
        st.lists(st.integers()),
        st.none(),
    ),
    st.one_of(st.booleans(), st.none(), st.integers(0, 1), st.text(max_size=3)),
    st.one_of(
        st.none(),
        st.floats(),
        st.floats(0, 86_400),
        st.integers(),
        st.sampled_from([10**400, -(10**400)]),
        st.booleans(),
        st.text(),
    ),
    st.one_of(st.just(PASS_MARK), st.integers(-2, 12), st.booleans(), st.floats()),
)
def test_any_discharge_input_gives_valid_data_or_invalid_entry(
    answers: object, ride_home: object, ready_at_t: object, pass_mark: object
) -> None:
    try:
        data = validate_discharge(
            answers,  # type: ignore[arg-type]
            ride_home,  # type: ignore[arg-type]
            ready_at_t,  # type: ignore[arg-type]
            pass_mark=pass_mark,  # type: ignore[arg-type]
        )
    except InvalidEntry as e:
        assert str(e).strip()
        return
    scores = data["scores"]
    assert list(scores) == list(ITEM_IDS)
    assert all(type(s) is int and s in (0, 1, 2) for s in scores.values())
    assert data["total"] == sum(scores.values())
    assert type(data["pass_mark"]) is int and 0 <= data["pass_mark"] <= 10
    assert data["passed"] is (data["total"] >= data["pass_mark"])
    assert type(data["ride_home"]) is bool
    ready = data["ready_at_t"]
    assert ready is None or (type(ready) is float and 0 <= ready <= 86_400)
    json.dumps(data, allow_nan=False)
    ok, reasons = can_end_complete(DischargeAssessment.from_dict(data))
    assert ok is (data["passed"] and data["ride_home"] and ready is not None)
    assert ok is (reasons == [])


@given(st.integers(0, 250), st.integers(1, 250))
def test_circulation_score_matches_the_percentage(current: int, baseline: int) -> None:
    change = abs(current - baseline) * 100 / baseline
    score = circulation_score(current, baseline)
    # Away from the exact edges a float percentage agrees with the exact computation.
    if not (math.isclose(change, 20) or math.isclose(change, 50)):
        assert score == (2 if change <= 20 else 1 if change < 50 else 0)


@given(
    st.one_of(st.integers(), st.floats(), st.sampled_from([10**400, -(10**400)]), st.booleans()),
    st.one_of(st.integers(), st.floats(), st.sampled_from([10**400, -(10**400)]), st.none()),
)
def test_any_pressures_give_a_score_or_invalid_entry(current: object, baseline: object) -> None:
    try:
        score = circulation_score(current, baseline)  # type: ignore[arg-type]
    except InvalidEntry:
        return
    assert score in (0, 1, 2)


@given(
    st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.text(max_size=3)),
    st.one_of(st.booleans(), st.none(), st.integers(0, 1)),
)
def test_any_spo2_gives_a_score_or_invalid_entry(spo2: object, on_oxygen: object) -> None:
    try:
        score = spo2_score(spo2, on_oxygen)  # type: ignore[arg-type]
    except InvalidEntry:
        return
    assert score in (0, 1, 2)
