"""Observation scales and quick events: the scales carry their anchors, keys and sources; every
answer is one distinct key; bad answers are refused naming the scale or event; nothing invalid
ever comes out of a validator."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapsession.errors import InvalidEntry
from kapsession.monitoring.observations import (
    FREE_TEXT,
    QUICK_EVENT_KINDS,
    QUICK_EVENTS,
    SCALES,
    Scale,
    validate_observation,
    validate_observation_text,
    validate_quick_event,
)
from kapsession.storage.schema import ROUTES

# --- the scales as data ---------------------------------------------------------------------


def test_the_five_scales_are_there_with_a_source_each() -> None:
    assert list(SCALES) == ["moaas", "rass", "dissociation", "nausea", "emotional_tone"]
    for scale in SCALES.values():
        assert scale.source.strip(), scale.id


@pytest.mark.parametrize("scale", SCALES.values(), ids=list(SCALES))
def test_every_answer_is_one_distinct_typeable_key(scale: Scale) -> None:
    keys = [o.key for o in scale.options]
    values = [o.value for o in scale.options]
    assert len(set(keys)) == len(keys)
    assert len(set(values)) == len(values)
    assert all(len(k) == 1 and k.isascii() and k.isalnum() and k == k.lower() for k in keys)
    for option in scale.options:
        assert scale.option_for_key(option.key) == option
        assert scale.option(option.value) == option
    if scale.numeric and scale.id != "rass":
        # On the plain numeric scales the key is simply the number.
        assert keys == [str(v) for v in values]


def test_moaas_runs_5_to_0_with_the_anchors_from_the_design() -> None:
    moaas = SCALES["moaas"]
    assert [(o.value, o.key) for o in moaas.options] == [(n, str(n)) for n in range(5, -1, -1)]
    labels = {o.value: o.label for o in moaas.options}
    assert labels[5] == "Responds readily to name in normal tone"
    assert labels[4] == "Lethargic response to name in normal tone"
    assert labels[3] == "Responds only to loud or repeated name"
    assert labels[2] == "Responds only after mild prodding or shaking"
    assert labels[1] == "No response to mild prodding or shaking"
    assert labels[0] == "No response to pain"


def test_rass_runs_plus_4_to_minus_5_with_digits_for_sedation_and_letters_for_agitation() -> None:
    rass = SCALES["rass"]
    assert [(o.value, o.key, o.label) for o in rass.options] == [
        (4, "c", "Combative"),
        (3, "v", "Very agitated"),
        (2, "a", "Agitated"),
        (1, "r", "Restless"),
        (0, "0", "Alert and calm"),
        (-1, "1", "Drowsy"),
        (-2, "2", "Light sedation"),
        (-3, "3", "Moderate sedation"),
        (-4, "4", "Deep sedation"),
        (-5, "5", "Unrousable"),
    ]
    assert "Digits 0–5" in rass.keys_note and "c +4 combative" in rass.keys_note
    assert rass.option_for_key("x") is None


def test_the_quick_ratings_and_the_tone() -> None:
    dissociation = SCALES["dissociation"]
    assert [o.label for o in dissociation.options] == [
        "None",
        "Mild",
        "Moderate",
        "Marked",
        "Extreme",
    ]
    assert "not the CADSS" in dissociation.source
    assert [o.label for o in SCALES["nausea"].options] == [
        "None",
        "Mild",
        "Moderate",
        "Vomiting / severe",
    ]
    tone = SCALES["emotional_tone"]
    assert [(o.value, o.key) for o in tone.options] == [
        ("calm", "c"),
        ("peaceful", "p"),
        ("joyful", "j"),
        ("tearful", "t"),
        ("anxious", "a"),
        ("distressed", "d"),
        ("agitated", "g"),
        ("flat", "f"),
    ]
    assert not tone.numeric


# --- validate_observation -------------------------------------------------------------------


def test_an_observation_is_stored_as_scale_value_label_and_optional_text() -> None:
    assert validate_observation("moaas", 4) == {
        "scale": "moaas",
        "value": 4,
        "label": "Lethargic response to name in normal tone",
    }
    assert validate_observation("rass", -2, "  eyes closed, responds to voice \n") == {
        "scale": "rass",
        "value": -2,
        "label": "Light sedation",
        "text": "eyes closed, responds to voice",
    }
    assert validate_observation("nausea", 0, None) == {
        "scale": "nausea",
        "value": 0,
        "label": "None",
    }
    assert validate_observation("emotional_tone", "tearful", "   ") == {
        "scale": "emotional_tone",
        "value": "tearful",
        "label": "Tearful",
    }


def test_a_free_text_observation() -> None:
    assert validate_observation_text(" sighing, hands open ") == {
        "scale": FREE_TEXT,
        "text": "sighing, hands open",
    }
    with pytest.raises(InvalidEntry, match="empty observation"):
        validate_observation_text(" \n ")


OBSERVATION_REFUSED = [
    ("moaas", 6, "", "MOAA/S must be one of: 5, 4, 3, 2, 1, 0"),
    ("moaas", -1, "", "MOAA/S must be one of"),
    ("moaas", True, "", "MOAA/S must be one of"),
    ("moaas", "5", "", "MOAA/S must be one of"),
    ("moaas", 4.0, "", "MOAA/S must be one of"),
    ("rass", 5, "", "RASS must be one of: \\+4, \\+3, \\+2, \\+1, 0, −1, −2, −3, −4, −5"),
    ("rass", "a", "", "RASS must be one of"),
    ("dissociation", 5, "", "Dissociation must be one of: 0, 1, 2, 3, 4"),
    ("nausea", 4, "", "Nausea must be one of: 0, 1, 2, 3"),
    ("nausea", math.nan, "", "Nausea must be one of"),
    ("emotional_tone", "happy", "", "Emotional tone must be one of: calm, peaceful"),
    ("emotional_tone", "Calm", "", "Emotional tone must be one of"),
    ("emotional_tone", 0, "", "Emotional tone must be one of"),
    ("sedation", 3, "", "Unknown observation scale"),
    ("", 3, "", "Unknown observation scale"),
    ("moaas", 3, "x" * 2001, "MOAA/S remark can be at most 2,000 characters"),
    ("moaas", 3, "ok \ud800", "MOAA/S remark contains broken characters"),
    ("nausea", 1, 42, "Nausea remark must be text"),
]


@pytest.mark.parametrize(("scale", "value", "text", "message"), OBSERVATION_REFUSED)
def test_a_bad_observation_is_refused_naming_the_scale(
    scale: str, value: object, text: object, message: str
) -> None:
    with pytest.raises(InvalidEntry, match=message):
        validate_observation(scale, value, text)  # type: ignore[arg-type]


ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from([o.value for s in SCALES.values() for o in s.options]),
)


@given(
    st.one_of(st.sampled_from(list(SCALES)), st.text(max_size=20)),
    ANY,
    st.one_of(st.text(), st.none(), st.integers()),
)
def test_any_observation_gives_valid_data_or_invalid_entry(
    scale_id: str, value: object, text: object
) -> None:
    try:
        data = validate_observation(scale_id, value, text)  # type: ignore[arg-type]
    except InvalidEntry as e:
        assert str(e).strip()
        return
    scale = SCALES[data["scale"]]
    option = scale.option(data["value"])
    assert option is not None and option.label == data["label"]
    assert type(data["value"]) is type(option.value)
    assert set(data) <= {"scale", "value", "label", "text"}
    if "text" in data:
        assert data["text"] == data["text"].strip() != ""
    json.dumps(data, allow_nan=False)  # storable as the store stores it


# --- quick events ---------------------------------------------------------------------------


def test_the_quick_events_have_one_distinct_key_each() -> None:
    assert QUICK_EVENT_KINDS == (
        "booster_dose",
        "vomiting",
        "emergence_reaction",
        "touch_offered",
        "touch_accepted",
        "client_spoke",
    )
    keys = [q.key for q in QUICK_EVENTS]
    assert len(set(keys)) == len(keys)


def test_a_booster_dose_with_route_and_lot() -> None:
    assert validate_quick_event("booster_dose", mg=50, route="intramuscular", lot=" LK-2291 ") == (
        "booster_dose",
        {"mg": 50.0, "route": "intramuscular", "lot": "LK-2291"},
    )
    kind, data = validate_quick_event("booster_dose", mg=12.5, route="sublingual", lot="")
    assert (kind, data) == ("booster_dose", {"mg": 12.5, "route": "sublingual"})
    assert validate_quick_event("booster_dose", mg=1000, route="intravenous")[1]["mg"] == 1000.0


@pytest.mark.parametrize("kind", QUICK_EVENT_KINDS[1:])
def test_the_simple_events_need_nothing_and_keep_a_remark(kind: str) -> None:
    assert validate_quick_event(kind) == (kind, {})
    assert validate_quick_event(kind, text="  ") == (kind, {})
    assert validate_quick_event(kind, text=None) == (kind, {})
    assert validate_quick_event(kind, text=" 'I am safe' ") == (kind, {"text": "'I am safe'"})


QUICK_REFUSED = [
    ("booster_dose", {"route": "sublingual"}, "Booster dose must be a number of milligrams"),
    ("booster_dose", {"mg": math.nan, "route": "sublingual"}, "Booster dose must be a number"),
    ("booster_dose", {"mg": math.inf, "route": "sublingual"}, "Booster dose must be a number"),
    ("booster_dose", {"mg": -math.inf, "route": "sublingual"}, "Booster dose must be a number"),
    ("booster_dose", {"mg": True, "route": "sublingual"}, "Booster dose must be a number"),
    ("booster_dose", {"mg": "50", "route": "sublingual"}, "Booster dose must be a number"),
    ("booster_dose", {"mg": 0, "route": "sublingual"}, "more than 0 and at most 1000 mg"),
    ("booster_dose", {"mg": -25, "route": "sublingual"}, "more than 0 and at most 1000 mg"),
    ("booster_dose", {"mg": 1000.01, "route": "sublingual"}, "at most 1000 mg"),
    ("booster_dose", {"mg": 1e309, "route": "sublingual"}, "Booster dose must be a number"),
    ("booster_dose", {"mg": 10**400, "route": "sublingual"}, "at most 1000 mg"),
    ("booster_dose", {"mg": 50}, "Booster dose route must be one of: sublingual"),
    ("booster_dose", {"mg": 50, "route": "oral"}, "Booster dose route must be one of"),
    ("booster_dose", {"mg": 50, "route": "IM"}, "Booster dose route must be one of"),
    (
        "booster_dose",
        {"mg": 50, "route": "intramuscular", "lot": "x" * 41},
        "Booster dose lot can be at most 40",
    ),
    ("booster_dose", {"mg": 50, "route": "intravenous", "lot": 7}, "Booster dose lot must be text"),
    ("booster_dose", {"mg": 50, "route": "intravenous", "lot": "A\n1"}, "lot contains control"),
    ("booster_dose", {"mg": 50, "route": "intravenous", "lot": "A\u20281"}, "lot contains control"),
    ("booster_dose", {"mg": 50, "route": "intravenous", "dose": 2}, "Booster dose has no field"),
    ("vomiting", {"mg": 50}, "Vomiting has no field 'mg'"),
    ("touch_offered", {"text": 3}, "Touch offered remark must be text"),
    ("client_spoke", {"text": "x" * 2001}, "Client spoke remark can be at most 2,000"),
    ("client_spoke", {"text": "\udfff"}, "Client spoke remark contains broken characters"),
    ("nap", {}, "Unknown quick event"),
    ("Vomiting", {}, "Unknown quick event"),
]


@pytest.mark.parametrize(("kind", "fields", "message"), QUICK_REFUSED)
def test_a_bad_quick_event_is_refused_naming_it(
    kind: str, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidEntry, match=message):
        validate_quick_event(kind, **fields)


FIELD_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400)]),  # math.isfinite() overflows on these
    st.floats(),
    st.floats(0, 1000),
    st.text(max_size=50),
    st.sampled_from(ROUTES),
)


@given(
    st.one_of(st.sampled_from(QUICK_EVENT_KINDS), st.text(max_size=20)),
    st.dictionaries(
        st.one_of(st.sampled_from(["mg", "route", "lot", "text"]), st.text(max_size=8)),
        FIELD_VALUE,
        max_size=5,
    ),
)
def test_any_quick_event_gives_valid_data_or_invalid_entry(
    kind: str, fields: dict[str, object]
) -> None:
    try:
        got_kind, data = validate_quick_event(kind, **fields)
    except InvalidEntry as e:
        assert str(e).strip()
        return
    assert got_kind == kind in QUICK_EVENT_KINDS
    if kind == "booster_dose":
        assert type(data["mg"]) is float and 0 < data["mg"] <= 1000
        assert data["route"] in ROUTES
        assert set(data) <= {"mg", "route", "lot", "text"}
        if "lot" in data:
            assert 0 < len(data["lot"]) <= 40 and data["lot"].isprintable()
    else:
        assert set(data) <= {"text"}
    if "text" in data:
        assert data["text"] == data["text"].strip() != ""
    json.dumps(data, allow_nan=False)
