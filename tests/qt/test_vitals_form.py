"""The vitals form: nothing pre-filled, the same validation as the one-line entry."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kapsession.monitoring.vitals import LIMITS, Vitals, validate_vitals
from ui.vitals_form import VitalsForm


def test_an_untouched_form_saves_nothing_and_names_the_first_missing_field(qtbot) -> None:
    saved: list[Vitals] = []
    form = VitalsForm(saved.append)
    qtbot.addWidget(form)
    assert all(form.value(name) is None for name in form.fields)
    form._on_save()
    assert saved == []
    assert "Systolic is required" in form.error.text()


def test_filled_fields_save_vitals_and_optional_ones_stay_empty(qtbot) -> None:
    saved: list[Vitals] = []
    form = VitalsForm(saved.append)
    qtbot.addWidget(form)
    for name, value in (("systolic", 128), ("diastolic", 82), ("heart_rate", 76), ("spo2", 98)):
        form.fields[name].setValue(value)
    form.fields["temperature"].setValue(36.8)
    form._on_save()
    assert saved == [Vitals(128, 82, 76, 98, None, 36.8)]
    assert form.result() == VitalsForm.DialogCode.Accepted


def test_systolic_not_above_diastolic_is_refused_by_the_core(qtbot, live) -> None:
    form = VitalsForm(live.add_vitals)
    qtbot.addWidget(form)
    for name, value in (("systolic", 80), ("diastolic", 90), ("heart_rate", 76), ("spo2", 98)):
        form.fields[name].setValue(value)
    form._on_save()
    assert "Systolic must be higher than diastolic" in form.error.text()
    assert [e for e in live.events() if e.kind == "vitals"] == []


# --- any values typed into the form ----------------------------------------------------------

FILLED: Counter[str] = Counter()


def _typed(field: str) -> st.SearchStrategy[float]:
    """What a spin box can hold: blank (its minimum), a plausible value, or its edges."""
    lim = LIMITS[field]
    step = 1 if lim.integer else 0.1
    plausible = (
        st.integers(int(lim.low), int(lim.high)) if lim.integer else st.floats(lim.low, lim.high)
    )
    return st.one_of(st.just(lim.low - step), plausible, st.sampled_from([lim.low, lim.high]))


@st.composite
def _plausible(draw: st.DrawFn) -> dict[str, float]:
    """A whole form a therapist could save: systolic above diastolic, the optional fields
    blank or plausible."""
    values = {f: draw(_typed(f).filter(lambda x, f=f: x >= LIMITS[f].low)) for f in LIMITS}
    values["diastolic"] = min(values["diastolic"], LIMITS["systolic"].high - 1)
    values["systolic"] = draw(st.integers(int(values["diastolic"]) + 1, 250))
    for optional in ("resp_rate", "temperature"):
        values[optional] = draw(st.one_of(st.just(values[optional]), _typed(optional)))
    return values


def any_filled_form_saves_plausible_vitals_or_says_why_not(qtbot, values: dict[str, float]) -> None:
    saved: list[Vitals] = []
    form = VitalsForm(lambda v: saved.append(validate_vitals(v)))
    qtbot.addWidget(form)
    for name, value in values.items():
        form.fields[name].setValue(value)
    form._on_save()
    if not saved:
        assert form.error.text().startswith("Not saved: "), form.error.text()
        assert form.result() != VitalsForm.DialogCode.Accepted
        event("refused")
        FILLED["refused"] += 1
        return
    event("accepted")
    FILLED["accepted"] += 1
    (v,) = saved
    assert form.result() == VitalsForm.DialogCode.Accepted and form.error.text() == ""
    assert v.systolic > v.diastolic
    for name in LIMITS:
        shown = form.value(name)
        assert getattr(v, name) == (None if shown is None else pytest.approx(shown)), name
        assert shown is None or LIMITS[name].low <= shown <= LIMITS[name].high


def test_any_filled_form_saves_plausible_vitals_or_says_why_not(qtbot) -> None:
    prop = given(st.one_of(_plausible(), st.fixed_dictionaries({f: _typed(f) for f in LIMITS})))(
        settings(suppress_health_check=[HealthCheck.function_scoped_fixture])(
            lambda values: any_filled_form_saves_plausible_vitals_or_says_why_not(qtbot, values)
        )
    )
    FILLED.clear()
    prop()
    enough = max(settings.default.max_examples // 10, 5)
    assert FILLED["accepted"] >= enough and FILLED["refused"] >= enough, FILLED
