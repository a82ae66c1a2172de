"""Vitals: the one-line entry and the form are refused with a message naming the field for every
kind of bad input the issue lists; nothing invalid ever comes out of either; threshold alerts
carry their source; the trend against the baseline is the plain percentage."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from kapsession.errors import InvalidEntry
from kapsession.monitoring.vitals import (
    LIMITS,
    VITAL_FIELDS,
    Alert,
    Vitals,
    check_thresholds,
    format_trend,
    format_vitals,
    parse_vitals,
    trend,
    validate_vitals,
)

BASE = Vitals(120, 80, 70, 98)


# --- what the one-line entry accepts --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("128/82 76 98", Vitals(128, 82, 76, 98)),
        ("128/82 76 98 14", Vitals(128, 82, 76, 98, 14)),
        ("128/82 76 98 14 36.8", Vitals(128, 82, 76, 98, 14, 36.8)),
        ("128/82 76 98 14 36,8", Vitals(128, 82, 76, 98, 14, 36.8)),
        ("  128/82   76\t98  ", Vitals(128, 82, 76, 98)),
        ("128 / 82 76 98", Vitals(128, 82, 76, 98)),
        ("128/82 76 98%", Vitals(128, 82, 76, 98)),
        ("128/82 76 98 % 14", Vitals(128, 82, 76, 98, 14)),
        ("128/82 76 98 - 36.8", Vitals(128, 82, 76, 98, None, 36.8)),
        ("128/82 76 98 14 37", Vitals(128, 82, 76, 98, 14, 37.0)),
        ("250/150 230 100 100 43", Vitals(250, 150, 230, 100, 100, 43.0)),
        ("1/0 0 0 0 25", Vitals(1, 0, 0, 0, 0, 25.0)),
        ("0128/082 076 098", Vitals(128, 82, 76, 98)),
    ],
)
def test_the_one_line_entry_reads_bp_hr_spo2_and_optional_rr_and_temperature(
    text: str, expected: Vitals
) -> None:
    assert parse_vitals(text) == expected


def test_temperature_comes_back_as_a_float_and_as_dict_uses_the_export_names() -> None:
    v = parse_vitals("128/82 76 98 14 37")
    assert isinstance(v.temperature, float)
    assert v.as_dict() == {
        "systolic": 128,
        "diastolic": 82,
        "heart_rate": 76,
        "spo2": 98,
        "resp_rate": 14,
        "temperature": 37.0,
    }
    # Not measured is null, and the key is still there: every vitals event has one shape.
    assert parse_vitals("128/82 76 98").as_dict() == {
        "systolic": 128,
        "diastolic": 82,
        "heart_rate": 76,
        "spo2": 98,
        "resp_rate": None,
        "temperature": None,
    }


# --- what it refuses, and that the message names the field ----------------------------------

REFUSED = [
    # non-numbers
    ("abc/82 76 98", "Systolic must be a number"),
    ("128/x 76 98", "Diastolic must be a number"),
    ("128/82 fast 98", "Heart rate must be a number"),
    ("128/82 76 ok", "SpO2 must be a number"),
    ("128/82 76 98 ?", "Respiratory rate must be a number"),
    ("128/82 76 98 14 warm", "Temperature must be a number"),
    ("128/82 7_6 98", "Heart rate must be a number"),
    ("128/82 +76 98", "Heart rate must be a number"),
    ("128/82 76 98 14 .5", "Temperature must be a number"),
    ("128/82 76 98 14 36.", "Temperature must be a number"),
    ("128/82 76 98 14 36.8C", "Temperature must be a number"),
    ("128/82 76 98%%", "SpO2 must be a number"),
    ("128/82 76% 98", "Heart rate must be a number"),
    # NaN and infinities
    ("nan/82 76 98", "Systolic must be a number, not NaN or infinity"),
    ("128/NaN 76 98", "Diastolic must be a number, not NaN or infinity"),
    ("128/82 inf 98", "Heart rate must be a number, not NaN or infinity"),
    ("128/82 76 -inf", "SpO2 must be a number, not NaN or infinity"),
    ("128/82 76 98 Infinity", "Respiratory rate must be a number, not NaN or infinity"),
    ("128/82 76 98 14 nan", "Temperature must be a number, not NaN or infinity"),
    ("128/82 76 98 14 -inf", "Temperature must be a number, not NaN or infinity"),
    # exponents, including one that overflows a float
    ("1e309/82 76 98", "Systolic must be written out, without an exponent"),
    ("128/82 76 98 14 1e309", "Temperature must be written out, without an exponent"),
    ("128/82 7e1 98", "Heart rate must be written out, without an exponent"),
    ("128/82 76 98 14 3.68E1", "Temperature must be written out, without an exponent"),
    # negatives
    ("-128/82 76 98", "Systolic cannot be negative"),
    ("128/-82 76 98", "Diastolic cannot be negative"),
    ("128/82 -76 98", "Heart rate cannot be negative"),
    ("128/82 76 -98", "SpO2 cannot be negative"),
    ("128/82 76 98 -14", "Respiratory rate cannot be negative"),
    ("128/82 76 98 14 -36.8", "Temperature cannot be negative"),
    # decimals where whole numbers belong
    ("128.5/82 76 98", "Systolic must be a whole number"),
    ("128/82,5 76 98", "Diastolic must be a whole number"),
    ("128/82 76.5 98", "Heart rate must be a whole number"),
    ("128/82 76 97.5", "SpO2 must be a whole number"),
    ("128/82 76 98 14.5 36.8", "Respiratory rate must be a whole number"),
    ("128/82 76 98 36.8", "Respiratory rate must be a whole number; .* type '-'"),
    # non-ASCII digits that int() and float() would accept
    ("١٢٨/82 76 98", "Systolic must be typed with the plain digits 0–9"),
    ("１２８/８２ 76 98", "Systolic must be typed with the plain digits 0–9"),
    ("128/٨٢ 76 98", "Diastolic must be typed with the plain digits 0–9"),
    ("128/82 ७६ 98", "Heart rate must be typed with the plain digits 0–9"),
    ("128/82 76 ９８", "SpO2 must be typed with the plain digits 0–9"),
    ("128/82 76 98 ١٤", "Respiratory rate must be typed with the plain digits 0–9"),
    ("128/82 76 98 14 ３６.８", "Temperature must be typed with the plain digits 0–9"),
    ("128/82 76 98 14 36٫8", "Temperature must be typed with the plain digits 0–9"),
    ("128/82 −76 98", "Heart rate must be typed with the plain digits 0–9"),
    ("１２８／８２ 76 98", "Blood pressure must be typed with the plain digits 0–9 and '/'"),
    # plausible-value limits (OpenMRS)
    ("251/82 76 98", "Systolic is above the plausible maximum of 250 mmHg"),
    ("180/151 76 98", "Diastolic is above the plausible maximum of 150 mmHg"),
    ("128/82 231 98", "Heart rate is above the plausible maximum of 230 /min"),
    ("128/82 76 101", "SpO2 is above the plausible maximum of 100 %"),
    ("128/82 76 100%%", "SpO2 must be a number"),
    ("128/82 76 98 101", "Respiratory rate is above the plausible maximum of 100 /min"),
    ("128/82 76 98 14 43.1", "Temperature is above the plausible maximum of 43 °C"),
    ("128/82 76 98 14 98.6", r"Temperature is above .* \(enter °C, not °F\)"),
    ("128/82 76 98 14 24.9", "Temperature is below the plausible minimum of 25 °C"),
    ("9999999/82 76 98", "Systolic is above the plausible maximum"),
    ("128/82 76 98 14 " + "9" * 50, "Temperature is above the plausible maximum"),
    # systolic must exceed diastolic
    ("82/128 76 98", "Systolic must be higher than diastolic"),
    ("90/90 76 98", "Systolic must be higher than diastolic"),
    ("0/0 76 98", "Systolic must be higher than diastolic"),
    # shape of the entry
    ("", "Vitals entry is empty"),
    ("   \t ", "Vitals entry is empty"),
    ("128 82 76 98", "Blood pressure needs a slash"),
    # Spaces around the slash are allowed, so here 76 is read as the diastolic.
    ("128/ 76 98", "SpO2 is missing"),
    ("/82 76 98", "Systolic is missing"),
    ("128/", "Diastolic is missing"),
    ("128/ 76", "Heart rate and SpO2 are missing"),
    ("128/82/70 76 98", "Blood pressure has more than one '/'"),
    ("128/82", "Heart rate and SpO2 are missing"),
    ("128/82 76", "SpO2 is missing"),
    ("128/82 - 98", "Heart rate is missing"),
    ("128/82 76 -", "SpO2 is missing"),
    ("128/82 76 98 14 36.8 1", "Too many values"),
    ("128/82 76 98 " + " " * 300, "Vitals entry is too long"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_bad_entries_are_refused_with_a_message_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidEntry, match=message):
        parse_vitals(text)


def test_refusals_never_repeat_the_value_typed() -> None:
    # Error messages may be logged; the clinical value must not be in them.
    for text in ("251/82 76 98", "128/82 76 101", "128/82 76 98 14 43.7", "128/82 76.5 98"):
        with pytest.raises(InvalidEntry) as info:
            parse_vitals(text)
        assert not re.search(r"251|101|43\.7|76\.5", str(info.value)), str(info.value)


# --- the form -------------------------------------------------------------------------------

FORM_REFUSED = [
    ({"systolic": True}, "Systolic must be a number"),
    ({"heart_rate": False}, "Heart rate must be a number"),
    ({"spo2": 98.0}, "SpO2 must be a whole number"),
    ({"heart_rate": "76"}, "Heart rate must be a whole number"),
    ({"resp_rate": 14.5}, "Respiratory rate must be a whole number"),
    ({"diastolic": None}, "Diastolic is missing"),
    ({"spo2": None}, "SpO2 is missing"),
    ({"temperature": math.nan}, "Temperature must be a number, not NaN or infinity"),
    ({"temperature": math.inf}, "Temperature must be a number, not NaN or infinity"),
    ({"temperature": "36.8"}, "Temperature must be a number"),
    ({"temperature": True}, "Temperature must be a number"),
    ({"temperature": 24.99}, "Temperature is below"),
    ({"systolic": -1}, "Systolic is below the plausible minimum of 0 mmHg"),
    ({"spo2": 101}, "SpO2 is above the plausible maximum of 100 %"),
    ({"heart_rate": 10**400}, "Heart rate is above"),
    ({"temperature": 10**400}, "Temperature is above"),
    ({"temperature": -(10**400)}, "Temperature is below"),
    ({"systolic": 80}, "Systolic must be higher than diastolic"),
]


@pytest.mark.parametrize(("changes", "message"), FORM_REFUSED)
def test_form_values_follow_the_same_rules(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {**BASE.as_dict(), "resp_rate": 14, "temperature": 36.8}
    values.update(changes)
    with pytest.raises(InvalidEntry, match=message):
        validate_vitals(Vitals(**values))  # type: ignore[arg-type]


def test_a_whole_number_temperature_from_a_form_is_kept_as_a_float() -> None:
    v = validate_vitals(Vitals(128, 82, 76, 98, temperature=37))
    assert v == Vitals(128, 82, 76, 98, temperature=37.0)
    assert isinstance(v.temperature, float)


def test_from_dict_rebuilds_and_rechecks_event_data() -> None:
    v = Vitals(128, 82, 76, 98, 14, 36.8)
    assert Vitals.from_dict(v.as_dict()) == v
    with pytest.raises(InvalidEntry, match="unknown field"):
        Vitals.from_dict({**v.as_dict(), "glucose": 5})
    with pytest.raises(InvalidEntry, match="SpO2 is above"):
        Vitals.from_dict({**v.as_dict(), "spo2": 120})


def test_limits_are_data_with_their_source() -> None:
    assert tuple(LIMITS) == VITAL_FIELDS
    assert {f: (lim.low, lim.high) for f, lim in LIMITS.items()} == {
        "systolic": (0, 250),
        "diastolic": (0, 150),
        "heart_rate": (0, 230),
        "spo2": (0, 100),
        "resp_rate": (0, 100),
        "temperature": (25, 43),
    }
    assert all("OpenMRS" in lim.source for lim in LIMITS.values())


# --- properties -----------------------------------------------------------------------------


def assert_plausible(v: Vitals) -> None:
    for field in VITAL_FIELDS:
        value = getattr(v, field)
        limit = LIMITS[field]
        if value is None:
            assert field in ("resp_rate", "temperature")
            continue
        if limit.integer:
            assert type(value) is int
        else:
            assert type(value) is float and math.isfinite(value)
        assert limit.low <= value <= limit.high
    assert v.systolic > v.diastolic
    assert validate_vitals(v) == v


TYPICAL = {"systolic": (90, 250), "diastolic": (0, 89)}


def int_token(field: str) -> st.SearchStrategy[str]:
    """Mostly plausible values for the field, sometimes just outside, sometimes odd text."""
    lim = LIMITS[field]
    low, high = TYPICAL.get(field, (int(lim.low), int(lim.high)))
    return st.one_of(
        st.integers(low, high).map(str),
        st.integers(int(lim.low) - 20, int(lim.high) + 20).map(str),
        ODD,
    )


ODD = st.sampled_from(
    ["-", "%", "nan", "inf", "1e309", "-5", "36,8", "36.8", "٨", "１", "/", "0", "98%", "1_0"]
)


@st.composite
def likely_entry(draw: st.DrawFn) -> str:
    """Entries shaped like real typing, so that many are valid and the rest fail in every
    way one field at a time."""
    tokens = [
        draw(int_token("systolic")) + "/" + draw(int_token("diastolic")),
        draw(int_token("heart_rate")),
        draw(int_token("spo2")) + draw(st.sampled_from(["", "%", " %"])),
    ]
    tokens += draw(st.lists(int_token("resp_rate"), max_size=1))
    tokens += draw(
        st.lists(
            st.one_of(st.floats(20, 45).map(lambda t: f"{t:.1f}".replace(".", ",")), ODD),
            max_size=1,
        )
    )
    # (integers() would favour its bounds; sampled_from draws about evenly)
    if draw(st.sampled_from(range(10))) == 9:
        tokens = list(draw(st.permutations(tokens)))
    if draw(st.sampled_from(range(6))) == 5:
        tokens = tokens[: draw(st.sampled_from(range(len(tokens))))]
    sep = draw(st.sampled_from([" ", "  ", "\t", " \u3000"]))
    return sep.join(tokens)


def run_counting(prop: Callable[[], None], outcomes: Counter[str]) -> Counter[str]:
    """Run a @given property once through and return how often each of its branches ran, so the
    test can say that its point (the plausibility assertion) was reached, and how often."""
    outcomes.clear()
    prop()
    return outcomes


def enough() -> int:
    """Examples each branch must reach: a tenth of the run (the profile sets its length)."""
    return max(settings.default.max_examples // 10, 5)


PARSED: Counter[str] = Counter()


@given(st.one_of(st.text(), likely_entry(), st.deferred(lambda: valid_vitals()).map(format_vitals)))
@example("1e309/82 76 98")
@example("128/82 76 98 14 " + "1" * 5000)
@example("9" * 5000)
def any_text_gives_plausible_vitals_or_invalid_entry(text: str) -> None:
    try:
        v = parse_vitals(text)
    except InvalidEntry as e:
        assert str(e).strip()
        event("refused")
        PARSED["refused"] += 1
        return
    event("accepted")
    PARSED["accepted"] += 1
    assert_plausible(v)


def test_any_text_gives_plausible_vitals_or_invalid_entry() -> None:
    seen = run_counting(any_text_gives_plausible_vitals_or_invalid_entry, PARSED)
    assert seen["accepted"] >= enough() and seen["refused"] >= enough(), seen


def valid_vitals() -> st.SearchStrategy[Vitals]:
    @st.composite
    def build(draw: st.DrawFn) -> Vitals:
        diastolic = draw(st.integers(0, 150))
        systolic = draw(st.integers(diastolic + 1, 250))
        return Vitals(
            systolic,
            diastolic,
            draw(st.integers(0, 230)),
            draw(st.integers(0, 100)),
            draw(st.none() | st.integers(0, 100)),
            draw(st.none() | st.floats(25, 43, allow_nan=False)),
        )

    return build()


@given(valid_vitals())
def test_valid_vitals_survive_the_one_line_form(v: Vitals) -> None:
    line = format_vitals(v)
    assert parse_vitals(line) == v
    assert validate_vitals(v) == v


ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers(),
    st.sampled_from([10**400, -(10**400)]),  # math.isfinite() overflows on these
    st.floats(),
    st.text(max_size=5),
    st.just(object()),
)


def in_range(field: str) -> st.SearchStrategy[object]:
    lim = LIMITS[field]
    if lim.integer:
        return st.integers(int(lim.low), int(lim.high))
    return st.floats(lim.low, lim.high)


# Whole valid forms, wholly arbitrary ones, and valid fields mixed with arbitrary ones: the
# arbitrary ones alone are refused every time, and the plausibility assertion never ran.
FORM_VALUES = st.one_of(
    valid_vitals().map(lambda v: v.as_dict()),
    st.fixed_dictionaries({f: ANY_VALUE for f in VITAL_FIELDS}),
    st.fixed_dictionaries({f: st.one_of(in_range(f), ANY_VALUE) for f in VITAL_FIELDS}),
)
FORMED: Counter[str] = Counter()


@given(FORM_VALUES)
def any_form_values_give_plausible_vitals_or_invalid_entry(values: dict[str, object]) -> None:
    try:
        v = validate_vitals(Vitals(**values))  # type: ignore[arg-type]
    except InvalidEntry as e:
        assert str(e).strip()
        event("refused")
        FORMED["refused"] += 1
        return
    event("accepted")
    FORMED["accepted"] += 1
    assert_plausible(v)


def test_any_form_values_give_plausible_vitals_or_invalid_entry() -> None:
    seen = run_counting(any_form_values_give_plausible_vitals_or_invalid_entry, FORMED)
    assert seen["accepted"] >= enough() and seen["refused"] >= enough(), seen


# --- threshold alerts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """The shape kapsession.monitoring.protocol.Threshold has; defined here so the test does not depend
    on protocol.py."""

    field: str
    low: float | None
    high: float | None
    source: str


CRITICAL = [
    Threshold("systolic", 85, 180, "OpenMRS critical range"),
    Threshold("heart_rate", 49, 130, "OpenMRS critical range"),
    Threshold("resp_rate", 8, 26, "OpenMRS critical range"),
    Threshold("spo2", 90, None, "World SIVA sentinel"),
    Threshold("systolic", None, 200, "Psychedelic trials: escalate if sustained"),
]


def test_values_inside_every_range_raise_no_alert() -> None:
    assert check_thresholds(Vitals(128, 82, 76, 98, 14), CRITICAL) == []


def test_an_alert_names_field_value_limit_and_source() -> None:
    alerts = check_thresholds(Vitals(192, 100, 76, 98), CRITICAL)
    assert alerts == [
        Alert(
            field="systolic",
            value=192,
            low=85,
            high=180,
            source="OpenMRS critical range",
            message="Systolic 192 mmHg is above 180 (OpenMRS critical range)",
        )
    ]
    assert alerts[0].direction == "above"
    assert alerts[0].as_dict()["source"] == "OpenMRS critical range"


def test_each_threshold_crossed_gives_its_own_alert_in_protocol_order() -> None:
    alerts = check_thresholds(Vitals(205, 100, 45, 88, 30), CRITICAL)
    assert [a.message for a in alerts] == [
        "Systolic 205 mmHg is above 180 (OpenMRS critical range)",
        "Heart rate 45 /min is below 49 (OpenMRS critical range)",
        "Respiratory rate 30 /min is above 26 (OpenMRS critical range)",
        "SpO2 88 % is below 90 (World SIVA sentinel)",
        "Systolic 205 mmHg is above 200 (Psychedelic trials: escalate if sustained)",
    ]
    assert [a.direction for a in alerts] == ["above", "below", "above", "below", "above"]


@pytest.mark.parametrize(
    ("systolic", "alerts"), [(84, 1), (85, 0), (86, 0), (179, 0), (180, 0), (181, 1)]
)
def test_a_value_on_the_edge_of_the_range_is_inside_it(systolic: int, alerts: int) -> None:
    limits = [Threshold("systolic", 85, 180, "OpenMRS critical range")]
    assert len(check_thresholds(Vitals(systolic, 40, 70, 98), limits)) == alerts


def test_temperature_alert_reads_like_a_thermometer() -> None:
    fever = [Threshold("temperature", 35.5, 38.0, "Clinic policy")]
    (alert,) = check_thresholds(Vitals(128, 82, 76, 98, None, 38.6), fever)
    assert alert.message == "Temperature 38.6 °C is above 38 (Clinic policy)"


def test_a_field_not_measured_raises_no_alert() -> None:
    assert check_thresholds(Vitals(128, 82, 76, 98), CRITICAL) == []


def test_a_threshold_on_an_unknown_field_is_an_error_not_silence() -> None:
    with pytest.raises(ValueError, match="glucose"):
        check_thresholds(BASE, [Threshold("glucose", 4, 10, "x")])


# --- trend against the baseline -------------------------------------------------------------


def test_trend_is_the_percent_change_from_baseline() -> None:
    now = Vitals(150, 80, 64, 97, 12, 37.5)
    assert trend(now, Vitals(120, 80, 70, 98, 16, 36.5)) == {
        "systolic": 25.0,
        "diastolic": 0.0,
        "heart_rate": -8.6,
        "spo2": -1.0,
        "resp_rate": -25.0,
    }


def test_trend_leaves_out_what_cannot_be_compared() -> None:
    assert trend(BASE, None) == {}
    # RR missing at baseline; HR zero at baseline (no percentage of zero).
    assert trend(Vitals(120, 80, 70, 98, 14), Vitals(120, 80, 0, 98)) == {
        "systolic": 0.0,
        "diastolic": 0.0,
        "spo2": 0.0,
    }


def test_format_trend_is_short_screen_text() -> None:
    changes = trend(Vitals(150, 80, 64, 98), Vitals(120, 80, 70, 98))
    assert format_trend(changes) == "sys +25 % · dia ±0 % · HR −9 % · SpO2 ±0 %"
    assert format_trend({"systolic": 25.0, "heart_rate": -8.0}) == "sys +25 % · HR −8 %"
    assert format_trend({"heart_rate": 2.5, "systolic": -2.5}) == "sys −3 % · HR +3 %"
    assert format_trend({}) == ""


@given(valid_vitals(), valid_vitals())
def test_trend_is_finite_and_signed_like_the_change(now: Vitals, base: Vitals) -> None:
    changes = trend(now, base)
    for field, pct in changes.items():
        assert math.isfinite(pct)
        delta = getattr(now, field) - getattr(base, field)
        assert (pct > 0) <= (delta > 0) and (pct < 0) <= (delta < 0)
    assert isinstance(format_trend(changes), str)
